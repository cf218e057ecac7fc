"""The drop zone (home page), the worklist and the patient view: files of every kind
recognised and routed, ZIPs, unknown files, ordering, filters, the CSV export, the drill-down,
and the patient view's cases side by side."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from dxcore.audit import AuditLog, verify
from dxui import worklist
from dxui.navigation import PATIENT, WORKLIST
from dxui.patient import NOT_FUSED
from tests.app_pages.conftest import drop, open_app, routed, shown, verdicts
from tests.app_pages.test_chest_xray import dicom_bytes
from tests.drops import HEART_CASES, short_record, zip_of


@pytest.fixture(scope="module")
def mixed(mitdb_root, test_xray_bytes) -> dict[str, bytes]:
    return {**short_record(mitdb_root, 20), "chest.jpeg": test_xray_bytes,
            "cases.csv": HEART_CASES}


@pytest.mark.parametrize("kind", ["jpeg", "dicom", "wfdb", "csv", "json"])
def test_each_kind_of_file_is_routed_to_its_model(home, kind, test_xray_bytes, mitdb_root):
    files, expected = {
        "jpeg": ({"scan": test_xray_bytes}, [("scan", "cxr-pneumonia")]),
        "dicom": ({"scan.bin": dicom_bytes(test_xray_bytes)}, [("scan.bin", "cxr-pneumonia")]),
        "wfdb": (short_record(mitdb_root, 10), [("100", "ecg-beats")]),
        "csv": ({"cases.csv": HEART_CASES}, [("cases.csv", "heart-disease")]),
        "json": ({"case.json": pd.read_csv(io.BytesIO(HEART_CASES)).to_json(
            orient="records").encode()}, [("case.json", "heart-disease")]),
    }[kind]
    drop(home, files)
    assert not home.exception and not home.error
    assert routed(home) == expected


def test_a_mixed_drop_in_a_zip_with_an_unknown_file(home, mixed):
    drop(home, {"day.zip": zip_of(mixed), "notes.bin": b"\x00\x01"})
    assert not home.exception
    assert routed(home) == [("day.zip/100", "ecg-beats"), ("day.zip/chest.jpeg", "cxr-pneumonia"),
                            ("day.zip/cases.csv", "heart-disease")]
    [error] = home.error
    assert "notes.bin is not a file the dashboard can read" in shown(error.value)
    # The button counts the rows the worklist shows (the table's three cases), and a table
    # of three cases is three patients: no "Open as one patient".
    labels = [b.label for b in home.button]
    assert labels[0] == "Open as a worklist (5 cases from 3 inputs)"
    assert "Open as one patient" not in labels


def test_worklist_orders_filters_exports_and_drills_down(home, mixed, test_xray_bytes):
    drop(home, {**mixed, "second.jpeg": test_xray_bytes})
    home.button[0].click().run()
    app = home
    assert not app.exception and not app.error
    table = app.dataframe[0].value
    assert list(table.columns) == ["Case", "Model", "Prediction", "Probability",
                                   "Prediction set", "Domain guard", "Atypicality",
                                   "Input SHA-256", "Sign-off"]
    assert len(table) == 1 + 2 + 3  # the record, two images, three cases
    # Empty cells read "—", never "None"; probabilities as the case view writes them.
    assert (table["Atypicality"] != "—").tolist() == [False, False, True, True, True, False]
    assert not table.isna().any().any() and "1.000" not in table["Probability"].tolist()
    _, run = app.session_state[worklist.RUNS]  # the run, kept for the latest drop
    rows = worklist.rows(run.adapted, run.labels)

    app.selectbox(key="worklist_order").select("Highest probability first").run()
    highest = worklist.ordered(rows, "Highest probability first")
    assert app.dataframe[0].value["Case"].tolist() == highest["Case"].tolist()
    probabilities = highest["Probability"].dropna().tolist()
    assert probabilities == sorted(probabilities, reverse=True)

    app.selectbox(key="worklist_shown").select("Positives only").run()
    positives = app.dataframe[0].value
    assert len(positives) < len(table)
    for model, prediction in zip(positives["Model"], positives["Prediction"], strict=True):
        assert model == "ecg-beats" or prediction.split(": ")[-1] in (
            "PNEUMONIA", "heart disease") or "heart disease" in prediction

    app.selectbox(key="worklist_shown").select("All cases").run()
    app.selectbox(key="worklist_order").select("Uncertain first").run()
    ordered = app.dataframe[0].value
    expected = worklist.ordered(rows, "Uncertain first")
    assert ordered["Case"].tolist() == expected["Case"].tolist()
    assert expected["uncertain"].tolist() == sorted(expected["uncertain"], reverse=True)

    exported = pd.read_csv(io.BytesIO(worklist.export_csv(expected)))
    assert exported.columns.tolist() == worklist.COLUMNS
    assert exported["Case"].tolist() == ordered["Case"].tolist()
    assert [b.label for b in app.get("download_button")] == ["Download the worklist (CSV)"]

    image_row = ordered["Case"].tolist().index("chest.jpeg")
    app.selectbox(key="worklist_case").select_index(image_row).run()
    assert not app.exception
    assert "Where the model looked" in [s.value for s in app.subheader]


def test_patient_view_shows_each_file_with_its_own_model(home, mitdb_root, test_xray_bytes,
                                                         monkeypatch, tmp_path):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("DX_AUDIT_LOG", str(log))
    one_case = b"\n".join(HEART_CASES.splitlines()[:2]) + b"\n"  # this patient's record
    drop(home, {**short_record(mitdb_root, 10), "chest.jpeg": test_xray_bytes,
                "cases.csv": one_case})
    home.button[1].click().run()
    app = home
    assert not app.exception and not app.error
    assert any(NOT_FUSED in info.value for info in app.info)
    headings = [shown(s.value) for s in app.subheader]
    for expected in ("ECG record: 100 — read by ecg-beats",
                     "Image: chest.jpeg — read by cxr-pneumonia",
                     "Case records: cases.csv — read by heart-disease"):
        assert expected in headings
    assert {"Record summary", "Result"} <= set(headings)
    # Side by side, an image shows its map without the method controls.
    assert any(" map for " in caption for image in app.image for caption in image.captions)
    assert [shown(h.value) for h in app.header] == ["Patient: 100 · chest.jpeg · cases.csv"]
    assert len(verdicts(app)) == 2  # the image's and the case record's predictions
    # Each answer is in the audit trail once, as a case page's is, whatever the reruns.
    app.run()
    assert sorted(entry["model"] for entry in AuditLog(log).entries()) == [
        "cxr-pneumonia", "ecg-beats", "heart-disease"]
    assert verify(log).ok
    # One report of the patient's inputs, written only when asked for.
    [prepare] = [button for button in app.button if button.label == "Prepare a PDF report"]
    prepare.click().run()
    assert not app.exception and not app.error
    assert "Download the PDF report" in [b.proto.label for b in app.get("download_button")]


def test_pages_without_a_drop_say_what_to_do(cxr_card):
    for page in (WORKLIST, PATIENT):
        app = open_app(page.path)
        assert not app.exception and not app.error
        assert any("Drop" in info.value for info in app.info)
