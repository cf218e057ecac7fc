"""Worklist: many cases at once (the home page's drop, or files dropped here), each read by
its model in batches and adapted to the site's prevalence the drop shows, one sortable table
with triage orderings and filters, a CSV download, and the full view of the case picked."""

import streamlit as st

from dxui import drop, patient, report, worklist
from dxui.common import plain, research_notice
from dxui.navigation import WORKLIST as PAGE
from dxui.views import views_of

st.title(PAGE.heading)
st.caption(PAGE.summary)
research_notice()

key, run = drop.dropped(
    "worklist_drop", "Drop files for the worklist",
    "Drop images, ECG records, case tables or a ZIP of them (here or on the home page) to "
    "read them all at once.")
if not run.outcomes:
    st.stop()
outcomes = run.outcomes if worklist.prior_section(run) else run.adapted
table = worklist.rows(outcomes, run.labels, run.hashes)
view = worklist.table_section(table)
report.drop_report_button(run.outcomes, key, worklist=True)
if not view.empty:
    st.subheader("Case")
    index = st.selectbox("Open a case", list(view.index), index=None, key="worklist_case",
                         placeholder="Pick a row to see its full view",
                         format_func=lambda i: worklist.row_label(view, i))
    if index is not None:
        row = view.loc[index]
        chosen = outcomes[int(row["outcome"])]
        st.markdown(f"**{patient.heading(chosen, row['Case'])}**")
        if not views_of(chosen.case.kind).ROW_PER_ITEM:  # the input is its row
            patient.outcome_section(chosen)
        elif row["answered"]:  # one row of a case table
            patient.outcome_section(chosen, int(row["item"]))
        else:
            st.error(plain(f"{row['Prediction']} {row['Domain guard']}"),
                     icon=":material/error:")
