"""Fixtures for the browser tests: ``streamlit run app.py`` in a subprocess and Debian's
headless Chromium driven by Playwright (no browser download: ``executable_path``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
STARTUP_SECONDS = 45


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode} on startup")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer at {url} within {seconds:.0f} s")


def start_streamlit(env: dict[str, str], port: int, log: Path,
                    wrapper: Sequence[str] = ()) -> subprocess.Popen:
    """``streamlit run app.py`` on ``port``, run by ``wrapper`` if given (``strace ...``)."""
    with log.open("wb") as output:  # the child keeps its own copy of the handle
        return subprocess.Popen(
            [*wrapper, sys.executable, "-m", "streamlit", "run", "app.py",
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


@contextmanager
def serving(log: Path, wrapper: Sequence[str] = (),
            env: dict[str, str] | None = None) -> Iterator[str]:
    """The dashboard's URL while ``streamlit run app.py`` serves it on a free port, shipped
    models only (``DX_MODELS_DIR`` removed from its environment); stopped afterwards. Its
    output goes to ``log``, quoted when it fails to start."""
    if env is None:
        env = {key: value for key, value in os.environ.items() if key != "DX_MODELS_DIR"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_streamlit(env, port, log, wrapper)
    try:
        try:
            wait_until_healthy(url, server, STARTUP_SECONDS)
        except RuntimeError as error:
            raise RuntimeError(f"{error}; its output:\n{log.read_text()[-3000:]}") from None
        yield url
    finally:
        stop(server, wrapped=bool(wrapper))


def children(pid: int) -> list[int]:
    """The process ids of ``pid``'s children (Linux ``/proc``)."""
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def stop(server: subprocess.Popen, wrapped: bool = False) -> None:
    """Stop the server and wait for it. A ``wrapped`` server (run by strace) is stopped
    itself and its tracer ends with it: a tracer stopped first would detach and leave the
    server running, its traced system calls failing (strace's seccomp filter stays)."""
    targets = children(server.pid) if wrapped and server.poll() is None else []
    for pid in targets:
        os.kill(pid, signal.SIGTERM)
    if not targets:
        server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        for pid in targets:
            os.kill(pid, signal.SIGKILL)
        server.kill()
        server.wait()


def shipped_card(model_id: str):
    """The card in the repository's ``saved_models/`` (what the server runs); skips when the
    model is not there."""
    from dxcore.registry import list_cards

    folder = ROOT / "saved_models"
    cards = {card.id: card for card in list_cards(folder)}
    if model_id not in cards:
        pytest.skip(f"no {model_id} model card in {folder}: run "
                    f"python -m dxcore train {model_id}")
    return cards[model_id]


@pytest.fixture(scope="module")
def shipped_cxr_card():
    return shipped_card("cxr-pneumonia")


@pytest.fixture(scope="module")
def shipped_ecg_card():
    return shipped_card("ecg-beats")


@pytest.fixture(scope="module")
def shipped_heart_card():
    return shipped_card("heart-disease")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    """The dashboard (:func:`serving`) for the module's tests."""
    with serving(tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium; skips when it is not installed."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def pneumonia_xray_path(data_dir: Path) -> Path:
    """The first PNEUMONIA image of the official test split (public, CC BY 4.0)."""
    folder = data_dir / "chest_xray" / "test" / "PNEUMONIA"
    path = next(iter(sorted(folder.glob("*.jpeg"))), None)
    if path is None:
        pytest.skip(f"no test images found in {folder}; set DX_DATA_DIR")
    return path


@pytest.fixture(scope="module")
def mitdb_test_record(data_dir: Path) -> list[Path]:
    """The header and signal files of MIT-BIH record 233, a DS2 (test) record (ODC-By)."""
    files = [data_dir / "mitdb" / f"233{ext}" for ext in (".hea", ".dat")]
    if not all(path.is_file() for path in files):
        pytest.skip(f"MIT-BIH record 233 not found in {data_dir / 'mitdb'}; set DX_DATA_DIR")
    return files
