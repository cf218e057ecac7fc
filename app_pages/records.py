"""Case records: upload a table of cases (CSV, Excel or JSON; its columns mapped to a
model's fields when its headers are not the model's) or fill in a form, see each case's
calibrated prediction, how unlike the training cohort it is, and which fields pushed the
prediction which way; for many cases, a sortable table, a drill-down and a CSV download."""

import streamlit as st

from dxui import records, report, results
from dxui.common import (
    model_card_section,
    models_table,
    research_notice,
    show_error,
    target_warning,
)
from dxui.navigation import RECORDS as PAGE

st.title(PAGE.heading)
st.caption("A case's clinical findings and lab values, or a gene-expression profile (one "
           "case per row), read by a record model: heart disease, chronic kidney disease, or "
           "the type of acute leukaemia.")
research_notice()

try:
    cards = records.record_cards()
except Exception as error:
    show_error(error)
    st.stop()
if not cards:
    st.info(records.NO_MODELS, icon=":material/info:")
    st.stop()

mode = st.radio("Input", [records.UPLOAD, records.FORM], horizontal=True, key="records_mode")
records.templates_section(cards)
if mode == records.UPLOAD:
    model_id, upload = records.upload_input(cards)
else:
    model_id, upload = records.form_input(cards)

result = None
if upload is not None and model_id is not None:
    try:
        result = results.analyse(model_id, upload)
    except Exception as error:
        show_error(error)
if result is not None:
    target_warning(cards[model_id])
    records.cases_section(cards[model_id], upload, result)
    report.report_button(model_id, upload)

st.divider()
if model_id is None:
    st.subheader("Case-record models")
    st.table(models_table(list(cards.values())), hide_index=True, border="horizontal")
    st.caption("The page picks one of these from the uploaded file's columns; its model card "
               "is shown here once it has.")
else:
    model_card_section(cards[model_id])
    records.site_performance(cards[model_id])
