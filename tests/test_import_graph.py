"""The shared core's imports: no circle among dxcore's top-level modules: ``dxcore/*.py``
import one another in one direction only, every import counted, those inside functions
(lazy) and those under ``if TYPE_CHECKING:`` included. A circle hidden behind a lazy or a
type-only import still means that neither module can be read, tested or moved without the
other (issue 26).

The same reading checks that the shared core (``dxcore/*.py``) names and imports no
modality, and that no page or dashboard module branches on a modality's name.

The graph is read from the source with :mod:`ast`, so nothing is imported to build it.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import dxcore
from dxcore.registry import BUILT_IN

CORE = Path(dxcore.__file__).parent
ROOT = CORE.parent


def imported_modules(source: str, package: str, modules: set[str]) -> set[str]:
    """The names among ``modules`` (top-level modules of ``package``) that ``source``
    imports anywhere: at the top, in a function, under ``if TYPE_CHECKING:``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == package:  # from dxcore import cards
                found.update(alias.name for alias in node.names)
            elif node.module.startswith(f"{package}."):  # from dxcore.cards import ModelCard
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):  # import dxcore.cards
            found.update(alias.name.split(".")[1] for alias in node.names
                         if alias.name.startswith(f"{package}."))
    return found & modules


def import_graph(folder: Path) -> dict[str, set[str]]:
    """Each top-level module of the package in ``folder`` -> the ones it imports (the
    package's ``__init__`` and its subpackages left out)."""
    modules = {path.stem for path in folder.glob("*.py")} - {"__init__", "__main__"}
    return {name: imported_modules((folder / f"{name}.py").read_text(), folder.name,
                                   modules) - {name}
            for name in modules}


def circle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of ``graph`` (its modules in import order, the first repeated at the
    end), or None when it has none."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return list(reversed(error.args[1]))
    return None


def test_dxcores_top_level_modules_import_one_another_without_a_circle():
    graph = import_graph(CORE)
    circle = circle_in(graph)
    assert circle is None, f"import circle: {' -> '.join(circle)}"


def test_the_graph_holds_the_contracts_imports_whether_lazy_or_type_only():
    """The graph is read as the brief says: the contract's top-level, lazy
    (``dxcore.compiled`` when a card names a compiled network) and type-only
    (``dxcore.labels``) imports are all edges."""
    contract = import_graph(CORE)["contract"]
    assert {"cards", "batching", "results", "compiled", "labels"} <= contract


@pytest.mark.parametrize(("first", "second", "circle"), [
    ("from pkg.b import thing\n",
     "def late():\n    from pkg.a import other\n", ["a", "b", "a"]),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import Thing\n",
     "import pkg.a\n", ["a", "b", "a"]),
    ("from pkg import b\n", "X = 1\n", None),
])
def test_a_lazy_or_type_only_import_back_is_a_circle(tmp_path, first, second, circle):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(first)
    (package / "b.py").write_text(second)
    found = circle_in(import_graph(package))
    if circle is None:
        assert found is None
    else:  # the circle may be reported from either of its modules
        assert found is not None and set(found) == set(circle) and found[0] == found[-1]


def test_no_shared_core_file_names_or_imports_a_modality():
    """The shared core (``dxcore/*.py``) holds no modality's name and imports no modality
    package: the surfaces dispatch on what a modality registered. The registry names the
    built-in packages once (BUILT_IN), so that it can import them when first asked."""
    names = set(BUILT_IN)
    packages = {built_in.package.removeprefix("dxcore.") for built_in in BUILT_IN.values()}
    found = []
    for path in sorted(CORE.glob("*.py")):
        source = path.read_text()
        tree = ast.parse(source)
        built_in = {id(node) for statement in tree.body if isinstance(statement, ast.Assign)
                    and any(getattr(target, "id", "") == "BUILT_IN"
                            for target in statement.targets)
                    for node in ast.walk(statement)}
        found += [f"{path.name}:{node.lineno} names {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and node.value in names
                  and id(node) not in built_in]
        found += [f"{path.name} imports dxcore.{package}"
                  for package in sorted(imported_modules(source, "dxcore", packages))]
    assert found == []


def test_no_page_or_dashboard_module_branches_on_a_modality_name():
    """The dashboard (``app.py``, ``app_pages/``, ``dxui/``) never decides by a modality's
    name: no comparison, ``match`` case or dict literal keyed by one; the shared pages ask
    the modality's views (:mod:`dxui.views`). A page may still name the modality it is for
    (``dxui.navigation``'s page specs), which is a value, not a branch."""
    names = set(BUILT_IN)
    found = []
    for path in sorted([ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"),
                        *(ROOT / "dxui").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            decided = (node.comparators + [node.left] if isinstance(node, ast.Compare) else
                       [node.pattern] if isinstance(node, ast.match_case) else
                       [key for key in node.keys if key is not None]
                       if isinstance(node, ast.Dict) else [])
            if any(isinstance(leaf, ast.Constant) and leaf.value in names
                   for part in decided for leaf in ast.walk(part)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
