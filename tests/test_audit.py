"""The audit trail (dxcore.audit): the hash chain, each kind of tampering found by
``python -m dxcore audit verify``, the export, and identifiers planted in DICOM tags, ECG
header comments and case columns never reaching the log. The dashboard's hook and the audit
page: tests/app_pages/test_audit.py."""

from __future__ import annotations

import hashlib
import json

import pytest

from dxcore.audit import GENESIS, AuditLog, configured_path, entry_hash, input_sha256, verify
from dxcore.ecg import load_record
from tests.app_pages.test_chest_xray import PATIENT, dicom_bytes
from tests.helpers import wfdb_bytes

IDENTIFIERS = ("Doe", "Jane", "PID-738291", "19790412", "1979-04-12")


@pytest.fixture
def log(tmp_path) -> AuditLog:
    """A log of three entries."""
    log = AuditLog(tmp_path / "audit.jsonl")
    for k in range(3):
        log.append_entry({"session": "s-test", "model": "m", "output": [{"prediction": str(k)}]})
    return log


def lines_of(log: AuditLog) -> list[str]:
    return log.path.read_text().splitlines()


def test_each_entry_carries_the_previous_hash_and_the_chain_verifies(log):
    entries = log.entries()
    assert [e["prev"] for e in entries] == [GENESIS, entries[0]["hash"], entries[1]["hash"]]
    assert all(entry_hash(e) == e["hash"] for e in entries)
    found = verify(log.path)
    assert found.ok and found.entries == 3 and found.head == entries[-1]["hash"]


def edit(lines):
    entry = json.loads(lines[1])
    entry["output"] = [{"prediction": "edited"}]
    return [lines[0], json.dumps(entry), lines[2]]


def edit_and_rehash(lines):
    """An edit whose own hash is recomputed: the next entry's ``prev`` no longer matches."""
    entry = json.loads(lines[1])
    entry["output"] = [{"prediction": "edited"}]
    entry["hash"] = entry_hash(entry)
    return [lines[0], json.dumps(entry), lines[2]]


TAMPERING = {
    "edited": edit,
    "edited and rehashed": edit_and_rehash,
    "removed": lambda lines: [lines[0], lines[2]],
    "removed first": lambda lines: lines[1:],
    "reordered": lambda lines: [lines[1], lines[0], lines[2]],
    "duplicated": lambda lines: [lines[0], lines[1], lines[1], lines[2]],
    "damaged": lambda lines: [lines[0], lines[1][:-5], lines[2]],
}


@pytest.mark.parametrize("kind", TAMPERING)
def test_every_kind_of_tampering_is_found_by_audit_verify(capsys, log, kind):
    log.path.write_text("\n".join(TAMPERING[kind](lines_of(log))) + "\n")
    assert not verify(log.path).ok
    status, out = main_out(capsys, "audit", "verify", "--log", str(log.path))
    assert status == 1 and "tampered with or damaged" in out


def test_audit_verify_and_export_from_the_cli(capsys, log, tmp_path, monkeypatch):
    monkeypatch.setenv("DX_AUDIT_LOG", str(log.path))
    assert main_out(capsys, "audit", "verify")[0] == 0
    status, out = main_out(capsys, "audit", "export")
    assert status == 0 and [json.loads(line) for line in out.splitlines()] == log.entries()
    target = tmp_path / "audit.csv"
    assert main_out(capsys, "audit", "export", "--format", "csv", "--out", str(target))[0] == 0
    rows = target.read_text().splitlines()
    assert rows[0].startswith("time,session,model") and len(rows) == 4
    # An existing file is never overwritten.
    status, out = main_out(capsys, "audit", "export", "--out", str(target))
    assert status == 1 and "already exists" in out


def main_out(capsys, *argv: str) -> tuple[int, str]:
    from dxcore.cli import main

    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_the_log_is_off_in_tests_and_configurable(monkeypatch, tmp_path):
    assert configured_path() is None and AuditLog.configured() is None  # tests/conftest.py
    monkeypatch.setenv("DX_AUDIT_LOG", str(tmp_path / "x.jsonl"))
    assert AuditLog.configured().path == tmp_path / "x.jsonl"
    monkeypatch.delenv("DX_AUDIT_LOG")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert configured_path() == tmp_path / "dx-dashboard" / "audit.jsonl"


def test_input_sha256_is_the_file_hash_without_its_name():
    assert input_sha256({"jane_doe.png": b"x"}) == hashlib.sha256(b"x").hexdigest()
    assert input_sha256({"a.hea": b"1", "a.dat": b"2"}) == input_sha256({"b.hea": b"1",
                                                                          "b.dat": b"2"})


# --- Nothing identifying reaches the log ---------------------------------------------------


def assert_clean(log: AuditLog, files: dict[str, bytes]) -> dict:
    text = log.path.read_text()
    for identifier in (*IDENTIFIERS, *files):  # nor the file names
        assert identifier not in text, identifier
    [entry] = log.entries()
    assert set(entry) == {"time", "session", "model", "model_version", "weights_sha256",
                          "input_sha256", "output", "prev", "hash"}
    assert entry["input_sha256"] == input_sha256(files)
    assert len(text) < 20_000  # no pixels, no signal, no beat list
    return entry


def test_dicom_tags_never_reach_the_log(tmp_path, cxr_model, test_xray_bytes):
    files = {"Doe_Jane_PID-738291.dcm": dicom_bytes(test_xray_bytes)}
    result = cxr_model.predict(files)
    log = AuditLog(tmp_path / "a.jsonl")
    log.append(result, cxr_model.card, files, "s-1")
    entry = assert_clean(log, files)
    assert entry["output"][0]["prediction"] == str(result.decisions[0])
    assert entry["weights_sha256"] == cxr_model.card["weights_sha256"]
    assert set(entry["output"][0]["probabilities"]) == set(cxr_model.card.class_names)


def test_ecg_header_comments_never_reach_the_log(tmp_path, ecg_model, mitdb_root):
    # The first minute of record 100 (MIT-BIH headers carry age and sex in comments too).
    files = wfdb_bytes(load_record(mitdb_root / "100").signals[:360 * 60], name="rec")
    files["rec.hea"] += f"# Patient {PATIENT['PatientName']} {PATIENT['PatientID']} " \
                        "born 1979-04-12\n".encode()
    result = ecg_model.predict(files)
    log = AuditLog(tmp_path / "a.jsonl")
    log.append(result, ecg_model.card, files, "s-1")
    entry = assert_clean(log, files)
    assert entry["output"][0]["summary"]["beats"] == len(result)


def test_case_columns_never_reach_the_log(tmp_path, heart_model):
    files = {"cases.csv": b"name,patient_id,birth_date,age,sex,cp,trestbps,chol,fbs,restecg,"
                          b"thalach,exang,oldpeak,slope,ca,thal\n"
                          b"Jane Doe,PID-738291,1979-04-12,67,1,4,160,286,0,2,108,1,1.5,2,3,3\n"
                          b"Jane Doe,PID-738291,1979-04-12,430,1,1,145,233,1,2,150,0,2.3,3,0,6\n"}
    result = heart_model.predict(files)
    log = AuditLog(tmp_path / "a.jsonl")
    log.append(result, heart_model.card, files, "s-1")
    entry = assert_clean(log, files)
    # The refused row (age 430) is logged by its error code, not its message.
    assert [set(row) for row in entry["output"]][1] == {"row", "code"}
    assert "430" not in json.dumps(entry["output"])


def test_case_labels_never_reach_the_log(tmp_path, cxr_model, heart_model, test_xray_bytes):
    """What the pages and PDFs name a case by (dxcore.labels: an accession number, an ID
    column's cell, a file name) is never logged: the entry knows the input by its hash."""
    from dxcore.labels import input_labels

    inputs = [(cxr_model, {"ACC-scan.dcm": dicom_bytes(test_xray_bytes,
                                                       AccessionNumber="ACC-5521")}),
              (heart_model, {"ward-3.csv": b"case_id,age,sex,cp,trestbps,chol,fbs,restecg,"
                                           b"thalach,exang,oldpeak,slope,ca,thal\n"
                                           b"C-0042,67,1,4,160,286,0,2,108,1,1.5,2,3,3\n"})]
    for model, files in inputs:
        [name] = files
        labels = input_labels(model, name, files)
        shown = {labels.case(), labels.case(1), *labels.patients()}
        assert shown & {"ACC-5521", "C-0042"}  # the label the page shows is the stated one
        log = AuditLog(tmp_path / f"{model.card.id}.jsonl")
        log.append(model.predict(files), model.card, files, "s-1")
        text = log.path.read_text()
        for label in shown:
            assert label not in text, label
