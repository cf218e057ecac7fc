"""Patient view: the files of one patient (an X-ray, an ECG record, a case record) on one
page, headed by the patient's label, with a summary of every answer and its doubt, then each
input side by side with its own model's answer, prediction set and explanation; no model
fuses them. A drop that looks like several patients opens only on request."""

import streamlit as st

from dxui import drop, patient, report
from dxui.common import research_notice
from dxui.navigation import PATIENT as PAGE

st.title(PAGE.heading)
st.caption(PAGE.summary)
research_notice()

key, run = drop.dropped(
    "patient_drop", "Drop one patient's files",
    "Drop one patient's files (here or on the home page): an X-ray, an ECG record, a case "
    "record.", admit=patient.admitted)
outcomes = run.adapted  # each answer adapted to its model's site prevalence, where it can be
if not outcomes:
    st.stop()
label = patient.header_section(run.labels)
st.info(patient.NOT_FUSED, icon=":material/call_split:")
patient.summary_section(outcomes, run.labels)
# One report of every input (each its own model's answer: still not fused), named as here.
report.drop_report_button(run.outcomes, key, worklist=False, patient=label)
st.divider()
patient.inputs_section(outcomes, run.labels)
