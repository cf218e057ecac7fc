"""The entry point: the navigation lists every page of dxui.navigation, and nothing else."""

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
