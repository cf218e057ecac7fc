"""The entry point: the navigation lists every page of dxui.navigation, and nothing else;
the server's safe defaults."""

import subprocess
import sys
from pathlib import Path

from dxui.navigation import PAGES, page_for_model

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
