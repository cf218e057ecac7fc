"""Case labels on the pages (issue 27): the worklist's Case column and case view name each
case as its files do (a DICOM's accession number, a table's ID column, else the file name
and row), the audit trail never holds a label; the patient view is headed by the patient's
label, sums up every answer and its doubt, shows its inputs side by side, two to a row, and
opens a drop of several patients only on request."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dxcore.audit import AuditLog, verify
from dxui import patient, worklist
from dxui.navigation import PATIENT
from tests.app_pages.conftest import drop, open_app, shown
from tests.app_pages.test_chest_xray import PATIENT as DICOM_PATIENT
from tests.app_pages.test_chest_xray import dicom_bytes
from tests.drops import HEART_CASES

ACCESSION = "ACC-5521"
HEADER, *CASES = HEART_CASES.decode().splitlines()
# Three cases named by the ward's MRN column, the second left empty (named by its row).
WARD = "\n".join([f"MRN,{HEADER}", f"H-1,{CASES[0]}", f",{CASES[1]}",
                  f"H-3,{CASES[2]}"]).encode()


def summary_of(app: AppTest):
    """The patient view's summary: the page's first table, before any input's own."""
    summary = app.dataframe[0].value
    assert summary.columns.tolist() == patient.SUMMARY_COLUMNS
    return summary


@pytest.fixture
def home(cxr_card, heart_card) -> AppTest:
    return open_app(None)


def test_the_worklist_names_each_case_and_the_audit_trail_none(home, test_xray_bytes,
                                                                monkeypatch, tmp_path):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("DX_AUDIT_LOG", str(log))
    files = {"scan.dcm": dicom_bytes(test_xray_bytes, AccessionNumber=ACCESSION),
             "ward.csv": WARD, "chest.jpeg": test_xray_bytes}
    drop(home, files)
    home.button[0].click().run()  # Open as a worklist
    app = home
    assert not app.exception and not app.error
    table = app.dataframe[0].value
    assert table["Case"].tolist() == [ACCESSION, "H-1", "ward.csv row 2", "H-3", "chest.jpeg"]
    # The hash the audit trail knows each input by stays beside its label.
    entries = AuditLog(log).entries()
    assert set(table["Input SHA-256"]) == {entry["input_sha256"] for entry in entries}
    assert verify(log).ok

    picker = app.selectbox(key="worklist_case")
    picker.select_index(table["Case"].tolist().index("H-3")).run()
    assert not app.exception
    assert "Case records: H-3 — read by heart-disease" in [
        shown(markdown.value).strip("*") for markdown in app.markdown]

    text = log.read_text()
    for identifier in (ACCESSION, "H-1", "H-3", "ward.csv", "scan.dcm", "chest.jpeg",
                       *DICOM_PATIENT.values()):
        assert identifier not in text, identifier


def test_the_patient_view_names_the_patient_sums_up_and_shows_inputs_side_by_side(
        home, test_xray_bytes):
    record = f"patient_id,{HEADER}\n{DICOM_PATIENT['PatientID']},{CASES[0]}\n".encode()
    drop(home, {"scan.dcm": dicom_bytes(test_xray_bytes, AccessionNumber=ACCESSION),
                "record.csv": record})
    home.button[1].click().run()  # Open as one patient
    app = home
    assert not app.exception and not app.error
    assert [shown(h.value) for h in app.header] == [f"Patient: {DICOM_PATIENT['PatientID']}"]
    assert any("The patient ID that all inputs state" in c.value for c in app.caption)
    summary = summary_of(app)
    assert summary["Input"].tolist() == [ACCESSION, DICOM_PATIENT["PatientID"]]
    assert summary["Model"].tolist() == ["cxr-pneumonia", "heart-disease"]
    assert all(summary["Answer"])
    # The doubt says what each answer's prediction set says, as the worklist flags it.
    _, run = app.session_state[worklist.RUNS]
    flagged = worklist.rows(run.adapted, run.labels)["uncertain"].tolist()
    assert [doubt.split(": ")[0] for doubt in summary["Doubt"]] == [
        "uncertain" if uncertain else "none" for uncertain in flagged]
    # Side by side: each input's heading in a column of its own.
    headed = [[shown(s.value) for s in column.subheader] for column in app.columns]
    assert [f"Image: {ACCESSION} — read by cxr-pneumonia"] in headed
    assert any(f"Case records: {DICOM_PATIENT['PatientID']} — read by heart-disease" in column
               for column in headed)


def test_the_patient_view_says_when_the_files_name_different_patients(home, test_xray_bytes):
    drop(home, {"a.dcm": dicom_bytes(test_xray_bytes, PatientID="PID-1"),
                "b.dcm": dicom_bytes(test_xray_bytes, PatientID="PID-2")})
    home.button[1].click().run()
    app = home
    assert not app.exception
    assert [shown(h.value) for h in app.header] == ["Patient: a.dcm · b.dcm"]
    assert any("2 different patient IDs" in shown(w.value) and "PID-1, PID-2" in shown(w.value)
               for w in app.warning)


def test_a_drop_of_several_patients_opens_on_the_patient_view_only_on_request(heart_card):
    app = open_app(PATIENT.path)
    drop(app, {"ward.csv": WARD})
    assert not app.exception
    assert any("more than one patient" in shown(w.value) for w in app.warning)
    assert not app.header and not app.dataframe  # no model ran
    app.checkbox(key="patient_anyway").check().run()
    assert not app.exception and not app.error
    assert summary_of(app)["Input"].tolist() == ["H-1", "ward.csv row 2", "H-3"]
    # Two MRNs: no one patient's ID heads the page, and the page says why.
    assert [shown(h.value) for h in app.header] == ["Patient: ward.csv"]
    assert any("2 different patient IDs" in shown(w.value) for w in app.warning)
    # Unticked, the page closes again (the drop, already read, is not read again).
    app.checkbox(key="patient_anyway").uncheck().run()
    assert not app.exception and not app.header and not app.dataframe
