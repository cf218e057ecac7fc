"""The case pages' PDF report button (dxui.report) and the records page's case-file
templates (dxui.records.templates_section). What a report holds: tests/test_pdf_report.py."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app_pages.conftest import open_app

PREPARE, DOWNLOAD = "Prepare a PDF report", "Download the PDF report"


def downloads(app: AppTest) -> list[str]:
    return [button.proto.label for button in app.get("download_button")]


def test_the_chest_xray_page_prepares_then_offers_the_report(cxr_card, test_xray_bytes):
    app = open_app("app_pages/chest_xray.py")
    assert PREPARE not in [button.label for button in app.button]  # nothing to report yet
    app.file_uploader[0].set_value(("x.jpeg", test_xray_bytes, "image/jpeg"))
    app.run()
    assert DOWNLOAD not in downloads(app)  # no PDF is written until asked for
    [prepare] = [button for button in app.button if button.label == PREPARE]
    prepare.click().run()
    assert not app.exception and not app.error
    assert DOWNLOAD in downloads(app)


def test_the_records_page_offers_each_models_templates_and_a_report(heart_card):
    from dxui.records import record_cards

    app = open_app("app_pages/records.py")
    assert not app.exception
    offered = downloads(app)
    assert offered.count("Field guide (CSV)") == len(record_cards()) >= 3
    assert offered.count("Blank case file (CSV header)") == len(record_cards())
    cases = (b"age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal\n"
             b"67,1,4,160,286,0,2,108,1,1.5,2,3,3\n41,0,2,130,204,0,2,172,0,1.4,1,0,3\n")
    app.file_uploader[0].set_value(("cases.csv", cases, "text/csv"))
    app.run()
    [prepare] = [button for button in app.button if button.label == PREPARE]
    prepare.click().run()
    assert not app.exception and not app.error
    assert DOWNLOAD in downloads(app)


def test_preparing_a_report_logs_no_second_answer(cxr_card, test_xray_bytes, tmp_path,
                                                  monkeypatch):
    """The page logs the answer it shows; the report's own reading of the same upload is
    not a new answer (it would take the place of the page's as the entry a sign-off refers
    to)."""
    from dxcore.audit import AuditLog

    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("DX_AUDIT_LOG", str(log))
    app = open_app("app_pages/chest_xray.py")
    app.file_uploader[0].set_value(("x.jpeg", test_xray_bytes, "image/jpeg"))
    app.run()
    before = list(AuditLog(log).entries())
    [prepare] = [button for button in app.button if button.label == PREPARE]
    prepare.click().run()
    assert not app.exception and DOWNLOAD in downloads(app)
    assert len(before) == 1 and list(AuditLog(log).entries()) == before
