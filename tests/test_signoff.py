"""Clinicians' sign-offs in the audit trail (dxcore.signoff): the entry, chained and
referencing its answer; each bad sign-off refused with one DxError and nothing written; a
later sign-off superseding an earlier one; the index that finds the latest; who signs; the
CLI's ``audit sign``; the PDF's sign-off line. The page's form: tests/app_pages/test_signoff.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dxcore.audit import AuditLog, export_csv, is_answer, verify
from dxcore.errors import DxError
from dxcore.signoff import (
    AGREE,
    KIND,
    MAX_REASON,
    OVERRIDE,
    Answer,
    Signer,
    SignOffIndex,
    find_entry,
    latest_sign_offs,
    sign_off,
    sign_offs,
    signer_of,
)
from tests.test_audit import main_out

CLASSES = ["NORMAL", "PNEUMONIA"]
WARD = Signer("Dr Ward", authenticated=False)


def answer_fields(prediction: str = "PNEUMONIA", input_sha256: str = "i" * 64) -> dict:
    return {"session": "s-test", "model": "cxr-pneumonia", "model_version": "2026-01-01",
            "weights_sha256": "w" * 64, "input_sha256": input_sha256,
            "output": [{"prediction": prediction,
                        "probabilities": {"NORMAL": 0.2, "PNEUMONIA": 0.8}}]}


# A case table's answer of a model not installed here: its classes are read from the answer.
TABLE = {"session": "s-test", "model": "plugin-table", "model_version": "2026-01-01",
         "weights_sha256": "h" * 64, "input_sha256": "t" * 64,
         "output": [{"row": 1, "prediction": "present", "probabilities": {"absent": 0.3,
                                                                          "present": 0.7}},
                    {"row": 2, "prediction": "absent", "probabilities": {"absent": 0.9,
                                                                         "present": 0.1}},
                    {"row": 3, "code": "out_of_domain"}]}


@pytest.fixture
def log(tmp_path) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append_entry(answer_fields())
    log.append_entry(TABLE)
    return log


def answer_of(log: AuditLog, index: int = 0) -> Answer:
    return Answer.of(log.entries()[index])


def test_a_sign_off_is_a_chained_entry_that_references_its_answer(log):
    answer = answer_of(log)
    entry = sign_off(log, answer, OVERRIDE, WARD, override_class="NORMAL",
                     reason="  clear lungs,\n no consolidation ", class_names=CLASSES,
                     session="s-1")
    entries = log.entries()
    assert entries[-1] == entry and entry["prev"] == entries[-2]["hash"] and verify(log.path).ok
    assert entry["kind"] == KIND and entry["answer"] == entries[0]["hash"]
    # What it holds: the answer's hashes, the decision, the class, the reason, who and when;
    # no output, no file name, nothing of the input.
    assert set(entry) == {"time", "kind", "answer", "model", "weights_sha256", "input_sha256",
                          "decision", "override_class", "reason", "signed_by",
                          "authenticated", "session", "prev", "hash"}
    assert (entry["decision"], entry["override_class"], entry["reason"]) == (
        OVERRIDE, "NORMAL", "clear lungs, no consolidation")
    assert (entry["signed_by"], entry["authenticated"]) == ("Dr Ward", False)
    assert not is_answer(entry)


def test_an_agreement_needs_no_reason_and_a_table_row_is_named(log):
    agreed = sign_off(log, answer_of(log), AGREE, WARD, class_names=CLASSES)
    assert agreed["decision"] == AGREE and "reason" not in agreed and "override_class" not in agreed
    row = sign_off(log, answer_of(log, 1), OVERRIDE, WARD, override_class="Present", row=2,
                   reason="ST depression on exercise", class_names=["absent", "present"])
    assert (row["row"], row["override_class"]) == (2, "present")  # the code, in any case


REFUSED = {
    "an override without a reason": (dict(decision=OVERRIDE, override_class="NORMAL"),
                                     "needs a reason"),
    "an override to a class the model lacks": (
        dict(decision=OVERRIDE, override_class="COVID", reason="looks viral"),
        "has no class 'COVID'"),
    "an override to the model's own answer": (
        dict(decision=OVERRIDE, override_class="PNEUMONIA", reason="x"), "model's own answer"),
    "an override without a class": (dict(decision=OVERRIDE, reason="x"), "which class"),
    "an agreement with a class": (dict(decision=AGREE, override_class="NORMAL"),
                                  "overrides no class"),
    "an unknown decision": (dict(decision="maybe"), "agrees or overrides"),
    "no signer": (dict(decision=AGREE, signer=Signer("  ", False)), "who signs off"),
    "a reason too long": (dict(decision=OVERRIDE, override_class="NORMAL",
                               reason="x" * (MAX_REASON + 1)), "characters long"),
    "a row of an answer without rows": (dict(decision=AGREE, row=4), "has no row 4"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_each_bad_sign_off_is_one_dx_error_and_nothing_is_written(log, case):
    arguments, words = REFUSED[case]
    before = log.path.read_text()
    options = {"signer": WARD, "class_names": CLASSES, **arguments}
    with pytest.raises(DxError, match=words):
        sign_off(log, answer_of(log), options.pop("decision"), options.pop("signer"),
                 **options)
    assert log.path.read_text() == before


@pytest.mark.parametrize("row, words", [(None, "3 rows of a case table"), (7, "has no row 7"),
                                        (3, "declined it: out_of_domain")])
def test_a_table_answer_needs_a_row_it_answered(log, row, words):
    with pytest.raises(DxError, match=words):
        sign_off(log, answer_of(log, 1), AGREE, WARD, row=row)


@pytest.mark.parametrize("reason", ["born 12.03.1950", "MRN 00482913", "NHS 943 476 5919",
                                    "phone 0161-555-0199", "ask jane.doe@example.org"])
def test_a_reason_that_looks_like_an_identifier_is_refused(log, reason):
    with pytest.raises(DxError, match="must not name the patient"):
        sign_off(log, answer_of(log), OVERRIDE, WARD, override_class="NORMAL", reason=reason,
                 class_names=CLASSES)


def test_only_an_answer_can_be_signed_off(log):
    signed = sign_off(log, answer_of(log), AGREE, WARD, class_names=CLASSES)
    with pytest.raises(DxError, match="is a sign-off, not a model's answer"):
        Answer.of(signed)
    with pytest.raises(DxError, match="holds no model's answer"):
        Answer.of({"hash": "ab" * 32, "note": "another kind"})


def test_an_entry_is_found_by_its_hash_or_a_prefix(log):
    first = log.entries()[0]
    assert find_entry(log.path, first["hash"]) == first
    assert find_entry(log.path, first["hash"][:8].upper()) == first
    with pytest.raises(DxError, match="at least its first 8"):
        find_entry(log.path, first["hash"][:5])
    with pytest.raises(DxError, match="has a hash starting with"):
        find_entry(log.path, "0" * 64)


def test_a_later_sign_off_supersedes_and_both_stay(log):
    answer = answer_of(log)
    first = sign_off(log, answer, AGREE, WARD, class_names=CLASSES)
    index = SignOffIndex(log.path).refresh()
    assert index.latest(answer.key()).hash == first["hash"]
    second = sign_off(log, answer, OVERRIDE, Signer("Dr Second", True),
                      override_class="NORMAL", reason="second look", class_names=CLASSES)
    assert index.refresh().latest(answer.key()).hash == second["hash"]
    assert index.version(*answer.key()[:3]) == second["hash"]
    assert [e.get("decision") for e in log.entries()] == [None, None, AGREE, OVERRIDE]
    assert latest_sign_offs(log.entries())[answer.key()].signer == Signer("Dr Second", True)
    assert verify(log.path).ok


def test_the_index_reads_what_is_appended_and_starts_again_on_a_new_log(log, tmp_path):
    answer = answer_of(log)
    index = SignOffIndex(log.path).refresh()
    assert index.latest(answer.key()) is None
    with open(log.path, "ab") as handle:  # a line still being written is not read yet
        handle.write(b'{"kind": "sign-off"')
    assert index.refresh().latest(answer.key()) is None
    replaced = log.path.read_text().rsplit("\n", 1)[0] + "\n"
    log.path.unlink()
    log.path.write_text(replaced)  # another file (a restored log)
    sign_off(log, answer, AGREE, WARD, class_names=CLASSES)
    assert index.refresh().latest(answer.key()).decision == AGREE
    log.path.unlink()
    assert index.refresh().latest(answer.key()) is None


def test_the_configured_index_is_none_when_the_trail_is_off(monkeypatch, log):
    assert sign_offs() is None  # tests/conftest.py turns the trail off
    monkeypatch.setenv("DX_AUDIT_LOG", str(log.path))
    assert sign_offs() is sign_offs() and sign_offs().path == log.path


def test_the_csv_export_holds_every_field_whole(log):
    reason = "a long reason " * 30
    sign_off(log, answer_of(log, 1), OVERRIDE, WARD, override_class="absent", row=1,
             reason=reason, class_names=["absent", "present"])
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(export_csv(log.entries()))))
    assert rows[-1]["reason"] == " ".join(reason.split()) and rows[-1]["row"] == "1"
    assert rows[-1]["authenticated"] == "false" and rows[-1]["signed_by"] == "Dr Ward"
    assert json.loads(rows[1]["output"]) == TABLE["output"]
    assert rows[0]["reason"] == ""  # an answer has none


class FakeUser(dict):
    """What ``st.user`` is to :func:`signer_of`: a mapping of the sign-on's claims."""


@pytest.mark.parametrize("user, typed, expected", [
    (FakeUser(is_logged_in=True, name="Dr Oidc", email="o@x.org"), "typed",
     Signer("Dr Oidc", True)),
    (FakeUser(is_logged_in=True, preferred_username="oidc-user"), None,
     Signer("oidc-user", True)),
    (FakeUser(is_logged_in=True), "Dr Typed", Signer("Dr Typed", False)),  # no name claim
    (FakeUser(is_logged_in=False), "Dr Typed", Signer("Dr Typed", False)),
    (FakeUser(email="test@example.com"), "Dr Typed", Signer("Dr Typed", False)),  # no sign-on
    (FakeUser(is_logged_in="true", name="forged"), "", None),  # only a real True counts
])
def test_who_signs(user, typed, expected):
    assert signer_of(user, typed) == expected


def test_a_sign_off_is_no_answer_to_the_site_prevalence(tmp_path):
    """The audit trail's prior (dxcore.site_prior) reads answers only: a sign-off, which
    repeats its answer's model, weights and input hashes, must not hide that answer."""
    from dxcore.site_prior import MIN_AUDIT_ANSWERS, audit_prior

    class Card(dict):
        id, class_names = "cxr-pneumonia", CLASSES

    class Shift:
        def estimate(self, rows, source):
            return rows

    log = AuditLog(tmp_path / "a.jsonl")
    for k in range(MIN_AUDIT_ANSWERS):
        answer = Answer.of(log.append_entry(answer_fields(input_sha256=f"{k:064x}")))
        sign_off(log, answer, AGREE, WARD, class_names=CLASSES)
    rows = audit_prior(Card(weights_sha256="w" * 64), Shift(), log.entries())
    assert rows is not None and len(rows) == MIN_AUDIT_ANSWERS
    assert np.allclose(rows, [0.2, 0.8])


# --- python -m dxcore audit sign ----------------------------------------------------------


def sign(capsys, log: AuditLog, *arguments: str) -> tuple[int, str]:
    return main_out(capsys, "audit", "sign", *arguments, "--log", str(log.path))


def test_audit_sign_agrees_and_overrides_from_the_cli(capsys, log):
    answer, table = log.entries()[:2]
    status, out = sign(capsys, log, answer["hash"][:12], "--agree", "--by", "Dr Ward")
    assert status == 0 and "agreed by Dr Ward (unauthenticated)" in out
    status, out = sign(capsys, log, table["hash"], "--override", "absent", "--row", "1",
                       "--reason", "normal ECG at rest", "--by", "Dr Ward")
    assert status == 0 and "row 1 overridden to absent" in out
    entries = log.entries()
    assert [e["answer"] for e in entries[2:]] == [answer["hash"], table["hash"]]
    assert entries[-1]["hash"] in out and verify(log.path).ok


@pytest.mark.parametrize("arguments, words", [
    (["--override", "NORMAL", "--by", "W"], "needs a reason"),
    (["--override", "COVID", "--reason", "x", "--by", "W"], "has no class 'COVID'"),
    (["--agree", "--reason", "DOB 1979-04-12", "--by", "W"], "must not name the patient"),
])
def test_audit_sign_refuses_with_one_message_and_status_1(capsys, log, arguments, words):
    before = log.path.read_text()
    status, out = sign(capsys, log, log.entries()[0]["hash"], *arguments)
    assert status == 1 and words in out and "Traceback" not in out
    assert out.count("\n") == 1 and log.path.read_text() == before


def test_audit_sign_refuses_an_unknown_entry_a_sign_off_and_a_missing_log(capsys, log,
                                                                         tmp_path):
    status, out = sign(capsys, log, "deadbeef", "--agree", "--by", "W")
    assert status == 1 and "has a hash starting with deadbeef" in out
    signed = sign_off(log, answer_of(log), AGREE, WARD, class_names=CLASSES)
    status, out = sign(capsys, log, signed["hash"], "--agree", "--by", "W")
    assert status == 1 and "is a sign-off" in out
    missing = Path(tmp_path / "none.jsonl")
    status, out = main_out(capsys, "audit", "sign", "abcdef12", "--agree", "--by", "W",
                           "--log", str(missing))
    assert status == 1 and "There is no audit log" in out and not missing.exists()


@pytest.mark.parametrize("arguments", [["--agree", "--override", "NORMAL", "--by", "W"],
                                       ["--by", "W"], ["--agree"]])
def test_audit_sign_usage_errors_exit_2_as_every_command_s(capsys, log, arguments):
    with pytest.raises(SystemExit) as stopped:
        sign(capsys, log, log.entries()[0]["hash"], *arguments)
    assert stopped.value.code == 2
    assert "usage:" in capsys.readouterr().err


# --- The PDF's sign-off line ---------------------------------------------------------------


def test_the_pdf_reports_say_each_case_s_sign_off(monkeypatch, tmp_path, heart_model):
    from dxcore.pdf_report import case_report, cases_of, worklist_report
    from tests.helpers import text_of
    from tests.test_pdf_report import CASES

    files = {"cases.csv": CASES}
    result = heart_model.predict(files)
    log = AuditLog(tmp_path / "audit.jsonl")
    monkeypatch.setenv("DX_AUDIT_LOG", str(log.path))
    cases = cases_of(heart_model, files, result, explain=False)
    assert "Clinician's sign-off: none yet in the audit trail." in text_of(
        case_report(cases[:1]))[0]
    answer = Answer.of(log.append(result, heart_model.card, files, "s-1"))
    card = heart_model.card
    other = next(name for name in card.class_names if name != answer.predictions[2])
    sign_off(log, answer, OVERRIDE, WARD, override_class=other, row=2,
             reason="borderline stress test")
    # The summary page, then each case's page(s), each opening with its heading.
    _, *case_pages = " ".join(text_of(worklist_report(cases))).split("Dx case report - case ")
    by_row = {case.row: text for case, text in zip(cases, case_pages, strict=True)}
    assert ("Signed off by Dr Ward (unauthenticated) at " in by_row[2]
            and f"overridden to {card.class_label(other)} (reason: borderline stress test)"
            in by_row[2])
    assert "Clinician's sign-off: none yet" in by_row[1]
    monkeypatch.setenv("DX_AUDIT_LOG", "off")
    assert "not recorded (the audit trail is off)" in text_of(case_report(cases[:1]))[0]
