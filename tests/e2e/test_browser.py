"""The dashboard in a real browser: upload a test image on the chest X-ray page, a test
record on the ECG page and a CSV of cases on the case-record page, see the results, and save
screenshots for the README; visit the home and models pages; upload files whose cells,
column names and lead names hold Markdown images, links and HTML, and see them shown as
text. On every page no request may leave for another host than the app's
(``tests/e2e/browsing.py`` blocks and reports any)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browsing import VIEWPORT, WAIT_MS, opened, verdict, wait_for_idle

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
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
# What a hostile file may hold; each would make the browser fetch evil.example, or show a
# link or markup, if a page rendered it as Markdown.
HOSTILE = {
    "image": "![x](http://evil.example/track.png)",
    "html": "<img src=http://evil.example/img.png>",
    "script": "<script>alert(1)</script>",
    "link": "[click](http://evil.example/link)",
}
# Heart-disease cases: two unknown columns named by hostile text (ignored, and named in a
# note) and three thallium results that are hostile text (each row refused, its cell echoed
# in the error); the fourth row is predicted.
HOSTILE_CASES_CSV = f"""age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal,\
{HOSTILE["image"]},{HOSTILE["link"]}
58,1,4,140,260,0,2,118,1,2.6,2,2,{HOSTILE["image"]},1,2
44,0,3,118,210,0,0,172,0,0.0,1,0,{HOSTILE["html"]},1,2
66,1,4,150,250,1,2,110,1,3.1,2,3,{HOSTILE["script"]},1,2
52,0,2,128,225,0,0,160,0,0.4,1,0,3,1,2
"""
ECG_CSV_SECONDS = 30


CONTENT_HEIGHT = """() => Math.max(...[...document.querySelectorAll(
    '[data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
    .map(element => element.scrollHeight), document.body.scrollHeight)"""
SETTLED_MS = 500  # the content's height unchanged this long: the page is drawn


def settled_height(page) -> int:
    """The content's height once it stays the same for :data:`SETTLED_MS`: the browser
    still lays out tables and charts after Streamlit's run has ended, the longer the busier
    the machine (measured at once, a busy run's ECG page was cut 500 px short)."""
    height, waited = page.evaluate(CONTENT_HEIGHT), 0
    while waited < WAIT_MS:
        page.wait_for_timeout(SETTLED_MS)
        waited += SETTLED_MS
        height, previous = page.evaluate(CONTENT_HEIGHT), height
        if height == previous:
            return int(height)
    raise AssertionError(f"the page's height still changed after {WAIT_MS} ms")


def full_page_screenshot(page, path: Path) -> None:
    """Streamlit scrolls inside its main section, not the document: grow the viewport to
    the content's settled height so that the screenshot holds the whole page."""
    height = settled_height(page)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height + 40})
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

        prediction = verdict(page)
        prediction.wait_for(timeout=WAIT_MS)
        # "PNEUMONIA", or "uncertain: NORMAL or PNEUMONIA" when its prediction set is both
        shown = prediction.inner_text().strip().removeprefix("uncertain: ")
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
        shown = verdict(page).inner_text().strip()
        assert set(shown.removeprefix("uncertain: ").split(" or ")) \
            <= set(shipped_heart_card.class_names)
        # The results' download, beside each model's case-file templates.
        assert page.get_by_test_id("stDownloadButton").filter(
            has_text="Download the results (CSV)").count() == 1
        shows_no_error_then_screenshot(page, RECORDS_SCREENSHOT)


def test_home_and_models_pages(browser, app_url):
    from dxcore.registry import list_cards

    with opened(browser, app_url) as page:
        page.get_by_text("Shipped models").wait_for(timeout=WAIT_MS)
        wait_for_idle(page)
        assert page.get_by_test_id("stException").count() == 0
    for card in list_cards(ROOT / "saved_models"):
        with opened(browser, f"{app_url}/models?model={card.id}") as page:
            # Exactly: a card's test evaluations may say "test report" in their purpose.
            page.get_by_text("Test report", exact=True).wait_for(timeout=WAIT_MS)
            wait_for_idle(page)
            assert page.get_by_test_id("stException").count() == 0


def shows_literally(page, texts) -> None:
    """Each text is on the page as itself, and the page holds no element made of them."""
    shown = page.get_by_test_id("stMain").inner_text()
    for text in texts:
        assert text in shown
    assert page.locator('img[src*="evil.example"]').count() == 0
    # GitHub-flavoured Markdown makes a URL written out in the text a link to itself (never
    # fetched; what it shows is where it goes); no link may hide behind other words.
    links = page.locator('a[href*="evil.example"]').evaluate_all(
        "links => links.map(link => [link.textContent, link.href])")
    assert all(text == href for text, href in links)
    assert page.evaluate("() => [...document.scripts].some(s => s.text.includes('alert'))") \
        is False


def test_records_page_shows_a_hostile_file_as_text(shipped_heart_card, browser, app_url):
    with opened(browser, f"{app_url}/records") as page:
        page.locator('input[type="file"]').set_input_files(
            {"name": "cases.csv", "mimeType": "text/csv",
             "buffer": HOSTILE_CASES_CSV.encode()})
        page.get_by_text("3 of 4 cases could not be predicted").wait_for(timeout=WAIT_MS)
        page.get_by_text("Ignored 2 columns").wait_for(timeout=WAIT_MS)
        shows_literally(page, HOSTILE.values())


def test_ecg_page_shows_a_hostile_lead_name_as_text(shipped_ecg_card, browser, app_url,
                                                    mitdb_test_record):
    from dxcore.ecg.mitdb import LEAD, read_record

    header = mitdb_test_record[0]
    record = read_record(header.stem, header.parent.parent)
    _, signal, _ = record.lead(LEAD)
    samples = int(ECG_CSV_SECONDS * record.fs)
    lines = [f"time,{HOSTILE['image']}"] + [
        f"{i / record.fs:.6f},{value:.4f}" for i, value in enumerate(signal[:samples])]
    with opened(browser, f"{app_url}/ecg") as page:
        page.locator('input[type="file"]').set_input_files(
            {"name": "strip.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()})
        page.get_by_text("Record summary").wait_for(timeout=WAIT_MS)
        page.get_by_text("read the beat classes with care").first.wait_for(timeout=WAIT_MS)
        shows_literally(page, [HOSTILE["image"]])
