"""Case labels in a browser (issue 27): a worklist whose cases are named as their files name
them (a DICOM's accession number, a ward table's MRN column, else the file name and row),
and a patient view headed by the patient's ID with its summary and its inputs side by side,
whose PDF report names the patient and says that it holds identifiers. Saves
docs/screenshot-worklist.png and docs/screenshot-patient.png for the README."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pypdf import PdfReader

from dxcore.pdf_report import IDENTIFIERS_NOTICE
from tests.app_pages.test_chest_xray import PATIENT, dicom_bytes
from tests.drops import short_record
from tests.e2e.browsing import WAIT_MS, downloaded_report, opened, wait_for_idle
from tests.e2e.test_browser import DOCS, shows_no_error_then_screenshot
from tests.helpers import pdf_page_png

pytestmark = pytest.mark.e2e

WORKLIST_SCREENSHOT = DOCS / "screenshot-worklist.png"
PATIENT_SCREENSHOT = DOCS / "screenshot-patient.png"
ACCESSION = "ACC-0611-0042"  # at most 16 characters (VR SH)
HEADER = "MRN,age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal"
# Plausible made-up findings (not patients of the dataset) under made-up MRNs; the third
# row's MRN is left empty, so it is named by its row.
WARD_CSV = f"""{HEADER}
H-104233,58,1,4,140,260,0,2,118,1,2.6,2,2,7
H-104871,44,0,3,118,210,0,0,172,0,0.0,1,0,3
,66,1,4,150,?,1,2,110,1,3.1,2,3,7
H-105020,52,0,2,128,225,0,0,160,0,0.4,1,0,3
"""
# This patient's own record, under the DICOM's PatientID.
PATIENT_CSV = f"""{HEADER.replace("MRN", "patient_id")}
{PATIENT["PatientID"]},58,1,4,140,260,0,2,118,1,2.6,2,2,7
"""


def payloads(files: dict[str, bytes]) -> list[dict]:
    """Files for ``set_input_files``, from memory."""
    return [{"name": name, "mimeType": "application/octet-stream", "buffer": data}
            for name, data in files.items()]


@pytest.fixture(scope="module")
def xray_dicom(pneumonia_xray_path) -> bytes:
    """A public test image as a DICOM stating an accession number and a (made-up) patient."""
    return dicom_bytes(pneumonia_xray_path.read_bytes(), AccessionNumber=ACCESSION)


def test_the_worklist_names_each_case(shipped_cxr_card, shipped_ecg_card, shipped_heart_card,
                                      browser, app_url, data_dir, xray_dicom, test_xray_path):
    files = {"scan-0042.dcm": xray_dicom, "ward.csv": WARD_CSV.encode(),
             "chest.jpeg": test_xray_path.read_bytes(), **short_record(data_dir / "mitdb", 20)}
    with opened(browser, app_url) as page:
        page.locator('input[type="file"]').set_input_files(payloads(files))
        page.get_by_text("Open as a worklist").click(timeout=WAIT_MS)
        page.get_by_role("button", name="Download the worklist (CSV)").wait_for(
            timeout=WAIT_MS)
        wait_for_idle(page)
        # The table is drawn on a canvas; the grid behind it, for assistive technology,
        # holds its cells.
        cases = page.locator('[role="grid"] td[aria-colindex="1"]').all_inner_texts()
        assert cases == ["100", ACCESSION, "H-104233", "H-104871", "ward.csv row 3",
                         "H-105020", "chest.jpeg"]
        page.get_by_role("combobox", name="Open a case").click()
        page.keyboard.press("ArrowDown")  # the options, each named by its case's label
        page.get_by_role("option").filter(has_text=f"{ACCESSION}: ").click(timeout=WAIT_MS)
        page.get_by_text(f"Image: {ACCESSION} — read by cxr-pneumonia").wait_for(
            timeout=WAIT_MS)
        page.get_by_text("Grad-CAM++ map for").wait_for(timeout=WAIT_MS)  # computed after
        wait_for_idle(page)
        shows_no_error_then_screenshot(page, WORKLIST_SCREENSHOT)


def test_the_patient_view_names_the_patient_and_its_report_says_it_holds_identifiers(
        shipped_cxr_card, shipped_ecg_card, shipped_heart_card, browser, app_url, data_dir,
        xray_dicom):
    files = {"scan-0042.dcm": xray_dicom, **short_record(data_dir / "mitdb", 20),
             "record.csv": PATIENT_CSV.encode()}
    with opened(browser, app_url) as page:
        page.locator('input[type="file"]').set_input_files(payloads(files))
        page.get_by_text("Open as one patient").click(timeout=WAIT_MS)
        page.get_by_text(f"Patient: {PATIENT['PatientID']}").wait_for(timeout=WAIT_MS)
        page.get_by_text("Summary", exact=True).wait_for(timeout=WAIT_MS)
        # The ECG record and the image side by side, each in a column of its own; the
        # record below them.
        page.get_by_text("Record summary").wait_for(timeout=WAIT_MS)
        page.get_by_text("Grad-CAM++ map for").wait_for(timeout=WAIT_MS)
        page.get_by_text(f"Case records: {PATIENT['PatientID']} — read by heart-disease").wait_for(
            timeout=WAIT_MS)
        wait_for_idle(page)
        columns = page.get_by_test_id("stColumn")
        image, ecg = (columns.filter(has_text=f"Image: {ACCESSION}").last,
                      columns.filter(has_text="ECG record: 100").last)
        image_box, ecg_box = image.bounding_box(), ecg.bounding_box()
        assert abs(image_box["y"] - ecg_box["y"]) < 5 and ecg_box["x"] < image_box["x"]
        shows_no_error_then_screenshot(page, PATIENT_SCREENSHOT)

        # Three models' explanations to write.
        pdf = downloaded_report(page, write_timeout_ms=3 * WAIT_MS).path().read_bytes()
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]
    assert pages[0].startswith("Dx case report - case 1: 100 Patient: "
                               f"{PATIENT['PatientID']}")
    assert any(page.startswith(f"Dx case report - case 2: {ACCESSION}") for page in pages)
    assert " ".join(IDENTIFIERS_NOTICE.split()) in pages[0]
    assert PATIENT["PatientName"] not in " ".join(pages) and "Jane" not in " ".join(pages)
    # A page as the docs would show it (the signed-off report's page, once it has one).
    first = Image.open(io.BytesIO(pdf_page_png(pdf, 1, dpi=80)))
    assert first.height > first.width > 500  # an A4 page
