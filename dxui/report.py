"""The PDF report button of the case pages (:mod:`dxcore.pdf_report`): one click prepares
the report of the result on show (its explanations included), a second downloads it; the
PDF is kept in Streamlit's in-memory cache like every step of the upload path, never on
disk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dxcore import pdf_report
from dxcore.contract import Result
from dxcore.intake import Outcome
from dxcore.labels import input_labels
from dxui import results, signoff
from dxui.common import load_model, show_error
from dxui.server import import_core


@st.cache_data(max_entries=4, ttl=results.CACHE_SECONDS, show_spinner="Writing the report…")
def _pdf(model_id: str, key: str, read_options: dict[str, Any], options: dict[str, Any],
         signed: str | None, _upload: results.Upload) -> bytes:
    # ``signed`` (the latest sign-off's hash) keys the report too: a sign-off writes it anew.
    import_core()  # the report's saliency maps read the Keras network
    # the page logged the answer it showed: the report's reading is not a new answer, and
    # must not take its place as the entry a sign-off refers to
    result = results.analyse(model_id, _upload, read_options, audited=False, **options)
    cases = pdf_report.cases_of(load_model(model_id), _upload.files, result)
    return (pdf_report.worklist_report(cases) if len(cases) > 1
            else pdf_report.case_report(cases))


def report_button(model_id: str, upload: results.Upload,
                  read_options: dict[str, Any] | None = None, **options: Any) -> None:
    """"Prepare the PDF report", then "Download the PDF report" of ``model_id``'s result on
    the upload (read and predicted with the same options as the page's)."""
    prepare_then_download(
        f"{model_id}_{upload.key[:12]}", f"dx-report-{model_id}.pdf",
        lambda: _pdf(model_id, upload.key, read_options or {}, options,
                     signoff.report_version(model_id, upload.files), upload))


def drop_report_button(outcomes: list[Outcome], key: str, worklist: bool,
                       patient: str | None = None) -> None:
    """The same for a drop (``key`` names it): a worklist's report, a summary page then one
    page per case, or one patient's (named ``patient`` on every page when given), a page
    per input; each case is labelled as on the page, and a case its model could not answer
    says why."""
    def build() -> bytes:
        with st.spinner("Writing the report…"):
            import_core()  # the report's explanations read the Keras networks
            cases = []
            for outcome in outcomes:
                model, case = load_model(outcome.model_id), outcome.case
                if isinstance(outcome.result, Result):
                    cases += pdf_report.cases_of(model, case.files, outcome.result,
                                                 name=case.name)
                else:
                    label = input_labels(model, case.name, case.files).case()
                    cases.append(pdf_report.Case(model, case.files, error=outcome.result,
                                                 label=label))
            if worklist:
                return pdf_report.worklist_report(cases)
            return pdf_report.case_report(cases, patient)

    name = "worklist" if worklist else "patient"
    prepare_then_download(f"{name}_{key[:12]}", f"dx-{name}-report.pdf", build)


def prepare_then_download(tag: str, file_name: str, build: Callable[[], bytes]) -> None:
    """A "Prepare a PDF report" button; once clicked, the report ``build`` writes behind a
    download button (it is written only when asked for: explanations take time)."""
    prepared = f"dx_report_{tag}"
    if not st.session_state.get(prepared):
        if st.button("Prepare a PDF report", key=f"dx_report_prepare_{tag}",
                     icon=":material/picture_as_pdf:",
                     help="The case's label (its file name, accession number or ID: the "
                          "report holds identifiers and is clinical data), the input as the "
                          "model saw it, the prediction, its explanation, the model's test "
                          "metrics and limitations, and the hashes that tie the report to the "
                          "input and the weights."):
            st.session_state[prepared] = True
            st.rerun()
        return
    try:
        data = build()
    except Exception as error:
        show_error(error)
        return
    st.download_button("Download the PDF report", data, file_name=file_name,
                       mime="application/pdf", key=f"dx_report_download_{tag}",
                       icon=":material/download:", on_click="ignore")
