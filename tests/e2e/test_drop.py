"""The drop zone in a browser: a mixed set of files (a chest X-ray, a short WFDB record, a
table of cases, one unknown file) dropped on the home page, sorted out, read on the
worklist, and its PDF report downloaded."""

from __future__ import annotations

import pytest
from pypdf import PdfReader

from tests.drops import HEART_CASES, short_record
from tests.e2e.browsing import WAIT_MS, downloaded_report, opened, wait_for_idle

pytestmark = pytest.mark.e2e


def test_a_mixed_drop_on_the_home_page_opens_as_a_worklist_and_its_report_downloads(
        shipped_cxr_card, shipped_ecg_card, shipped_heart_card, browser, app_url,
        pneumonia_xray_path, data_dir, tmp_path):
    files = [pneumonia_xray_path]
    for name, data in {**short_record(data_dir / "mitdb", 20), "cases.csv": HEART_CASES,
                       "notes.bin": b"\x00\x01"}.items():
        (tmp_path / name).write_bytes(data)
        files.append(tmp_path / name)
    with opened(browser, app_url) as page:
        page.locator('input[type="file"]').set_input_files([str(p) for p in files])
        page.get_by_text("Open as a worklist (5 cases from 3 inputs)").wait_for(timeout=WAIT_MS)
        assert "notes.bin is not a file the dashboard can read" in \
            page.get_by_test_id("stAlertContentError").inner_text()
        page.get_by_text("Open as a worklist (5 cases from 3 inputs)").click()
        page.get_by_text("Download the worklist (CSV)").wait_for(timeout=WAIT_MS)
        wait_for_idle(page)
        assert page.get_by_test_id("stException").count() == 0
        assert page.get_by_test_id("stDataFrame").count() == 1
        assert page.get_by_text("Open a case").count() == 1

        # Three models' explanations to write.
        download = downloaded_report(page, write_timeout_ms=3 * WAIT_MS)
        assert download.suggested_filename == "dx-worklist-report.pdf"
        report = PdfReader(download.path())
    text = " ".join(" ".join(p.extract_text().split()) for p in report.pages)
    assert len(report.pages) >= 1 + 3  # a summary page, then a page per case (or more)
    for model_id in ("cxr-pneumonia", "ecg-beats", "heart-disease"):
        assert model_id in text
    assert "not for clinical decisions" in text
