"""The PDF report button of the case pages (:mod:`dxcore.pdf_report`): one click prepares
the report of the result on show (its explanations included), a second downloads it; the
PDF is kept in Streamlit's in-memory cache like every step of the upload path, never on
disk."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dxcore import pdf_report
from dxui import results
from dxui.common import load_model, show_error


@st.cache_data(max_entries=4, ttl=results.CACHE_SECONDS, show_spinner="Writing the report…")
def _pdf(model_id: str, key: str, read_options: dict[str, Any], options: dict[str, Any],
         _upload: results.Upload) -> bytes:
    result = results.analyse(model_id, _upload, read_options, **options)
    cases = pdf_report.cases_of(load_model(model_id), _upload.files, result)
    return (pdf_report.worklist_report(cases) if len(cases) > 1
            else pdf_report.case_report(cases))


def report_button(model_id: str, upload: results.Upload,
                  read_options: dict[str, Any] | None = None, **options: Any) -> None:
    """"Prepare the PDF report", then "Download the PDF report" of ``model_id``'s result on
    the upload (read and predicted with the same options as the page's)."""
    tag = f"{model_id}_{upload.key[:12]}"
    prepared = f"dx_report_{tag}"
    if not st.session_state.get(prepared):
        if st.button("Prepare a PDF report", key=f"dx_report_prepare_{tag}",
                     icon=":material/picture_as_pdf:",
                     help="The input without identifiers, the prediction, its explanation, "
                          "the model's test metrics and limitations, and the hashes that tie "
                          "the report to the input and the weights."):
            st.session_state[prepared] = True
            st.rerun()
        return
    try:
        data = _pdf(model_id, upload.key, read_options or {}, options, upload)
    except Exception as error:
        show_error(error)
        return
    st.download_button("Download the PDF report", data, file_name=f"dx-report-{model_id}.pdf",
                       mime="application/pdf", key=f"dx_report_download_{tag}",
                       icon=":material/download:", on_click="ignore")
