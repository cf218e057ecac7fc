"""The audit page, and the dashboard's hook (dxui.results.analyse): every prediction logged
once, nothing identifying in the log, the page listing, checking and exporting it."""

from __future__ import annotations

import time

import pytest

from dxcore.audit import AuditLog, verify
from tests.app_pages.conftest import open_app


def test_the_audit_page_says_when_the_trail_is_off():
    app = open_app("app_pages/audit.py")  # the test suite turns the log off
    assert not app.exception
    assert any("off" in info.value for info in app.info)


def test_every_dashboard_prediction_is_logged_once(monkeypatch, tmp_path, cxr_card,
                                                   test_xray_bytes):
    path = tmp_path / "dashboard.jsonl"
    monkeypatch.setenv("DX_AUDIT_LOG", str(path))
    app = open_app("app_pages/chest_xray.py")
    app.file_uploader[0].set_value(("Doe_Jane.jpeg", test_xray_bytes, "image/jpeg"))
    app.run()
    assert not app.exception
    app.run()  # a rerun (a slider, another method) is not a new prediction
    entries = AuditLog(path).entries()
    assert len(entries) == 1 and verify(path).ok
    assert entries[0]["model"] == "cxr-pneumonia" and entries[0]["session"].startswith("s-")
    assert "Doe" not in path.read_text()

    audit_page = open_app("app_pages/audit.py")
    assert not audit_page.exception
    assert any("intact" in success.value for success in audit_page.success)
    shown = audit_page.dataframe[0].value
    assert len(shown) == 1 and shown["Model"][0] == "cxr-pneumonia"
    assert {button.label for button in audit_page.get("download_button")} >= {
        "Download the log (JSON lines)", "Download as CSV"}
    assert path.read_text().count("\n") == 1  # opening the page logged nothing


@pytest.fixture
def server_in_berlin(monkeypatch):
    """The server's local time zone set to Central European Time for the test."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_audit_page_filters_by_date_model_decision_and_sign_off(monkeypatch, tmp_path,
                                                                    server_in_berlin):
    from datetime import date

    from dxcore.audit import local_time_text
    from dxcore.signoff import AGREE, OVERRIDE, Answer, Signer, sign_off

    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("DX_AUDIT_LOG", str(path))
    log = AuditLog(path)

    def answer(time: str, model: str, output: list[dict], sha: str) -> Answer:
        return Answer.of(log.append_entry({
            "time": time, "session": "s-1", "model": model, "model_version": "v1",
            "weights_sha256": "w" * 64, "input_sha256": sha * 64, "output": output}))

    xray = {"probabilities": {"NORMAL": 0.3, "PNEUMONIA": 0.7}}
    first = answer("2026-11-01T10:00:00.000+00:00", "cxr-pneumonia",
                   [{"prediction": "PNEUMONIA", **xray}], "a")
    answer("2026-11-15T10:00:00.000+00:00", "heart-disease",
           [{"row": 1, "prediction": "heart disease"}, {"row": 2, "code": "out_of_domain"}], "b")
    third = answer("2026-12-01T10:00:00.000+00:00", "cxr-pneumonia",
                   [{"prediction": "NORMAL", **xray}], "c")
    sign_off(log, first, AGREE, Signer("Dr Ward", False))
    reason = "subtle opacity in the right lower lobe " * 7  # long: shown and exported whole
    sign_off(log, third, OVERRIDE, Signer("Dr Ward", False), override_class="PNEUMONIA",
             reason=reason)
    entries = log.entries()

    app = open_app("app_pages/audit.py")
    assert not app.exception
    table = app.dataframe[0].value
    assert len(table) == 5
    assert table["Time"].tolist() == [local_time_text(e["time"]) for e in reversed(entries)]
    assert table["Time"].tolist()[-1] == "2026-11-01 11:00:00 CET"  # the server's local time
    assert table["Hash"].tolist() == [e["hash"] for e in reversed(entries)]  # whole
    assert " ".join(reason.split()) in table["Output"].tolist()[0]
    assert table["Sign-off"].tolist()[2:] == ["overridden to PNEUMONIA by Dr Ward "
                                              "(unauthenticated)", "—", "agreed by Dr Ward "
                                              "(unauthenticated)"]

    def kept(**choices) -> list[str]:
        for key, value in choices.items():
            element = {"dates": app.date_input, "models": app.multiselect,
                       "decisions": app.multiselect, "signed": app.selectbox}[key]
            element(key=f"audit_{key}").set_value(value)
        app.run()
        assert not app.exception
        return app.dataframe[0].value["Hash"].tolist()

    hashes = [entry["hash"] for entry in entries]  # answers 0-2, sign-offs 3-4
    assert kept(dates=(date(2026, 11, 1), date(2026, 11, 20))) == [hashes[1], hashes[0]]
    assert kept(dates=(date(2026, 11, 1), date.today()), models=["heart-disease"]) == [
        hashes[1]]
    assert kept(models=[], decisions=["refused"]) == [hashes[1]]
    # A sign-off is kept with its answer's decisions.
    assert kept(decisions=["NORMAL"]) == [hashes[4], hashes[2]]
    assert kept(decisions=[], signed="Overridden") == [hashes[4], hashes[2]]
    assert kept(signed="Agreed") == [hashes[3], hashes[0]]
    assert kept(signed="Not signed off") == [hashes[1]]
    labels = [button.label for button in app.get("download_button")]
    assert "Download the 1 entries shown (CSV)" in labels
    assert "Download the 1 entries shown (JSON lines)" in labels
