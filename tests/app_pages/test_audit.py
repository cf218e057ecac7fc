"""The audit page, and the dashboard's hook (dxui.results.analyse): every prediction logged
once, nothing identifying in the log, the page listing, checking and exporting it."""

from __future__ import annotations

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
