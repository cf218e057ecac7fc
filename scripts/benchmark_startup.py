"""Start-up as a user sees it: seconds from launching ``streamlit run app.py`` to the home
page shown in a browser, and to the first chest X-ray prediction shown (the Chest X-ray page
opened from the home page, a test image uploaded). Targets: 3 s and 6 s.

    python scripts/benchmark_startup.py [--runs 3] [--image PATH] [--compare CHECKOUT]

Each run starts a fresh server (nothing imported, no model loaded) and a fresh browser
context in Debian's headless Chromium (Playwright, no browser download); the browser itself
is started before the clock. Medians over the runs are printed with every run's figures.
``--compare`` runs another checkout of the dashboard (an older commit) in turns with this one,
so that the ratio of the two, measured on the same busy machine, is printed too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from dxcore.datasets import data_dir  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    stop,
    wait_until_healthy,
)

NOTICE = "Research prototype — not for clinical decisions"
# The verdict's predicted class, the heading under "Model prediction" (as the load test and
# the browser tests find it; the page has shown no st.metric since the verdict's redesign).
VERDICT = '[data-testid="stMarkdownContainer"]:has-text("Model prediction") h3'
WAIT_MS = 120_000


def one_run(browser, checkout: Path, image: Path,
            log: Path) -> tuple[float, float, float, float]:
    """(server answering, home page shown, Chest X-ray page shown, first prediction shown),
    in seconds after the launch: the first shows how much of the home page's time is the
    server's own start."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    launched = time.perf_counter()
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--server.fileWatcherType", "none"],
            cwd=checkout, env=dict(os.environ), stdout=output, stderr=subprocess.STDOUT)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        wait_until_healthy(url, server, 60)
        healthy = time.perf_counter() - launched
        page = context.new_page()
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_text(NOTICE).wait_for(timeout=WAIT_MS)
        home = time.perf_counter() - launched
        page.get_by_text("Open Chest X-ray").click()
        # The home page has a file input of its own (the drop zone): wait for the new page.
        page.get_by_text("Upload a frontal chest X-ray").wait_for(timeout=WAIT_MS)
        opened = time.perf_counter() - launched
        page.locator('input[type="file"]').set_input_files(str(image))
        page.locator(VERDICT).first.wait_for(timeout=WAIT_MS)
        first = time.perf_counter() - launched
        return healthy, home, opened, first
    finally:
        context.close()
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--image", type=Path)
    parser.add_argument("--compare", type=Path, help="another checkout, run in turns")
    args = parser.parse_args()
    image = args.image or next((data_dir() / "chest_xray" / "test" / "PNEUMONIA").glob("*.jpeg"))
    checkouts = {"this checkout": ROOT}
    if args.compare:
        checkouts[f"compared ({args.compare})"] = args.compare.resolve()
    figures: dict[str, list[tuple[float, ...]]] = {name: [] for name in checkouts}
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as folder:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for run in range(args.runs):
            for name, checkout in checkouts.items():
                healthy, home, opened, first = one_run(browser, checkout, image,
                                                       Path(folder) / f"server-{run}.log")
                figures[name].append((healthy, home, opened, first))
                print(f"run {run + 1}, {name}: server answering {healthy:5.2f} s, home page "
                      f"shown {home:5.2f} s, Chest X-ray page {opened:5.2f} s, first chest "
                      f"X-ray prediction shown {first:5.2f} s after launch", flush=True)
        browser.close()
    medians = {name: [statistics.median(column) for column in zip(*runs, strict=True)]
               for name, runs in figures.items()}
    for name, (healthy, home, opened, first) in medians.items():
        print(f"median of {args.runs}, {name}: server answering {healthy:.2f} s, home page "
              f"{home:.2f} s (target 3), Chest X-ray page {opened:.2f} s, first prediction "
              f"{first:.2f} s (target 6)")
    if args.compare:
        (_, home, _, first), (_, old_home, _, old_first) = medians.values()
        print(f"ratio this / compared: home page {home / old_home:.2f}, first prediction "
              f"{first / old_first:.2f}")


if __name__ == "__main__":
    main()
