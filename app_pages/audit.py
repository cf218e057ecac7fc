"""Audit trail: every answer the dashboard logged and every clinician's sign-off
(dxcore.audit, dxcore.signoff), the hash chain checked, newest first, in the server's local
time, filtered by date, model, decision and sign-off; the log and the entries shown for
download, whole."""

import json
from datetime import datetime

import streamlit as st

from dxcore.audit import ENV, AuditLog, export_csv, verify
from dxui import audit_trail
from dxui.common import research_notice, show_error
from dxui.navigation import AUDIT as PAGE

SHOWN = 500  # the newest entries the filters keep, in the table; the downloads hold every one

st.title(PAGE.heading)
st.caption(PAGE.summary)
research_notice()

log = AuditLog.configured()
if log is None:
    st.info(f"The audit trail is off on this dashboard (`{ENV}=off`).", icon=":material/info:")
    st.stop()
st.caption(f"Log file: `{log.path}` (set `{ENV}` to move it). Check it from a terminal with "
           "`python -m dxcore audit verify`.")
if not log.path.exists():
    st.info("No prediction has been logged yet.", icon=":material/history:")
    st.stop()

try:
    found = verify(log.path)
    entries = log.entries()
except Exception as error:  # a damaged log: say so instead of a traceback
    show_error(error)
    st.stop()
if found.ok:
    st.success(f"{found.entries:,} entries; the hash chain is intact (head hash "
               f"`{found.head[:16]}…`).", icon=":material/verified:")
else:
    st.error("The log has been edited, or entries removed or moved: "
             + "; ".join(found.problems[:10]), icon=":material/gpp_bad:")

rows = audit_trail.table(entries)
days = [day for day in rows["date"] if day is not None]
date_column, model_column, decision_column, signed_column = st.columns(4)
chosen_days = date_column.date_input(
    "Dates", (min(days), max(days)), key="audit_dates", min_value=min(days),
    max_value=max(days), help="In the server's local time.") if days else ()
filters = audit_trail.Filters(
    models=model_column.multiselect("Models", sorted(rows["Model"].dropna().unique()),
                                    key="audit_models", placeholder="All models"),
    decisions=decision_column.multiselect(
        "Decisions", sorted({d for found in rows["decisions"] for d in found}),
        key="audit_decisions", placeholder="All decisions",
        help="An answer's prediction, or 'refused' (the model declined the input) or 'not "
             "read'. A sign-off is kept with its answer's decisions."),
    signed=signed_column.selectbox("Sign-off", audit_trail.SIGNED, key="audit_signed"))
if len(chosen_days) == 2:  # a range being picked has one end only: not applied yet
    filters.since, filters.until = chosen_days
view = audit_trail.filtered(rows, filters)

zone = datetime.now().astimezone().strftime("%Z, UTC%z")
st.dataframe(view[audit_trail.COLUMNS].head(SHOWN), hide_index=True, width="stretch",
             column_config={
                 "Time": st.column_config.TextColumn(
                     f"Time (server's local time, {zone})", width="medium"),
                 "Entry": st.column_config.TextColumn(width="medium"),
                 "Output": st.column_config.TextColumn(width="large"),
                 "Sign-off": st.column_config.TextColumn(width="large"),
                 "Input SHA-256": st.column_config.TextColumn(width="medium"),
                 "Hash": st.column_config.TextColumn(width="medium")})
st.caption(f"{len(view):,} of {len(rows):,} entries"
           + (f"; the table lists the newest {SHOWN}, the downloads hold all" if len(view) > SHOWN
              else "") + ". Times in the server's local time zone (the entries keep UTC).")

kept = [entries[position] for position in sorted(view.index)]  # oldest first, as in the log
if kept:
    with st.expander("An entry in full"):
        position = st.selectbox("Entry", list(view.index[:SHOWN]), key="audit_entry",
                                format_func=lambda p: f"{rows.at[p, 'Time']} · "
                                                      f"{rows.at[p, 'Entry']} · "
                                                      f"{rows.at[p, 'Hash'][:16]}")
        st.json(entries[position])
left, right = st.columns(2)
left.download_button(f"Download the {len(kept):,} entries shown (CSV)", export_csv(kept),
                     file_name="audit-shown.csv", mime="text/csv", disabled=not kept)
right.download_button(f"Download the {len(kept):,} entries shown (JSON lines)",
                      "".join(json.dumps(entry) + "\n" for entry in kept),
                      file_name="audit-shown.jsonl", mime="application/jsonl",
                      disabled=not kept)
left.download_button("Download the log (JSON lines)", log.path.read_bytes(),
                     file_name="audit.jsonl", mime="application/jsonl",
                     help="The whole log as written: `python -m dxcore audit verify --log` "
                          "checks its chain.")
right.download_button("Download as CSV", export_csv(entries), file_name="audit.csv",
                      mime="text/csv", help="The whole log, every field of every entry.")
