"""ECG: upload a record (WFDB or CSV), read the record summary first, then the record beat by
beat and as a strip, and for any beat the part of the waveform that drove its class."""

import streamlit as st

from dxui import ecg
from dxui.common import (
    load_model,
    model_card_section,
    research_notice,
    show_error,
    target_warning,
)

MODEL_ID = "ecg-beats"

st.title("ECG: heartbeat classes")
st.caption("Every heartbeat of an ECG record classed as N (normal), S (supraventricular "
           "ectopic), V (ventricular ectopic) or F (fusion), the AAMI beat classes.")
research_notice()

try:
    card = ecg.installed_card(MODEL_ID)
    if card is not None:
        load_model(MODEL_ID)
except Exception as error:
    show_error(error)
    st.stop()
if card is None:
    st.info(ecg.MODEL_MISSING, icon=":material/info:")
    st.stop()
target_warning(card)

# --- Input --------------------------------------------------------------------------------
state = st.session_state
upload_column, rate_column = st.columns([3, 1], gap="large")
with upload_column:
    uploaded = st.file_uploader(
        "Upload an ECG record", type=ecg.UPLOAD_TYPES, accept_multiple_files=True,
        key="ecg_upload",
        help="The .hea and .dat files of one WFDB record (with its .atr reference "
             "annotations if you have them), or one CSV file with a header row and one "
             "column per lead. Files are analysed in memory and never stored.")
with rate_column:
    rate = st.number_input(
        "CSV sampling rate (Hz)", min_value=1.0, max_value=100_000.0, value=None, step=1.0,
        placeholder="from the time column",
        help="Used only for a CSV file without a usable time column (in seconds).")

record = None
if not uploaded:
    st.info("Upload the .hea and .dat files of a WFDB record, or a CSV file, to see every "
            "beat's class.", icon=":material/upload_file:")
else:
    upload = ecg.Upload.of({file.name: file.getvalue() for file in uploaded}, rate)
    try:
        record = ecg.read_record(upload)
    except Exception as error:
        show_error(error)

# --- Result -------------------------------------------------------------------------------
analysis = None
if record is not None:
    lead = st.selectbox("Lead", record.lead_names, index=ecg.default_lead_index(record),
                        key=f"ecg_lead_{upload.tag}",
                        help="The model was trained on lead MLII.")
    try:
        analysis = ecg.analyse(MODEL_ID, upload, lead)
    except Exception as error:
        show_error(error)

if analysis is not None:
    summary = analysis.summary
    st.subheader("Record summary")
    with st.container(border=True):
        for column, (label, value, detail) in zip(
                st.columns(5), ecg.summary_metrics(summary), strict=True):
            column.metric(label, value, help=detail)
        classes_column, episodes_column = st.columns([2, 3], gap="large")
        with classes_column:
            st.markdown("**Beats per class**")
            st.table(ecg.class_table(summary), hide_index=True, border="horizontal")
        with episodes_column:
            st.markdown("**Episodes worth a look**")
            episodes = ecg.episodes_table(summary)
            if episodes.empty:
                st.markdown("None: no ventricular or supraventricular run (3 or more beats), "
                            "no pause over 2 s, no sustained rate above 120 or below 40 bpm.")
            else:
                st.dataframe(episodes, hide_index=True, height=min(300, 38 + 35 * len(episodes)))
                if summary["episodes_total"] > len(episodes):
                    st.caption(f"The first {len(episodes)} of {summary['episodes_total']}.")
        st.caption(f"Lead {analysis.lead} · {record.fs:g} Hz · beat positions: "
                   f"{summary['beat_positions']}.")
    if analysis.lead.strip().lower() != "mlii":
        st.info(f"The model was trained on lead MLII; its classes on lead {analysis.lead} "
                "are less reliable.", icon=":material/info:")
    for note in analysis.notes:
        st.info(note, icon=":material/info:")

    if analysis.reference_labels is not None:
        st.subheader("Reference annotations")
        agreement = summary["reference_agreement"]
        metric_column, table_column = st.columns([1, 3], gap="large")
        metric_column.metric(
            "Agreement with the reference", f"{agreement['agreement_percent']:.1f} %",
            help="Share of the reference beats of the model's classes whose predicted class "
                 "is the reference class.")
        metric_column.caption(f"Over {agreement['beats']:,} reference beats; beats the "
                              "reference calls Q (unclassifiable) are left out.")
        table_column.table(ecg.agreement_table(analysis), border="horizontal")

    st.subheader("The whole record")
    st.markdown("**Heart rate beat by beat, coloured by class**")
    st.altair_chart(ecg.overview_chart(analysis), width="stretch")
    pages = ecg.strip_pages(record.duration_s)
    start = pages[0]
    if len(pages) > 1:
        start = st.select_slider(
            "Strip", pages, key=f"ecg_strip_{upload.tag}",
            format_func=lambda s: ecg.page_label(s, record.duration_s),
            help="Which minute of the record the strip shows.")
    st.altair_chart(ecg.strip_chart(analysis, start, ecg.STRIP_SECONDS), width="stretch")
    st.caption("Drag to scroll, use the mouse wheel or pinch to zoom, double-click to reset. "
               "Each beat is marked with its predicted class.")

    st.subheader("Beats")
    include_normal = st.toggle("Include N beats", key=f"ecg_all_{upload.tag}")
    table = ecg.beats_table(analysis, include_normal)
    if table.empty:
        st.success("The model classed every beat N.", icon=":material/check_circle:")
    else:
        tag = f"{upload.tag}_{lead}_{include_normal}"
        beat_key, table_key = f"ecg_beat_{tag}", f"ecg_table_{tag}"

        def pick_from_table() -> None:
            rows = state[table_key].selection.rows
            if rows:
                state[beat_key] = int(table.index[rows[0]])

        table_column, beat_column = st.columns([2, 3], gap="large")
        with table_column:
            st.dataframe(table, hide_index=True, height=420, key=table_key,
                         on_select=pick_from_table, selection_mode="single-row",
                         column_config={"Probability": st.column_config.NumberColumn(
                             format="%.2f",
                             help="Calibrated probability of the class shown")})
            st.caption("Pick a row to see that beat. A beat's class is its most probable "
                       "class after per-class offsets chosen on validation records, so an "
                       "S or V beat can have a probability under 0.5.")
        with beat_column:
            index = st.selectbox("Beat", list(table.index), key=beat_key,
                                 format_func=lambda i: ecg.beat_option(table, i))
            method = st.radio("Explanation method", ecg.method_options(), horizontal=True,
                              format_func=ecg.method_label, key="ecg_method")
            try:
                band = ecg.saliency(MODEL_ID, upload, lead, index, method)
            except Exception as error:
                show_error(error)
            else:
                st.altair_chart(ecg.beat_chart(analysis, band, index), width="stretch")
                st.caption(f"{ecg.method_label(method)} for class {band.explained_class}: "
                           "the band under the waveform shows which part of the beat most "
                           "raised that class's score (darker: more influence). The model "
                           "reads a band-passed copy of the lead scaled to the record's "
                           "median beat.")
                probabilities = analysis.probabilities[index]
                for name, probability in zip(analysis.class_names, probabilities, strict=True):
                    st.progress(float(probability), text=f"P({name}) = {probability:.2f}")
        st.markdown("**Around this beat**")
        st.altair_chart(
            ecg.strip_chart(analysis, analysis.times[index] - ecg.CONTEXT_SECONDS,
                            2 * ecg.CONTEXT_SECONDS, highlight=ecg.beat_window(analysis, index)),
            width="stretch")

st.divider()
model_card_section(card)
