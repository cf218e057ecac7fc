"""PDF reports (dxcore.pdf_report, ``python -m dxcore report``): what a page says, read back
with pypdf; pages rendered with poppler's pdftoppm; each case named by its label (issue 27:
file name, accession number, ID column), the report saying that it holds identifiers, and
no other identifier in them."""

from __future__ import annotations

import io
import re
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from dxcore.audit import input_sha256
from dxcore.ecg import load_record
from dxcore.pdf_report import (
    DISCLAIMER,
    IDENTIFIERS_NOTICE,
    app_version,
    case_report,
    cases_for,
    worklist_report,
)
from tests.app_pages.test_chest_xray import PATIENT, dicom_bytes
from tests.helpers import pdf_page_png, text_of, wfdb_bytes, with_rhythm

IDENTIFIERS = ("Doe", "Jane", "PID-738291", "19790412", "1979-04-12")
ACCESSION = "ACC-5521"
CASES = (b"name,patient_id,birth_date,age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,"
         b"oldpeak,slope,ca,thal\n"
         b"Jane Doe,PID-738291,1979-04-12,67,1,4,160,286,0,2,108,1,1.5,2,3,3\n"
         b"Jane Doe,PID-738291,1979-04-12,41,0,2,130,204,0,2,172,0,1.4,1,0,3\n"
         b"Jane Doe,PID-738291,1979-04-12,430,1,1,145,233,1,2,150,0,2.3,3,0,6\n")


def render(pdf: bytes, page: int = 1) -> Image.Image:
    """Page ``page`` rendered by pdftoppm (poppler-utils) at 50 dpi."""
    return Image.open(io.BytesIO(pdf_page_png(pdf, page))).convert("RGB")


@pytest.fixture(scope="module")
def xray_report(cxr_model, test_xray_bytes) -> tuple[bytes, dict, object]:
    files = {"scan.dcm": dicom_bytes(test_xray_bytes, AccessionNumber=ACCESSION)}
    cases = cases_for(cxr_model, files)
    return case_report(cases), files, cases[0]


def test_a_chest_xray_report_holds_what_the_issue_lists(xray_report, cxr_model):
    pdf, files, case = xray_report
    [page] = text_of(pdf)
    card = cxr_model.card
    decided = str(case.result.decisions[0])
    assert f"Prediction: {card.class_label(decided)}" in page
    for name in card.class_names:
        assert re.search(rf"P\({card.class_label(name)}\) ([=<>]) [01]\.\d\d\b", page)
    assert "Prediction set at 90% coverage" in page
    assert f"threshold {card.threshold:.3f}" in page
    assert "Accepted by the domain guard" in page
    assert f"Explanation (Grad-CAM++, for {card.class_label(decided)})" in page
    assert "Colour bar" in page
    assert f"id {card.id}, version {card['date']}" in page
    assert card["weights_sha256"] in page and input_sha256(files) in page
    assert "95% bootstrap CI" in page and card.headline()["auc"] in page
    assert " ".join(card["limitations"][0].split()) in page
    assert app_version() in page and " ".join(DISCLAIMER.split()) in page
    assert "UTC" in page


def test_a_report_names_its_case_says_it_holds_identifiers_and_holds_no_other(xray_report):
    pdf, files, _ = xray_report
    [page] = text_of(pdf)
    assert page.startswith(f"Dx case report - case 1: {ACCESSION}")  # the accession number
    assert " ".join(IDENTIFIERS_NOTICE.split()) in page
    for identifier in (*IDENTIFIERS, *files):  # the patient's name, ID, birth; the file name
        assert identifier not in page


def test_a_report_of_a_file_without_a_case_name_is_labelled_by_its_file_name(
        cxr_model, test_xray_bytes):
    cases = cases_for(cxr_model, {"chest.jpeg": test_xray_bytes}, explain=False,
                      name="ward-3/chest.jpeg")
    [page] = text_of(case_report(cases, patient="PID-17"))
    assert page.startswith("Dx case report - case 1: ward-3/chest.jpeg Patient: PID-17")
    assert " ".join(IDENTIFIERS_NOTICE.split()) in page


def test_a_report_page_renders_with_the_image_and_its_map(xray_report):
    pixels = np.asarray(render(xray_report[0]))
    assert pixels.shape[0] > pixels.shape[1] > 300  # an A4 page
    # The saliency overlay and colour bar are in colour; the text is black on white.
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
    blue = (pixels[..., 2] > 150) & (pixels[..., 0] < 60)
    assert red.sum() > 20 and blue.sum() > 20


def test_an_ecg_report_shows_the_strip_and_not_the_header_comments(ecg_model, mitdb_root):
    files = wfdb_bytes(load_record(mitdb_root / "100").signals[:360 * 60], name="rec")
    files["rec.hea"] += f"# {PATIENT['PatientName']} {PATIENT['PatientID']}\n".encode()
    cases = cases_for(ecg_model, files, explain=False)  # a beat's Grad-CAM: tests/ecg
    pdf = case_report(cases)
    [page] = text_of(pdf)
    summary = cases[0].result.detail.summary
    assert f"{summary['beats']} beats; the first 10 s" in page and "lead MLII" in page
    assert "Beats: " + ecg_model.card.class_label("N") in page
    assert not any(identifier in page for identifier in IDENTIFIERS)
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 1  # the strip
    # the rhythm analysed from the signal: a minute of sinus rhythm
    assert "AF burden 0.0% of the record's time" in page and "sinus rhythm (N)" in page


def test_an_ecg_report_lists_the_af_burden_and_the_rhythm_episodes_that_matter(
        ecg_model, mitdb_root, monkeypatch):
    """Twelve episodes of 15 s, sinus rhythm and atrial fibrillation in turn (made by hand
    until the rhythm analysis exists): ten rows, every AF episode among them."""
    rhythm = [{"label": "AFIB" if k % 2 else "N", "start_s": 15.0 * k, "end_s": 15.0 * (k + 1)}
              for k in range(12)]
    with_rhythm(monkeypatch, rhythm, af_burden_percent=50.0)
    files = wfdb_bytes(load_record(mitdb_root / "201").signals[:360 * 180], name="rec")
    text = " ".join(text_of(case_report(cases_for(ecg_model, files, explain=False))))

    assert "AF burden 50.0% of the record's time" in text
    assert "Rhythm episodes (12, the 10 that matter most listed): Rhythm Start End Duration" \
        in text
    assert text.count("atrial fibrillation (AFIB)") == 6
    assert text.count("sinus rhythm (N)") == 4
    assert "atrial fibrillation (AFIB) 0:15.0 0:30.0 15.0 s" in text
    assert "... and 2 more episodes, shorter or in sinus rhythm." in text


def test_case_k_of_a_worklist_report_is_row_k_of_its_table(heart_model):
    """Without an ID column, a table's rows are labelled as the worklist labels them: the
    report's case 2 is "ward.csv row 2", on the summary and on its own page."""
    from tests.drops import HEART_CASES

    cases = cases_for(heart_model, {"cases.csv": HEART_CASES}, explain=False, name="ward.csv")
    pages = text_of(worklist_report(cases))
    assert len(pages) == 4 and " ".join(IDENTIFIERS_NOTICE.split()) in pages[0]
    for k in (1, 2, 3):
        assert f"{k} ward.csv row {k} heart-disease" in pages[0]
        assert pages[k].startswith(f"Dx case report - case {k}: ward.csv row {k}")
        assert f"Case record, row {k}:" in pages[k]


def run(capsys, *argv: str) -> tuple[int, str]:
    from dxcore.cli import main

    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_the_cli_worklist_report_is_a_summary_then_a_page_per_case(capsys, tmp_path,
                                                                   heart_model):
    cases = tmp_path / "cases.csv"
    cases.write_bytes(CASES)
    out = tmp_path / "report.pdf"
    status, said = run(capsys, "report", "heart-disease", str(cases), "--out", str(out))
    assert status == 0 and "3 cases (1 without an answer)" in said
    pages = text_of(out.read_bytes())
    assert len(pages) == 4 and pages[0].startswith("Dx worklist report - 3 cases")
    assert "not read" in pages[0] and heart_model.card["weights_sha256"] in pages[0]
    # Each case is named by the table's patient_id column, on the summary and its own page.
    assert " ".join(IDENTIFIERS_NOTICE.split()) in pages[0]
    assert "# Case Model" in pages[0] and "1 PID-738291 heart-disease" in pages[0]
    assert all(page.startswith(f"Dx case report - case {k}: PID-738291")
               for k, page in enumerate(pages[1:], start=1))
    assert "Age: 67 years" in pages[1] and "raised the probability" in " ".join(pages[1:3])
    assert "No answer" in pages[3]
    unused = ("Jane", "Doe", "1979-04-12")  # the table's other columns: never shown
    assert not any(identifier in " ".join(pages) for identifier in unused)
    assert "name" not in pages[1].split("Case record")[1].split("Input SHA-256")[0]


def test_the_cli_report_refuses_an_existing_out_and_reads_folders(capsys, tmp_path,
                                                                  test_xray_path):
    out = tmp_path / "exists.pdf"
    out.write_bytes(b"keep")
    status, said = run(capsys, "report", "cxr-pneumonia", str(test_xray_path), "--out",
                       str(out))
    assert status == 1 and "already exists" in said and out.read_bytes() == b"keep"
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(test_xray_path, folder / "a.jpeg")
    (folder / "notes.txt").write_text("not an image")
    target = tmp_path / "folder.pdf"
    status, said = run(capsys, "report", "cxr-pneumonia", str(folder), "--out", str(target),
                       "--no-explain")
    assert status == 0 and "2 cases (1 without an answer)" in said
    pages = text_of(target.read_bytes())
    assert len(pages) == 3 and "not read" in pages[0] and "Explanation" not in pages[1]


def test_the_cli_report_reads_what_predict_reads(capsys, tmp_path, test_xray_path, ecg_model,
                                                 mitdb_root):
    """A ZIP is read in memory and a WFDB record named without extension brings its .dat
    and .atr, as for ``predict``."""
    archive = tmp_path / "drop.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(test_xray_path, "inside/a.jpeg")
    target = tmp_path / "zip.pdf"
    status, said = run(capsys, "report", "cxr-pneumonia", str(archive), "--out", str(target),
                       "--no-explain")
    assert status == 0 and "1 case (0 without an answer)" in said
    for suffix in (".hea", ".dat", ".atr"):
        shutil.copy(mitdb_root / f"100{suffix}", tmp_path / f"100{suffix}")
    target = tmp_path / "ecg.pdf"
    status, said = run(capsys, "report", "ecg-beats", str(tmp_path / "100"), "--out",
                       str(target), "--no-explain")
    assert status == 0 and "1 case (0 without an answer)" in said
    record = {f"100{suffix}": (mitdb_root / f"100{suffix}").read_bytes()
              for suffix in (".hea", ".dat", ".atr")}
    assert f"Input SHA-256: {input_sha256(record)}" in text_of(target.read_bytes())[0]


def test_a_refused_row_is_called_refused_as_on_the_pages_and_an_unread_one_not():
    """The worklist says "refused" for a row the model declines (too few findings, unlike
    the cohort) and "not read" for a bad row; the report's summary says the same."""
    from types import SimpleNamespace

    from dxcore.pdf_report import cases_of, summary_row
    from dxcore.records.model import CaseBatch, CaseResult

    model = SimpleNamespace(modality="record", card=SimpleNamespace(id="heart-disease"),
                            identities=lambda files: [])
    rows = [CaseResult(1, {}, error="Row 1 has too few findings.", code="too_few_fields"),
            CaseResult(2, {}, error="Row 2 is unlike the cohort.", code="out_of_domain"),
            CaseResult(3, {}, error="Row 3, age 430 is not plausible.", code="invalid_input")]
    result = SimpleNamespace(detail=CaseBatch("heart-disease", rows, notes=[]))
    cases = cases_of(model, {"cases.csv": b""}, result, explain=False)
    assert [summary_row(case)[1:] for case in cases] == [
        ["no answer", "", "", "refused"], ["no answer", "", "", "refused"],
        ["not read", "", "", ""]]
