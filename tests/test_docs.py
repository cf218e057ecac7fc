"""The README as a front door (issue 26): short, the research notice and intended use first,
the test command CI runs, every docs page reachable from it, and no link among the README,
CONTRIBUTING and docs/ pointing at a file or a heading that is not there.

The models table inside the README is checked against the cards by tests/test_cli.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MARKDOWN_FILES = [README, ROOT / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]

MAX_README_LINES = 250  # issue 26: a front door, the rest in docs/
NOTICE_WITHIN_LINES = 30  # "near the top": before the screenshot and the commands

FENCED_BLOCK = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def prose(path: Path) -> str:
    """The file's text without code (fenced blocks and inline spans), where a `#` is a
    comment and brackets are code, not headings and links."""
    return INLINE_CODE.sub("", FENCED_BLOCK.sub("", path.read_text()))


def heading_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the file's headings: lower case, punctuation but hyphens and
    underscores dropped, spaces as hyphens, a repeated anchor numbered -1, -2..."""
    anchors: set[str] = set()
    for line in FENCED_BLOCK.sub("", path.read_text()).splitlines():
        match = re.match(r"#{1,6}\s+(.*)", line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
        anchor, repeat = slug, 0
        while anchor in anchors:
            repeat += 1
            anchor = f"{slug}-{repeat}"
        anchors.add(anchor)
    return anchors


def local_links(path: Path) -> list[str]:
    """Every link target in the file that is not a web address."""
    return [target for target in LINK.findall(prose(path))
            if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("path", MARKDOWN_FILES, ids=lambda path: path.name)
def test_every_link_reaches_a_file_and_heading_that_exist(path: Path):
    broken = []
    for target in local_links(path):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked):
            broken.append(f"{target}: no heading with that anchor in {linked.name}")
    assert not broken, f"{path.relative_to(ROOT)} has broken links: {broken}"


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in local_links(README)}
    unlinked = [page.name for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked]
    assert not unlinked, f"docs pages the README does not link to: {unlinked}"


def test_the_readme_is_a_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines; move detail to a docs/ page "
        f"(at most {MAX_README_LINES})")
    top = "\n".join(lines[:NOTICE_WITHIN_LINES])
    assert "Research prototype — not for clinical decisions" in top
    assert "## Intended use and limitations" in top


def test_the_readme_gives_the_test_command_ci_runs():
    """.ci/run runs "the README's test command": the line after that comment must be in the
    README's test command, so that the two cannot drift apart."""
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    ci_command = ci_lines[ci_lines.index("# The README's test command:") + 1].strip()
    test_section = README.read_text().split("## Test\n", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", test_section, re.DOTALL)
    assert commands, "README.md's Test section has no command"
    assert commands[0].endswith(ci_command), (
        f"README's test command {commands[0]!r} does not run what .ci/run runs ({ci_command!r})")
