"""The clinician's sign-off, below the answer on every case view: agree with the model, or
override its answer to another class with a reason, recorded in the audit trail
(:mod:`dxcore.signoff`), and once signed, who signed, when and what.

Each modality's view calls :func:`section` under its answer (the chest X-ray and ECG pages,
a case record's view, the patient view and the worklist's drill-down); the worklist's
column reads :func:`status_of`, and the PDF button :func:`report_version`.

Who signs (:func:`dxcore.signoff.signer_of`): the signed-in user when the dashboard runs
behind Streamlit's sign-on (``st.login``, OIDC: ``st.user.is_logged_in``), else a reader
name typed once per session and recorded as unauthenticated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dxcore import audit
from dxcore.audit import ENV, AuditLog
from dxcore.contract import Result
from dxcore.errors import DxError
from dxcore.signoff import (
    AGREE,
    DECISIONS,
    MAX_NAME,
    MAX_REASON,
    OVERRIDE,
    REASON_RULE,
    Answer,
    SignOffIndex,
    sign_off,
    sign_offs,
    signer_of,
)
from dxui import results
from dxui.common import load_model, plain, show_error

READER = "dx_reader_name"  # the name typed once this session (no sign-on)
DECISION_LABELS = {AGREE: "Agree with the model", OVERRIDE: "Override to another class"}
TRAIL_OFF = (f"Sign-off is recorded in the audit trail, which is off on this dashboard "
             f"(`{ENV}=off`).")
NOT_LOGGED = ("This answer is not in the audit trail (it could not be written), so it cannot "
              "be signed off.")
NO_SIGN_ON = "Recorded as unauthenticated: this dashboard runs without sign-on."


def section(model_id: str, upload: results.Upload, result: Result, row: int | None = None,
            options: dict[str, Any] | None = None) -> None:
    """The sign-off of ``model_id``'s answer on the upload (read and predicted with
    ``options``, as :func:`dxui.results.analyse` logged it; None: the latest logged, with
    whatever options; ``row``: a case table's row): its latest sign-off, and the form to sign
    (again)."""
    with st.container(border=True):
        st.markdown("**Clinician's sign-off**")
        log = AuditLog.configured()
        if log is None:
            st.caption(TRAIL_OFF)
            return
        answer = results.logged_answer(model_id, upload, options)
        if answer is None:
            st.caption(NOT_LOGGED)
            return
        latest = sign_offs(log.path).latest(answer.key(answer.row_signed(row)))
        if latest is not None:
            text = latest.text(lambda name: results.class_text(result, name))
            (st.warning if latest.overridden else st.success)(
                plain(text), icon=":material/approval:")
        with st.expander("Sign off again (the later sign-off supersedes)") if latest \
                else st.container():
            _form(log, answer, result, row, f"{model_id}_{upload.key[:12]}_{row}")


def _form(log: AuditLog, answer: Answer, result: Result, row: int | None, tag: str) -> None:
    """Agree or override (a class, a reason), the reader's name when nobody is signed in;
    on submit, the sign-off appended and the page drawn again, or one error saying what to
    mend."""
    signer = signer_of(st.user, st.session_state.get(READER))
    if signer is None and st.user.get("is_logged_in") is False:  # sign-on is configured
        st.button("Sign in", key=f"dx_signin_{tag}", on_click=st.login,
                  icon=":material/login:", help="Sign off under the name your sign-on gives.")
    predicted = answer.predictions.get(answer.row_signed(row))
    others = [name for name in result.class_names if name != predicted]
    with st.form(f"dx_signoff_{tag}", border=False):
        decision = st.radio("Your reading", DECISIONS, horizontal=True,
                            format_func=DECISION_LABELS.get, key=f"dx_signoff_decision_{tag}")
        chosen = st.selectbox("Override to", others, index=None, key=f"dx_signoff_class_{tag}",
                              format_func=lambda name: results.class_text(result, name),
                              placeholder="Choose a class (for an override)")
        reason = st.text_input("Reason", max_chars=MAX_REASON, key=f"dx_signoff_reason_{tag}",
                               placeholder="Required for an override")
        st.caption(REASON_RULE)
        typed = None
        if signer is None:
            typed = st.text_input("Your name", max_chars=MAX_NAME, key=f"dx_signoff_name_{tag}",
                                  help="Asked once per session.")
            st.caption(NO_SIGN_ON)
        else:
            st.caption(f"Signing as {plain(signer.described)}.")
        submitted = st.form_submit_button("Sign off", icon=":material/approval:")
    if not submitted:
        return
    signer = signer or signer_of({}, typed)
    if signer is None:
        st.error("Enter your name to sign off.", icon=":material/error:")
        return
    try:
        sign_off(log, answer, decision, signer,
                 override_class=chosen if decision == OVERRIDE else None, reason=reason,
                 row=row, class_names=result.class_names, session=results.session_pseudonym())
    except DxError as error:
        show_error(error)
        return
    except OSError as error:
        st.warning(f"The sign-off could not be written to the audit log at {log.path} "
                   f"({error.strerror or error}). Tell whoever runs the dashboard.",
                   icon=":material/history:")
        return
    if not signer.authenticated:
        st.session_state[READER] = signer.name  # not asked again this session
    st.rerun()  # the page drawn again with the sign-off (a worklist's column above included)


def status_of(model_id: str, input_sha256: str,
              index: SignOffIndex | None) -> Callable[[int | None], str]:
    """The worklist's sign-off cell of ``model_id``'s answer on the input of that SHA-256,
    by row (None: the input's one answer): "agreed", "overridden to <class>" or "—". The
    model is looked up at the first call (never for an input without an answer)."""
    def status(row: int | None) -> str:
        if index is None:
            return "—"
        card = load_model(model_id).card
        latest = index.latest((card.id, card["weights_sha256"], input_sha256, row))
        return "—" if latest is None else latest.status_text(card.class_label)
    return status


def report_version(model_id: str, files: dict[str, bytes]) -> str | None:
    """What changes when a sign-off of ``model_id``'s answer on ``files`` is made (the hash
    of the latest), so that a PDF report prepared before is written again."""
    index = sign_offs()
    if index is None:
        return None
    card = load_model(model_id).card
    return index.version(card.id, card["weights_sha256"], audit.input_sha256(files))
