"""Load test of the dashboard: N browser contexts at once, each uploading a file and reading
its result over and over (chest X-rays, MIT-BIH ECG records with their annotations, CSVs
of heart-disease cases, in turn, each upload a file the server has not had before from
that context), while the server's memory is sampled.

    python scripts/load_test.py [--contexts 10] [--minutes 5] [--url URL] [--mixed]

Without ``--url`` it starts ``streamlit run app.py`` on a free port and samples that
server's resident memory (RSS, with any children, from ``/proc``) every few seconds; with
``--url`` it drives a server already running and samples nothing. The browser is Debian's
headless Chromium (``/usr/bin/chromium``) driven by Playwright, as in the browser tests; the
files come from the datasets folder (``$DX_DATA_DIR`` or ``../shared/data``).

With ``--mixed`` the contexts also take two more kinds of round in turn: a chest X-ray's
answer signed off (agreed, or overridden with a reason, every other round), and a worklist
(X-rays and a table of cases dropped at once) whose first case is opened and signed off. A
server the script starts then writes a fresh audit trail of its own (in ``$TMPDIR``, unless
``$DX_AUDIT_LOG`` names one), whose entries, sign-offs and hash chain are checked at the end;
a server given by ``--url`` needs its audit trail on.

Each round is one page load, one upload and its result. An error is any exception box,
``st.error`` or "Something unexpected" message on the page, or a result that does not show
within ``--step-seconds``. It stops by itself: no round starts after ``--minutes``, and
whatever is still running ``--step-seconds`` later is abandoned. It prints rounds per
context, the errors, the lowest and highest RSS of each minute, and the slope of the
lowest over the second half (settled when it grows by less than
``--settled-mb-per-minute``): the lowest is what the server keeps between requests, the
highest adds the requests in flight. Then it samples the idle server for
``--idle-seconds``, past the time Streamlit keeps a session whose browser has left, to show
what is kept once everyone has gone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dxcore.datasets import data_dir  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update"]
NOTICE = "Research prototype — not for clinical decisions"
ERROR_MARKERS = ('[data-testid="stException"]', '[data-testid="stAlertContentError"]',
                 'text="Something unexpected went wrong"')
# MIT-BIH DS2 (test) records, with their reference annotations: 30 minutes, two leads each.
ECG_RECORDS = ("233", "213", "208")
XRAYS_PER_CLASS = 12
# Plausible made-up findings (not patients of the dataset), the UCI attribute names; each
# round uploads them in another order, so that every upload is a new file to the server.
HEART_HEADER = b"age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal\n"
HEART_CASES = (b"58,1,4,140,260,0,2,118,1,2.6,2,2,7\n", b"44,0,3,118,210,0,0,172,0,0.0,1,0,3\n",
               b"66,1,4,150,?,1,2,110,1,3.1,2,3,7\n", b"52,0,2,128,225,0,0,160,0,0.4,1,0,3\n")
# The verdict's predicted class: the heading under "Model prediction" (dxui.results.VERDICT,
# verdict_markdown), as the browser tests find it.
VERDICT = '[data-testid="stMarkdownContainer"]:has-text("Model prediction") h3'
STARTUP_SECONDS = 90
# Streamlit keeps a session (its uploads and widget state) this long after its browser tab
# has gone (``server.disconnectedSessionTTL``'s default), in case the tab reconnects.
IDLE_SECONDS_NEEDED = 120


@dataclass(frozen=True)
class Workload:
    """One kind of round: the page, the uploads it takes in turn, what shows once a result
    is there, and what the reader does then (``then(page, signer, turn, step_ms)``: the
    problem seen, or None)."""

    name: str
    path: str
    uploads: list[list[dict]]  # Playwright's {"name", "mimeType", "buffer"}: no file on disk
    done: str  # a selector that shows when the result is there
    then: Callable[..., Awaitable[str | None]] | None = None

    def upload(self, turn: int) -> list[dict]:
        return self.uploads[turn % len(self.uploads)]


def workloads(data: Path, mixed: bool = False) -> list[Workload]:
    """Different files in turn (chest X-rays of both classes, three ECG records, case files
    in every order), so that the server's caches fill and must evict, as in a clinic; with
    ``mixed``, sign-offs and worklists too (see the module)."""
    test = data / "chest_xray" / "test"
    xrays = [[{"name": path.name, "mimeType": "image/jpeg", "buffer": path.read_bytes()}]
             for label in ("NORMAL", "PNEUMONIA")
             for path in sorted((test / label).glob("*.jpeg"))[:XRAYS_PER_CLASS]]
    records = [[data / "mitdb" / f"{record}{ext}" for ext in (".hea", ".dat", ".atr")]
               for record in ECG_RECORDS]
    tables = [[{"name": "cases.csv", "mimeType": "text/csv",
                "buffer": HEART_HEADER + b"".join(order)}]
              for order in itertools.permutations(HEART_CASES)]
    work = [
        Workload("chest X-ray", "chest_xray", xrays, VERDICT),
        Workload("ECG", "ecg",
                 [[{"name": path.name, "mimeType": "application/octet-stream",
                    "buffer": path.read_bytes()} for path in record] for record in records],
                 'text="Record summary"'),
        Workload("case records", "records", tables, 'text="All cases"'),
    ]
    if mixed:
        # A worklist of three X-rays and a table of cases, other ones each turn.
        drops = [[*(xrays[(3 * turn + k) % len(xrays)][0] for k in range(3)),
                  tables[turn % len(tables)][0]] for turn in range(len(tables))]
        work += [Workload("sign-off", "chest_xray", xrays, VERDICT,
                          then=sign_off),
                 Workload("worklist", "worklist", drops, 'text="Open a case"',
                          then=open_and_sign_off)]
    return work


@dataclass
class ContextStats:
    rounds: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


# --- The server and its memory --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, log: Path) -> subprocess.Popen:
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                        timeout=2) as response:
                if response.read().strip() == b"ok":
                    return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit(f"streamlit did not start; see {log}")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux ``/proc``)."""
    tree = [pid]
    for member in tree:
        try:
            tasks = list(Path(f"/proc/{member}/task").iterdir())
        except FileNotFoundError:
            continue
        for task in tasks:
            with contextlib.suppress(FileNotFoundError):  # the process has just ended
                tree += [int(child) for child in (task / "children").read_text().split()]
    return tree


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MB (``VmRSS``)."""
    total_kb = 0
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except FileNotFoundError:
            continue
        total_kb += next((int(line.split()[1]) for line in status.splitlines()
                          if line.startswith("VmRSS:")), 0)
    return total_kb / 1024


async def sample_rss(pid: int, every: float, samples: list[tuple[float, float]],
                     stop: asyncio.Event) -> None:
    started = time.monotonic()
    while not stop.is_set():
        samples.append((time.monotonic() - started, rss_mb(pid)))
        with contextlib.suppress(TimeoutError):  # the next sample is due
            await asyncio.wait_for(stop.wait(), every)


# --- The browser contexts -------------------------------------------------------------------


async def shown_or_error(page, expected, step_ms: float) -> str | None:
    """Wait for ``expected`` or an error, then for the script run to end; the first error
    message on the page, or None."""
    shown = expected
    for marker in ERROR_MARKERS:
        shown = shown.or_(page.locator(marker))
    await shown.first.wait_for(timeout=step_ms)
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=step_ms)
    for marker in ERROR_MARKERS:
        found = page.locator(marker)
        if await found.count():
            return (await found.first.inner_text()).strip().replace("\n", " ")[:160] or marker
    return None


async def pick_first(page, selectbox) -> None:
    """Choose a selectbox's first option (its list opens from the keyboard: a click on the
    field only focuses it)."""
    field = selectbox.get_by_role("combobox")
    await field.click()
    await field.press("ArrowDown")
    await page.get_by_role("option").first.click()


async def sign_off(page, signer: str, turn: int, step_ms: float) -> str | None:
    """Sign off the answer on show as ``signer`` (a new session's reader: the name is asked):
    agree on even turns, override to the first other class with a reason on odd ones; the
    problem seen, or None once the page says it was signed off by ``signer``."""
    form = page.locator('[data-testid="stForm"]').first
    name = form.get_by_role("textbox", name="Your name")
    again = page.get_by_text("Sign off again")  # signed before (the same file, another round)
    # The section's elements arrive after the verdict: wait for the form or, when the answer
    # was signed before, the collapsed expander that holds it (the first of them on the page).
    await name.or_(again).first.wait_for()
    if not await name.is_visible():
        await again.first.click()
    await name.fill(signer)
    if turn % 2:
        await form.get_by_text("Override to another class").click()
        await pick_first(page, form.locator('[data-testid="stSelectbox"]'))
        await form.get_by_role("textbox", name="Reason").fill("load test: a second reading differs")
    else:
        await form.get_by_text("Agree with the model").click()
    await form.get_by_role("button", name="Sign off", exact=True).click()
    return await shown_or_error(page, page.get_by_text(f"Signed off by {signer} "), step_ms)


async def open_and_sign_off(page, signer: str, turn: int, step_ms: float) -> str | None:
    """The worklist's first row opened, then :func:`sign_off`."""
    await pick_first(page, page.locator('[data-testid="stSelectbox"]').filter(
        has_text="Open a case"))
    problem = await shown_or_error(page, page.get_by_text("Clinician's sign-off"), step_ms)
    return problem or await sign_off(page, signer, turn, step_ms)


def watch(page) -> list[str]:
    """What the page's browser side says as it goes: console errors and warnings, uncaught
    errors, and its WebSocket (Streamlit's session) opening and closing."""
    events: list[str] = []
    page.on("console", lambda message: events.append(f"console {message.type}: "
                                                      f"{message.text[:120]}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: events.append(f"page error: {str(error)[:120]}"))

    def socket(websocket) -> None:
        events.append("websocket open")
        websocket.on("close", lambda _: events.append("websocket closed"))
        websocket.on("socketerror", lambda error: events.append(f"websocket error: {error}"))

    page.on("websocket", socket)
    return events


def waited_for(timeout: Exception) -> str:
    """What Playwright was waiting for when it gave up (its call log's first "waiting for"
    line), so that the step of a round that timed out is named."""
    lines = [line.strip() for line in str(timeout).splitlines()]
    return next((line for line in lines if line.startswith("- waiting for")),
                lines[0] if lines else "")


async def page_state(page, events: list[str]) -> str:
    """What a page that timed out shows: whether a script run is still going, its first
    words (Streamlit's "Connecting" screen, say), and its last browser-side events."""
    state = await page.evaluate("""() => ({
        running: !!document.querySelector('[data-testid="stStatusWidget"]'),
        text: (document.querySelector('[data-testid="stMain"]') || document.body)
            .innerText.replace(/\\s+/g, " ").slice(0, 160)})""")
    return (f"running: {state['running']}; shows: {state['text']!r}; "
            f"events: {events[-4:]}")


async def one_round(context, url: str, workload: Workload, turn: int, signer: str,
                    step_ms: float) -> str | None:
    """One page load, the upload of the workload's files of ``turn``, its result and what
    the reader does then (as ``signer``); the problem seen, or None."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    page = await context.new_page()
    events = watch(page)
    step = "page load"
    try:
        await page.goto(f"{url}/{workload.path}", wait_until="domcontentloaded")
        problem = await shown_or_error(page, page.get_by_text(NOTICE), step_ms)
        if problem:
            return f"{workload.name}, {step}: {problem}"
        step = "upload"
        await page.locator('input[type="file"]').set_input_files(workload.upload(turn))
        step = "result"
        problem = await shown_or_error(page, page.locator(workload.done), step_ms)
        if not problem and workload.then is not None:
            step = "sign-off"
            problem = await workload.then(page, signer, turn, step_ms)
        return f"{workload.name}, {step}: {problem}" if problem else None
    except PlaywrightTimeout as timeout:
        return (f"{workload.name}: no {step} within {step_ms / 1000:.0f} s, "
                f"{waited_for(timeout)} ({await page_state(page, events)})")
    finally:
        await page.close()


async def drive(browser, url: str, work: list[Workload], offset: int, deadline: float,
                step_ms: float, stats: ContextStats) -> None:
    """Rounds in one browser context until the deadline, starting at workload ``offset``
    (so that the contexts do not all upload the same kind of file at once)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    # Every wait of a round (finding the uploader included) gets the same bound; Playwright's
    # own default of 30 s would count a slow page under load as an error.
    context.set_default_timeout(step_ms)
    try:
        turn = offset
        while time.monotonic() < deadline:
            workload = work[turn % len(work)]
            started = time.monotonic()
            problem = await one_round(context, url, workload, turn // len(work) + offset,
                                      f"Load tester {offset + 1}-{turn}", step_ms)
            stats.seconds.append(time.monotonic() - started)
            stats.rounds[workload.name] += 1
            if problem:
                stats.errors.append(problem)
            turn += 1
    finally:
        await context.close()


async def run(args: argparse.Namespace, url: str, pid: int | None) -> tuple[
        list[ContextStats], list[tuple[float, float]], list[tuple[float, float]]]:
    """The contexts' stats, the RSS samples under load and those once every browser has
    left (for ``--idle-seconds``)."""
    from playwright.async_api import async_playwright

    work = workloads(data_dir(args.data_dir), args.mixed)
    stats = [ContextStats() for _ in range(args.contexts)]
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    sampler = (asyncio.create_task(sample_rss(pid, args.sample_seconds, samples, stop))
               if pid else None)
    deadline = time.monotonic() + args.minutes * 60
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS)
        drivers = [asyncio.create_task(drive(browser, url, work, i, deadline,
                                             args.step_seconds * 1000, stats[i]))
                   for i in range(args.contexts)]
        # A round that started just before the deadline may finish; nothing runs longer.
        _, late = await asyncio.wait(drivers, timeout=args.minutes * 60 + args.step_seconds)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        for task in drivers:
            if task.done() and not task.cancelled() and task.exception():
                stats[drivers.index(task)].errors.append(f"driver failed: {task.exception()!r}")
        await browser.close()
    stop.set()
    idle: list[tuple[float, float]] = []
    if sampler:
        await sampler
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(pid, args.sample_seconds, idle, stop))
        await asyncio.sleep(args.idle_seconds)
        stop.set()
        await sampler
    return stats, samples, idle


# --- The summary ----------------------------------------------------------------------------


def slope_mb_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(seconds, MB)`` points, in MB per minute."""
    if len(points) < 3:
        return 0.0
    return statistics.linear_regression(*zip(*points, strict=True)).slope * 60


def minute_floors(samples: list[tuple[float, float]]) -> list[tuple[float, float, float]]:
    """``(minute, lowest MB, highest MB)`` of each whole minute of samples. The lowest is
    what the server keeps between the requests in flight (whose buffers come and go within
    seconds): growth there is memory that is not given back."""
    minutes: dict[int, list[float]] = {}
    for seconds, mb in samples:
        minutes.setdefault(int(seconds // 60), []).append(mb)
    return [(minute, min(mbs), max(mbs)) for minute, mbs in sorted(minutes.items())]


def trail_summary(path: Path) -> str:
    """The audit trail a mixed run wrote: its entries, sign-offs and whether its chain holds
    (concurrent sessions must not fork it)."""
    from dxcore.audit import read_entries, verify

    found = verify(path)
    signed = sum(entry.get("kind") == "sign-off" for entry in read_entries(path))
    return (f"audit trail {path}: {found.entries} entries, {signed} sign-offs, chain "
            + ("intact" if found.ok else "BROKEN: " + "; ".join(found.problems[:5])))


def summary(args: argparse.Namespace, stats: list[ContextStats],
            samples: list[tuple[float, float]], idle: list[tuple[float, float]]) -> str:
    lines = [f"{args.contexts} contexts for {args.minutes:g} min"]
    for number, context in enumerate(stats, start=1):
        median = statistics.median(context.seconds) if context.seconds else float("nan")
        done = ", ".join(f"{name} {count}" for name, count in sorted(context.rounds.items()))
        lines.append(f"  context {number}: {sum(context.rounds.values())} rounds ({done}), "
                     f"median {median:.1f} s a round, {len(context.errors)} errors")
    errors = Counter(error for context in stats for error in context.errors)
    rounds = sum(sum(context.rounds.values()) for context in stats)
    lines.append(f"rounds: {rounds}; errors: {sum(errors.values())}")
    lines += [f"  {count} x {error}" for error, count in errors.most_common()]
    if not samples:
        lines.append("server RSS: not sampled (a server given by --url)")
        return "\n".join(lines)
    floors = minute_floors(samples)
    lines.append("server RSS (MB) per minute under load, lowest-highest: " + ", ".join(
        f"{minute}: {low:.0f}-{high:.0f}" for minute, low, high in floors))
    # The second half: the first holds the start-up, the model loads and the caches filling.
    later = [(minute * 60, low) for minute, low, _ in floors if minute >= len(floors) / 2]
    slope = slope_mb_per_minute(later)
    settled = slope < args.settled_mb_per_minute  # falling is settling too
    lines.append(f"lowest RSS a minute, second half: {slope:+.1f} MB/min, "
                 f"{'settled' if settled else 'NOT settled'} "
                 f"(threshold {args.settled_mb_per_minute:g} MB/min); "
                 f"max {max(mb for _, mb in samples):.0f} MB")
    if idle:
        lines.append(f"idle after the load: {idle[0][1]:.0f} MB, after {idle[-1][0]:.0f} s "
                     f"{idle[-1][1]:.0f} MB (sessions are kept "
                     f"{IDLE_SECONDS_NEEDED} s after their browser leaves)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contexts", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--url", help="a dashboard already running (default: start one)")
    parser.add_argument("--data-dir", help="the datasets folder (default: dxcore's)")
    parser.add_argument("--step-seconds", type=float, default=300.0,
                        help="longest wait for a page, an upload or a result")
    parser.add_argument("--sample-seconds", type=float, default=3.0)
    parser.add_argument("--settled-mb-per-minute", type=float, default=10.0)
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS_NEEDED + 30,
                        help="how long to sample the server's RSS once the load is over")
    parser.add_argument("--mixed", action="store_true",
                        help="also sign off answers and open worklists (see above)")
    args = parser.parse_args()

    server = None
    url = args.url
    trail = None
    if url is None:
        port = free_port()
        folder = Path(os.environ.get("TMPDIR", "/tmp"))
        log = folder / f"dx-load-test-{port}.log"
        if args.mixed:  # a fresh trail, unless one is named: its sign-offs are counted
            named = os.environ.get("DX_AUDIT_LOG", "").strip()
            if named.lower() == "off":
                raise SystemExit("--mixed signs answers off in the audit trail: do not set "
                                 "DX_AUDIT_LOG=off.")
            trail = Path(named or folder / f"dx-load-test-{port}-audit.jsonl")
            os.environ["DX_AUDIT_LOG"] = str(trail)
        server = start_server(port, log)
        url = f"http://127.0.0.1:{port}"
        print(f"server on {url}, output in {log}", flush=True)
    try:
        stats, samples, idle = asyncio.run(run(args, url.rstrip("/"),
                                               server.pid if server else None))
    finally:
        if server:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    print(summary(args, stats, samples, idle))
    if trail is not None and trail.exists():
        print(trail_summary(trail))


if __name__ == "__main__":
    main()
