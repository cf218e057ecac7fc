"""Patient view: the files of one patient (an X-ray, an ECG record, a case record) on one
page, each with its own model's answer, prediction set and explanation; no model fuses them."""

import streamlit as st

from dxui import drop, patient, report, worklist
from dxui.common import research_notice, show_error
from dxui.navigation import PATIENT as PAGE
from dxui.results import upload_key

st.title(PAGE.heading)
st.caption(PAGE.summary)
research_notice()
st.info(patient.NOT_FUSED, icon=":material/call_split:")

files = drop.drop_zone("patient_drop", "Drop one patient's files")
if not files:
    st.info("Drop one patient's files (here or on the home page): an X-ray, an ECG record, "
            "a case record.", icon=":material/upload_file:")
    st.stop()
try:
    intake, outcomes = worklist.run(files)
except Exception as error:
    show_error(error)
    st.stop()
drop.show_problems(intake)
if outcomes:  # one report of every input (each its own model's answer: still not fused)
    report.drop_report_button(outcomes, upload_key(files), worklist=False)
images = sum(outcome.case.kind == "image" for outcome in outcomes)
for outcome in outcomes:
    st.divider()
    st.subheader(patient.heading(outcome))
    patient.outcome_section(outcome, compact=images > 1)
