"""Patient view: the files of one patient (an X-ray, an ECG record, a case record) on one
page, each with its own model's answer, prediction set and explanation; no model fuses them."""

import streamlit as st

from dxui import drop, patient, report
from dxui.common import research_notice
from dxui.navigation import PATIENT as PAGE

st.title(PAGE.heading)
st.caption(PAGE.summary)
research_notice()
st.info(patient.NOT_FUSED, icon=":material/call_split:")

key, run = drop.dropped(
    "patient_drop", "Drop one patient's files",
    "Drop one patient's files (here or on the home page): an X-ray, an ECG record, a case "
    "record.")
outcomes = run.adapted  # each answer adapted to its model's site prevalence, where it can be
if outcomes:  # one report of every input (each its own model's answer: still not fused)
    report.drop_report_button(run.outcomes, key, worklist=False)
images = sum(outcome.case.kind == "image" for outcome in outcomes)
for outcome in outcomes:
    st.divider()
    st.subheader(patient.heading(outcome))
    patient.outcome_section(outcome, compact=images > 1)
