"""The entry point: the navigation lists every page of dxui.navigation, and nothing else;
the server's safe defaults."""

import subprocess
import sys
import threading
from pathlib import Path

import streamlit as st

from dxui import server
from dxui.navigation import PAGES, WARM_UP_MODEL, page_for_model
from tests.app_pages.conftest import open_app

ROOT = Path(__file__).resolve().parents[1]


def test_every_page_script_exists():
    assert all((ROOT / page.path).is_file() for page in PAGES)
    assert sum(page.default for page in PAGES) == 1


def test_no_legacy_pages_folder():
    # A pages/ folder beside app.py switches Streamlit to its v1 multipage mode for deep
    # links on a fresh server (see dxui/navigation.py).
    assert not (ROOT / "pages").exists()


def test_chest_xray_page_runs_the_cxr_model():
    assert page_for_model("cxr-pneumonia").path == "app_pages/chest_xray.py"


def test_the_server_listens_on_this_machine_only_by_default():
    """What ``streamlit run app.py`` reads from .streamlit/config.toml in the project."""
    shown = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout
    assert '\naddress = "127.0.0.1"\n' in shown
    assert '\nshowErrorDetails = "none"\n' in shown


def idle_release_threads() -> int:
    return sum(thread.name == "dx-idle-release" for thread in threading.enumerate())


def test_the_warm_up_starts_even_on_a_page_that_stops_early(monkeypatch):
    """A server whose first visit is a page ending in ``st.stop()`` (the worklist with
    nothing dropped) still warms up the first model for the next page's answer."""
    started: list[str] = []
    monkeypatch.setattr(server, "warm_up_in_background", started.append)
    app = open_app()
    started.clear()  # the home page's own call
    app.switch_page("app_pages/worklist.py").run()
    assert not app.exception
    assert started == [WARM_UP_MODEL]


def test_the_idle_release_starts_even_on_a_page_that_stops_early():
    """The worklist page with nothing dropped ends in ``st.stop()``: the idle release (see
    dxui/server.py) must have started before the page ran, or a server whose first visit was
    such a page would keep its cached answers for good."""
    app = open_app()
    st.cache_resource.clear()  # a fresh IdleRelease, as in a new server process
    before = idle_release_threads()
    app.switch_page("app_pages/worklist.py").run()
    assert not app.exception
    assert idle_release_threads() == before + 1
