"""Home: what the dashboard is, the drop zone for any files, the shipped models with their
test metrics, the task pages. Shown without TensorFlow until files are dropped."""

import streamlit as st

from dxcore import list_cards
from dxui import drop
from dxui.common import models_table, research_notice, show_error
from dxui.navigation import DROP_PAGES, HOME, PATIENT, TASK_PAGES, WORKLIST

st.title(HOME.heading)
st.markdown(
    "An open-source dashboard that shows how AI models read medical data. Each model is "
    "shipped with a **model card**: the public data it was trained on, its performance on a "
    "held-out test set with 95% confidence intervals, its intended use and its limitations. "
    "Every prediction comes with its probability (temperature-scaled on held-out data; the "
    "Models page shows how well it matches the test set's frequencies), the decision "
    "threshold and a map of the regions that drove it."
)
research_notice()

st.subheader("Drop anything")
files = drop.drop_zone("home_drop", "Drop images, ECG records, case tables or a ZIP")
intake = drop.sort_out(files) if files else None
if intake is not None:
    if intake.cases:
        st.dataframe(drop.routing_table(intake), hide_index=True)
        st.caption("Each file is recognised by its content and read by the model shown.")
        intake = drop.asked_section(files, intake)  # an ECG CSV's sampling rate, right here
        worklist_column, patient_column = st.columns(2)
        if worklist_column.button(drop.worklist_label(intake), icon=WORKLIST.icon,
                                  type="primary"):
            st.switch_page(WORKLIST.path)
        # Offered only for what looks like one patient's files; a batch is a worklist.
        if intake.one_patient() and patient_column.button("Open as one patient",
                                                          icon=PATIENT.icon):
            st.switch_page(PATIENT.path)
    drop.show_problems(intake)
    drop.mapping_offers(intake)  # a table of unknown columns: map them on Case records

st.subheader("Shipped models")
try:
    cards = list_cards()
except Exception as error:  # a damaged card: say so instead of a traceback
    show_error(error)
    cards = []
if cards:
    st.table(models_table(cards), hide_index=True, border="horizontal")
    st.caption(
        "Metrics on each model's official test split, never used for training or for any "
        "choice; 95% bootstrap confidence intervals in brackets."
    )
else:
    st.info("No models are installed yet. Train one with `python -m dxcore train "
            "cxr-pneumonia`.")

st.subheader("Tasks")
columns = st.columns(max(3, len(TASK_PAGES)))
for column, page in zip(columns, TASK_PAGES, strict=False):
    with column.container(border=True):
        st.markdown(f"**{page.title}**")
        st.caption(page.summary)
        st.page_link(page.path, label=f"Open {page.title}", icon=":material/arrow_forward:")
st.caption(" · ".join(f"**{page.title}**: {page.summary}" for page in DROP_PAGES))
