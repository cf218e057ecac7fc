"""The clinician's sign-off under each case view (dxui.signoff): agree, override with a
reason, an override without one refused, the reader's name asked once per session, the
signed-in user's name under sign-on (``st.user``, as AppTest sets it: no OIDC provider here),
a case table's row, the trail off; the worklist's sign-off column. The entries themselves:
tests/test_signoff.py."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dxcore.audit import AuditLog, verify
from dxcore.signoff import AGREE, KIND, OVERRIDE, REASON_RULE
from dxui import signoff
from tests.app_pages.conftest import open_app, shown
from tests.app_pages.test_records import CASES, csv_bytes
from tests.drops import HEART_CASES, short_record


@pytest.fixture
def log(monkeypatch, tmp_path) -> AuditLog:
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("DX_AUDIT_LOG", str(path))
    return AuditLog(path)


def xray_page(test_xray_bytes: bytes, user: dict | None = None) -> AppTest:
    app = open_app(None)
    if user is not None:  # what st.user says from the next run on
        app.user = user
    app.switch_page("app_pages/chest_xray.py").run()
    app.file_uploader[0].set_value(("scan.jpeg", test_xray_bytes, "image/jpeg"))
    return app.run()


def widget(elements, label: str):
    [found] = [element for element in elements if element.label == label]
    return found


def sign(app: AppTest, decision: str, override: str | None = None, reason: str = "",
         name: str | None = None) -> AppTest:
    """Fill in the page's (only) sign-off form and submit it."""
    widget(app.radio, "Your reading").set_value(decision)
    if override is not None:
        widget(app.selectbox, "Override to").set_value(override)
    widget(app.text_input, "Reason").input(reason)
    if name is not None:
        widget(app.text_input, "Your name").input(name)
    widget(app.button, "Sign off").click()
    return app.run()


def sign_offs(log: AuditLog) -> list[dict]:
    return [entry for entry in log.entries() if entry.get("kind") == KIND]


def texts(elements) -> list[str]:
    return [shown(element.value) for element in elements]


def test_an_xray_is_agreed_then_overridden_and_the_name_is_asked_once(log, cxr_card,
                                                                     test_xray_bytes):
    app = xray_page(test_xray_bytes)
    assert not app.exception
    assert any(REASON_RULE in caption for caption in texts(app.caption))  # on the form
    [answer] = log.entries()
    predicted = answer["output"][0]["prediction"]
    other = next(name for name in cxr_card.class_names if name != predicted)

    sign(app, AGREE)  # no name yet: nothing recorded
    assert "Enter your name to sign off." in texts(app.error) and not sign_offs(log)

    sign(app, AGREE, name="Dr Ward")
    assert not app.exception and not app.error
    [agreed] = sign_offs(log)
    assert (agreed["answer"], agreed["decision"]) == (answer["hash"], AGREE)
    assert (agreed["signed_by"], agreed["authenticated"]) == ("Dr Ward", False)
    assert agreed["session"] == answer["session"]
    [state] = [text for text in texts(app.success) if text.startswith("Signed off by")]
    assert state.startswith("Signed off by Dr Ward (unauthenticated) at ")
    assert state.endswith(": agreed")
    # The name is the session's now: not asked again.
    assert "Your name" not in [element.label for element in app.text_input]
    assert "Signing as Dr Ward (unauthenticated)." in texts(app.caption)

    sign(app, OVERRIDE, override=other)  # no reason: refused, nothing written
    assert any("needs a reason" in text for text in texts(app.error))
    assert len(sign_offs(log)) == 1

    sign(app, OVERRIDE, override=other, reason="clear lung fields")
    assert not app.error
    overridden = sign_offs(log)[-1]
    assert (overridden["decision"], overridden["override_class"], overridden["reason"]) == (
        OVERRIDE, other, "clear lung fields")
    [state] = [text for text in texts(app.warning) if text.startswith("Signed off by")]
    assert state.endswith(f"overridden to {other} (reason: clear lung fields)")
    assert len(log.entries()) == 3 and verify(log.path).ok  # the answer logged once


def test_the_signed_in_user_signs_authenticated(log, cxr_card, test_xray_bytes):
    app = xray_page(test_xray_bytes, user={"is_logged_in": True, "name": "Dr Oidc",
                                           "email": "oidc@example.org"})
    assert "Your name" not in [element.label for element in app.text_input]
    assert "Signing as Dr Oidc (signed in)." in texts(app.caption)
    sign(app, AGREE)
    [agreed] = sign_offs(log)
    assert (agreed["signed_by"], agreed["authenticated"]) == ("Dr Oidc", True)


def test_a_logged_out_user_under_sign_on_is_offered_to_sign_in(log, cxr_card,
                                                                test_xray_bytes):
    app = xray_page(test_xray_bytes, user={"is_logged_in": False})
    assert "Sign in" in [button.label for button in app.button]
    assert "Your name" in [element.label for element in app.text_input]  # or type a name


def test_without_the_trail_there_is_nothing_to_sign(cxr_card, test_xray_bytes):
    app = xray_page(test_xray_bytes)  # the test suite turns the trail off
    assert not app.exception
    assert signoff.TRAIL_OFF in texts(app.caption)
    assert "Sign off" not in [button.label for button in app.button]


def test_a_case_table_row_is_signed_off_on_its_own(log, heart_card):
    app = open_app("app_pages/records.py")
    app.file_uploader[0].set_value(("cases.csv", csv_bytes(*CASES), "text/csv"))
    app.run()
    app.selectbox(key=next(box.key for box in app.selectbox
                           if box.key and box.key.startswith("records_case_"))).set_value(3)
    app.run()
    sign(app, AGREE, name="Dr Ward")
    assert not app.exception and not app.error
    [agreed] = sign_offs(log)
    assert agreed["row"] == 3 and agreed["answer"] == log.entries()[0]["hash"]


def test_the_worklist_shows_each_row_s_sign_off(log, cxr_card, heart_card, test_xray_bytes):
    app = open_app(None)
    app.file_uploader[0].set_value([("chest.jpeg", test_xray_bytes, "image/jpeg"),
                                    ("cases.csv", HEART_CASES, "text/csv")]).run()
    app.button[0].click().run()  # open as a worklist
    table = app.dataframe[0].value
    assert table["Sign-off"].tolist() == ["—"] * 4
    app.selectbox(key="worklist_case").select_index(0).run()  # the image
    sign(app, AGREE, name="Dr Ward")
    assert not app.exception and not app.error
    assert app.dataframe[0].value["Sign-off"].tolist() == ["agreed", "—", "—", "—"]
    row = next(i for i, case in enumerate(app.dataframe[0].value["Case"])
               if case.endswith("row 2"))
    app.selectbox(key="worklist_case").select_index(row).run()
    predicted = next(entry for entry in log.entries() if entry.get("model") == "heart-disease"
                     and "output" in entry)["output"][1]["prediction"]
    other = next(name for name in heart_card.class_names if name != predicted)
    sign(app, OVERRIDE, override=other, reason="borderline stress test")
    assert not app.error
    column = app.dataframe[0].value["Sign-off"].tolist()
    assert column[row] == f"overridden to {heart_card.class_label(other)}"
    assert column.count("—") == 2


def test_an_ecg_record_is_signed_off_under_its_summary(log, ecg_card, mitdb_root):
    app = open_app("app_pages/ecg.py")
    app.file_uploader[0].set_value([(name, data, "application/octet-stream")
                                    for name, data in short_record(mitdb_root, 20).items()])
    app.run()
    assert not app.exception
    # Beat counts are no one class: every class of the model is offered for an override.
    assert widget(app.selectbox, "Override to").options == [
        ecg_card.class_label(name) for name in ecg_card.class_names]
    sign(app, AGREE, name="Dr Ward")
    assert not app.exception and not app.error
    [answer, agreed] = log.entries()
    assert agreed["answer"] == answer["hash"] and "row" not in agreed
