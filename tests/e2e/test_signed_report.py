"""A signed-off case report in a browser (issue 27): on the chest X-ray page a test image's
answer is overridden through the sign-off form (the reader's name, the class, a reason), the
sign-off lands in the audit trail, and the PDF report downloaded from the page carries it.
Saves that report's page as docs/screenshot-signed-report.png for the README.

The server's audit trail is a temporary file (the suite turns the trail off, and a sign-off
needs one); never the user's own."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from dxcore.audit import AuditLog, verify
from dxcore.signoff import KIND, OVERRIDE
from tests.e2e.browsing import WAIT_MS, downloaded_report, opened, verdict, wait_for_idle
from tests.e2e.conftest import serving
from tests.e2e.test_browser import DOCS
from tests.helpers import pdf_page_png

pytestmark = pytest.mark.e2e

SIGNED_REPORT_SCREENSHOT = DOCS / "screenshot-signed-report.png"
READER = "Dr Ward"
# Honest in the docs' screenshot: the image is a pneumonia case, overridden only to show one.
REASON = "test sign-off for the docs, not a reading"
SCREENSHOT_DPI = 90  # legible, and a PNG of a few hundred kB at most


@pytest.fixture
def audited_app(tmp_path: Path) -> Iterator[tuple[str, AuditLog]]:
    """The dashboard (shipped models only) writing its audit trail to a temporary file,
    and that trail."""
    log = AuditLog(tmp_path / "audit.jsonl")
    env = {key: value for key, value in os.environ.items() if key != "DX_MODELS_DIR"}
    env["DX_AUDIT_LOG"] = str(log.path)
    with serving(tmp_path / "server.log", env=env) as url:
        yield url, log


def test_an_overridden_answer_is_signed_in_its_pdf_report(shipped_cxr_card, browser,
                                                          pneumonia_xray_path, audited_app):
    url, log = audited_app
    with opened(browser, f"{url}/chest_xray") as page:
        page.locator('input[type="file"]').set_input_files(str(pneumonia_xray_path))
        verdict(page).wait_for(timeout=WAIT_MS)
        page.get_by_text("Clinician's sign-off").wait_for(timeout=WAIT_MS)
        wait_for_idle(page)

        page.get_by_text("Override to another class").click()
        # The classes offered are the model's others than its answer; take the first.
        page.get_by_role("combobox", name="Override to").click()
        page.get_by_role("option").first.click(timeout=WAIT_MS)
        page.get_by_role("textbox", name="Reason").fill(REASON)
        page.get_by_role("textbox", name="Your name").fill(READER)
        page.get_by_role("button", name="Sign off").click()
        shown = page.get_by_text(f"Signed off by {READER} (unauthenticated) at ")
        shown.wait_for(timeout=WAIT_MS)
        assert f"(reason: {REASON})" in shown.inner_text()

        pdf = downloaded_report(page).path().read_bytes()

    # The sign-off is chained to the answer the page showed (the trail's first entry).
    entries = log.entries()
    [signed] = [entry for entry in entries if entry.get("kind") == KIND]
    answer = entries[0]
    assert signed["answer"] == answer["hash"]
    assert (signed["decision"], signed["signed_by"], signed["reason"]) == (
        OVERRIDE, READER, REASON)
    assert signed["override_class"] != answer["output"][0]["prediction"]
    assert verify(log.path).ok

    pages = [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]
    overridden = shipped_cxr_card.class_label(signed["override_class"])
    line = f"overridden to {overridden} (reason: {REASON})"
    signed_pages = [number for number, text in enumerate(pages, start=1)
                    if f"Signed off by {READER} (unauthenticated) at " in text and line in text]
    assert signed_pages, f"no page of the report carries the sign-off: {pages}"

    png = pdf_page_png(pdf, signed_pages[0], dpi=SCREENSHOT_DPI)
    rendered = Image.open(io.BytesIO(png))
    assert rendered.height > rendered.width > 500  # an A4 page, portrait
    SIGNED_REPORT_SCREENSHOT.write_bytes(png)
