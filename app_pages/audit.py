"""Audit trail: every prediction the dashboard logged (dxcore.audit), the hash chain
checked, newest first, and the log for download."""

import pandas as pd
import streamlit as st

from dxcore.audit import ENV, AuditLog, export_csv, output_text, verify
from dxui.common import research_notice, show_error
from dxui.navigation import AUDIT as PAGE

SHOWN = 500  # the newest entries in the table; the downloads hold every one

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

table = pd.DataFrame([{"Time (UTC)": entry.get("time"), "Session": entry.get("session"),
                       "Model": entry.get("model"), "Version": entry.get("model_version"),
                       "Output": output_text(entry),
                       "Input SHA-256": str(entry.get("input_sha256", ""))[:16] + "…"}
                      for entry in reversed(entries[-SHOWN:])])
st.dataframe(table, hide_index=True, width="stretch")
if len(entries) > SHOWN:
    st.caption(f"The newest {SHOWN} of {len(entries):,} entries; the downloads hold all.")
left, right = st.columns(2)
left.download_button("Download the log (JSON lines)", log.path.read_bytes(),
                     file_name="audit.jsonl", mime="application/jsonl")
right.download_button("Download as CSV", export_csv(entries), file_name="audit.csv",
                      mime="text/csv")
