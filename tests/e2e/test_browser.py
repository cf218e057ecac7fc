"""The dashboard in a real browser: upload a test image on the chest X-ray page, a test
record on the ECG page and a CSV of cases on the case-record page, see the results, and save
screenshots for the README."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCREENSHOT = DOCS / "screenshot-chest-xray.png"
ECG_SCREENSHOT = DOCS / "screenshot-ecg.png"
RECORDS_SCREENSHOT = DOCS / "screenshot-records.png"
# Plausible made-up findings (not patients of the dataset), the UCI attribute names as
# columns; the third has an unknown thallium result ("?"), imputed by the model.
CASES_CSV = """age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal
58,1,4,140,260,0,2,118,1,2.6,2,2,7
44,0,3,118,210,0,0,172,0,0.0,1,0,3
66,1,4,150,?,1,2,110,1,3.1,2,3,7
52,0,2,128,225,0,0,160,0,0.4,1,0,3
"""
VIEWPORT = {"width": 1440, "height": 900}
WAIT_MS = 60_000  # the first page load imports TensorFlow and loads the model


@contextmanager
def opened(browser, url: str) -> Iterator:
    """A new page at ``url``, once the research notice shows; closed afterwards."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_text("Research prototype — not for clinical decisions").wait_for(
            timeout=WAIT_MS)
        yield page
    finally:
        page.close()


def wait_for_idle(page) -> None:
    """Until Streamlit's "Running..." indicator is gone and every image has loaded."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
              && [...document.images].every(image => image.complete
                                                      && image.naturalWidth > 0)""",
        timeout=WAIT_MS)


def full_page_screenshot(page, path: Path) -> None:
    """Streamlit scrolls inside its main section, not the document: grow the viewport to
    the content's height so that the screenshot holds the whole page."""
    height = page.evaluate(
        """() => Math.max(...[...document.querySelectorAll(
                 '[data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
                 .map(element => element.scrollHeight), document.body.scrollHeight)""")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height) + 40})
    wait_for_idle(page)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def shows_no_error_then_screenshot(page, path: Path) -> None:
    """No exception and no error message on the page; then the whole page saved to ``path``."""
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stAlertContentError").count() == 0
    full_page_screenshot(page, path)
    assert path.stat().st_size > 10_000


def test_upload_on_chest_xray_page(shipped_cxr_card, browser, pneumonia_xray_path, app_url):
    with opened(browser, f"{app_url}/chest_xray") as page:
        # Opened by a deep link on a fresh server, the page still runs under app.py's
        # navigation (not Streamlit's legacy pages/ mode).
        navigation = page.get_by_test_id("stSidebarNav").inner_text()
        assert "Home" in navigation and "Chest X-ray" in navigation
        page.locator('input[type="file"]').set_input_files(str(pneumonia_xray_path))

        verdict = page.get_by_test_id("stMetricValue")
        verdict.wait_for(timeout=WAIT_MS)
        # "PNEUMONIA", or "uncertain: NORMAL or PNEUMONIA" when its prediction set is both
        shown = verdict.inner_text().strip().removeprefix("uncertain: ")
        assert set(shown.split(" or ")) <= set(shipped_cxr_card.class_names)
        overlay = page.get_by_test_id("stImage").nth(1)
        overlay.wait_for(timeout=WAIT_MS)
        wait_for_idle(page)
        assert "Grad-CAM++ map for" in overlay.inner_text()
        shows_no_error_then_screenshot(page, SCREENSHOT)


def test_upload_on_ecg_page(shipped_ecg_card, browser, mitdb_test_record, app_url):
    with opened(browser, f"{app_url}/ecg") as page:
        page.locator('input[type="file"]').set_input_files(
            [str(path) for path in mitdb_test_record])

        page.get_by_text("Record summary").wait_for(timeout=WAIT_MS)
        charts = page.get_by_test_id("stVegaLiteChart")
        # The heart-rate overview, the strip, then the first beat with its saliency, its
        # probability bars and the strip around it: the last chart of the page, so the
        # screenshot has the whole page.
        charts.nth(4).wait_for(timeout=WAIT_MS)
        wait_for_idle(page)
        assert page.get_by_test_id("stMetricValue").count() >= 5
        shows_no_error_then_screenshot(page, ECG_SCREENSHOT)


def test_upload_on_records_page(shipped_heart_card, browser, app_url, tmp_path):
    cases = tmp_path / "cases.csv"
    cases.write_text(CASES_CSV)
    with opened(browser, f"{app_url}/records") as page:
        page.locator('input[type="file"]').set_input_files(str(cases))

        page.get_by_text("All cases").wait_for(timeout=WAIT_MS)
        page.get_by_test_id("stDataFrame").first.wait_for(timeout=WAIT_MS)
        page.get_by_test_id("stVegaLiteChart").first.wait_for(timeout=WAIT_MS)
        wait_for_idle(page)
        shown = page.get_by_test_id("stMetricValue").first.inner_text().strip()
        assert set(shown.removeprefix("uncertain: ").split(" or ")) \
            <= set(shipped_heart_card.class_names)
        assert page.get_by_test_id("stDownloadButton").count() == 1
        shows_no_error_then_screenshot(page, RECORDS_SCREENSHOT)
