"""ECG: upload a record (WFDB, EDF or CSV), read the record summary first, then the record beat by
beat and as a strip, and for any beat the part of the waveform that drove its class."""

import streamlit as st

from dxui import ecg, report, results, uploads
from dxui.common import model_card_section, page_model, research_notice, show_error
from dxui.navigation import ECG as PAGE

st.title(PAGE.heading)
st.caption("Every heartbeat of an ECG record classed as N (normal), S (supraventricular "
           "ectopic), V (ventricular ectopic) or F (fusion), the AAMI beat classes.")
research_notice()
card = page_model(PAGE.model_id, missing=ecg.MODEL_MISSING)

upload_column, rate_column = st.columns([3, 1], gap="large")
with upload_column:
    uploaded = st.file_uploader(
        "Upload an ECG record", type=None, accept_multiple_files=True,  # checked below
        key="ecg_upload",
        help="The .hea and .dat files of one WFDB record (with its .atr reference "
             "annotations if you have them), one EDF or EDF+ file (.edf, as Holter and "
             "bedside systems export), or one CSV file with a header row and one column per "
             "lead. Records at another sampling rate are resampled to 360 Hz. Files are "
             "analysed in memory and never stored.")
with rate_column:
    rate = st.number_input(
        "CSV sampling rate (Hz)", min_value=ecg.CSV_RATE.low, max_value=ecg.CSV_RATE.high,
        value=None, step=1.0, placeholder="from the time column",
        help="Used only for a CSV file without a usable time column (in seconds): the rate "
             "it was recorded at, in samples per second.")

uploaded = uploads.keep_allowed(uploaded or [], ecg.UPLOAD_TYPES, "an ECG record")
result = None
if not uploaded:
    st.info("Upload the .hea and .dat files of a WFDB record, an EDF file or a CSV file, to "
            "see every beat's class.", icon=":material/upload_file:")
else:
    upload = results.Upload({file.name: file.getvalue() for file in uploaded})
    read_options, tag = ecg.read_options(upload.files, rate), upload.key[:12]
    try:
        record = results.read(PAGE.model_id, upload, **read_options)
        lead = st.selectbox(
            # The lead the analysis picks when none is named: the one shown is analysed.
            "Lead", record.lead_names, index=record.default_lead(),
            key=f"ecg_lead_{tag}",
            help="The model was trained on lead MLII; without it, lead II is analysed, "
                 "else another limb lead (I, III, aVF, aVL, aVR), else the first lead.")
        result = results.analyse(PAGE.model_id, upload, read_options, lead=lead)
    except Exception as error:
        show_error(error)

if result is not None:
    ecg.answer_section(PAGE.model_id, upload, result, read_options, {"lead": lead}, tag)
    report.report_button(PAGE.model_id, upload, read_options, lead=lead)

st.divider()
model_card_section(card)
