"""ECG page views: the upload and its options, the record summary, beat and agreement
tables, the rhythm episodes, and the charts of :mod:`dxui.ecg_charts` (the whole record,
the strip one page at a time, a beat's waveform with its saliency band) placed on the page
(:func:`answer_section`). The record goes through :mod:`dxui.results` like every upload. The
ECG modality's views of the shared pages (:mod:`dxui.views`): a row per record in the
worklist, the answer in a column of the patient view, the failed test beats on the Models
page.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from dxcore.cards import ModelCard
from dxcore.contract import DecisionRule, Result
from dxcore.ecg import BeatSaliency, EcgModel, RecordAnalysis
from dxcore.ecg.quality import PACED_NOTE
from dxcore.ecg.rhythm_labels import episode_rows, merged_episodes
from dxcore.ecg.summary import clock, duration_text
from dxcore.intake import Outcome
from dxcore.labels import InputLabels
from dxcore.wording import probability_is, probability_text
from dxui import results, signoff
from dxui.common import plain, show_error, show_notes
from dxui.ecg_charts import (
    UNCLASSIFIABLE,
    beat_chart,
    beat_window,
    overview_chart,
    predicted_probability,
    strip_chart,
)
from dxui.models import THUMBNAILS_PER_ROW, dataset_folder, failure_caption

UPLOAD_TYPES = ["hea", "dat", "atr", "csv", "edf"]
MODEL_MISSING = (
    "The ECG beat model (`ecg-beats`) is not installed on this dashboard yet, so ECG "
    "records cannot be analysed here. Whoever runs the dashboard can add it with "
    "`python -m dxcore train ecg-beats`."
)
CALIBRATED_ON = ("out-of-fold predictions of a record-grouped cross-validation on the "
                 "MIT-BIH DS1 training records")
# Headline figures per row: four keep "30 min 6 s" and "Low-confidence beats" whole on a
# laptop's page, where six or seven in one row were cut off.
METRICS_PER_ROW = 4
STRIP_SECONDS = 60.0  # the strip's page: a minute
CONTEXT_SECONDS = 6.0  # either side of the selected beat: a wide page's strip at 25 mm/s
ROW_PER_ITEM = False  # a record is one row, whatever its beats
BEAT_SECONDS = 0.6  # either side of a failed beat's R peak, in the Models page's gallery
# ECG case ids name the MIT-BIH record and the beat's sample: "record 233 sample 12345".
BEAT_ID = re.compile(r"^\D*(?P<record>\d+)\D+(?P<sample>\d+)$")
# A CSV's sampling rate as the page asks for it: the bounds and help the model gives, as the
# home page's drop zone asks for it.
CSV_RATE = EcgModel.asked_options["fs"]


def read_options(files: dict[str, bytes], rate: float | None) -> dict[str, Any]:
    """The reader's options: the sampling rate typed on the page, kept for a CSV only (so
    that it never re-keys a WFDB record). It stands in for a CSV's time column only when
    that column is missing or unusable."""
    is_csv = any(name.lower().endswith(".csv") for name in files)
    return {"fs": float(rate) if is_csv and rate else None}


# --- Views -------------------------------------------------------------------------------


def answer_section(model_id: str, upload: results.Upload, result: Result,
                   read_options: dict[str, Any], options: dict[str, Any], tag: str) -> None:
    """The record summary, the clinician's sign-off, the reference annotations, the whole
    record and the beats, of the record read with ``read_options`` and predicted with
    ``options`` (``tag`` keys the widgets): the ECG page's answer, and a record's on the
    worklist and the patient view (:func:`case_view`)."""
    summary_section(result)
    signoff.section(model_id, upload, result, options={**read_options, **options})
    reference_section(result.detail)
    record_section(result, tag)
    beats_section(model_id, upload, read_options, options, result, tag)


def rule_caption(result: Result) -> str:
    """Why a beat's class can have a probability under 0.5, from the card's rule."""
    return (f"Pick a row to see that beat. A beat's class is {results.rule_text(result.rule)}. "
            "So a beat's class can have a probability under 0.5.")


def summary_section(result: Result) -> None:
    """The headline figures, beats per class and episodes, then the notes."""
    analysis: RecordAnalysis = result.detail
    summary = analysis.summary
    st.subheader("Record summary")
    if analysis.paced:  # first and loud: every class below is in question
        st.warning(f"**{PACED_NOTE}** Evidence: {plain(analysis.paced)}.",
                   icon=":material/warning:")
    with st.container(border=True):
        metrics = summary_metrics(summary)
        per_row = metrics_per_row(len(metrics))
        for row in range(0, len(metrics), per_row):
            for column, (label, value, detail) in zip(st.columns(per_row),
                                                      metrics[row:row + per_row], strict=False):
                column.metric(label, value, help=detail)
        classes_column, episodes_column = st.columns([2, 3], gap="large")
        with classes_column:
            st.markdown("**Beats per class**")
            st.table(class_table(result, summary), hide_index=True, border="horizontal")
        with episodes_column:
            st.markdown("**Episodes worth a look**")
            episodes = episodes_table(summary)
            if episodes.empty:
                st.markdown("None: no ventricular or supraventricular run (3 or more beats), "
                            "no pause over 2 s, no sustained rate above 120 or below 40 bpm.")
            else:
                st.dataframe(episodes, hide_index=True, height=min(300, 38 + 35 * len(episodes)))
                if summary["episodes_total"] > len(episodes):
                    st.caption(f"The first {len(episodes)} of {summary['episodes_total']}.")
        if analysis.rhythm:
            st.markdown("**Rhythm episodes**")
            rhythm = rhythm_table(analysis.rhythm)
            st.dataframe(rhythm, hide_index=True, height=min(300, 38 + 35 * len(rhythm)))
        # Lead names and notes come from the file (a CSV header names the leads).
        st.caption(f"Lead {plain(analysis.lead)} · {analysis.fs:g} Hz · beat positions: "
                   f"{summary['beat_positions']}.")
    # A lead other than MLII has its note among these (dxcore.ecg.record's lead choice);
    # the pacing note is shown as the warning above
    show_notes([note for note in analysis.notes if not note.startswith(PACED_NOTE)])


def reference_section(analysis: RecordAnalysis) -> None:
    """The agreement with the record's reference annotations (when it has them)."""
    if analysis.reference_labels is None:
        return
    st.subheader("Reference annotations")
    agreement = analysis.summary["reference_agreement"]
    metric_column, table_column = st.columns([1, 3], gap="large")
    metric_column.metric(
        "Agreement with the reference", f"{agreement['agreement_percent']:.1f} %",
        help="Share of the reference beats of the model's classes whose predicted class "
             "is the reference class.")
    metric_column.caption(f"Over {agreement['beats']:,} reference beats; beats the "
                          "reference calls Q (unclassifiable) are left out.")
    table_column.table(agreement_table(analysis), border="horizontal")


def record_section(result: Result, tag: str) -> None:
    """The heart rate beat by beat over the whole record, and the strip a minute a page."""
    analysis: RecordAnalysis = result.detail
    duration = analysis.record.duration_s
    st.subheader("The whole record")
    st.markdown("**Heart rate beat by beat, coloured by class**")
    st.altair_chart(overview_chart(result), width="stretch")
    pages = strip_pages(duration)
    start = pages[0]
    if len(pages) > 1:
        start = st.select_slider(
            "Strip", pages, key=f"ecg_strip_{tag}",
            format_func=lambda s: page_label(s, duration),
            help="Which minute of the record the strip shows.")
    st.altair_chart(strip_chart(result, start, STRIP_SECONDS), width="stretch")
    st.caption(strip_caption(analysis))


def beats_section(model_id: str, upload: results.Upload, read_options: dict[str, Any],
                  options: dict[str, Any], result: Result, tag: str) -> None:
    """The beats not classed N (or all), one to pick: its waveform with the saliency band,
    its probabilities under the card's rule, and the strip around it."""
    analysis: RecordAnalysis = result.detail
    state = st.session_state
    st.subheader("Beats")
    include_normal = st.toggle("Include N beats", key=f"ecg_all_{tag}")
    table = beats_table(result, include_normal)
    missed = missed_reference_beats(analysis)
    if missed and not include_normal:
        st.caption(f"{missed:,} beats the model classed N have another reference class; "
                   "include the N beats to see them.")
    if table.empty:
        st.success("The model classed every beat N.", icon=":material/check_circle:")
        return
    tag = f"{tag}_{analysis.lead}"
    # The beat picked is kept apart from the widgets, whose options change with the
    # toggle: switching N beats on and off keeps it (the nearest listed beat stands in
    # while it is not listed).
    picked_key = f"ecg_picked_{tag}"
    beat_key, table_key = f"ecg_beat_{tag}_{include_normal}", f"ecg_table_{tag}_{include_normal}"
    state[beat_key] = nearest_listed(table.index, state.get(picked_key, table.index[0]))

    def pick(index: int) -> None:
        state[picked_key] = state[beat_key] = int(index)

    def pick_from_table() -> None:
        rows = state[table_key].selection.rows
        if rows:
            pick(table.index[rows[0]])

    table_column, beat_column = st.columns([2, 3], gap="large")
    with table_column:
        folded = [f"P({name})" for name in result.rule.never_returned]
        shown_as = results.shown_class(result.rule, "class")
        st.dataframe(table.style.format(probability_text,
                                        subset=["Probability", *folded]),
                     hide_index=True, height=420, key=table_key,
                     on_select=pick_from_table, selection_mode="single-row",
                     column_config={"Probability": st.column_config.Column(
                         help=f"Calibrated probability of the class shown: P({shown_as})")})
        st.caption(rule_caption(result))
    with beat_column:
        index = st.selectbox("Beat", list(table.index), key=beat_key,
                             format_func=lambda i: beat_option(table, i, result.rule),
                             on_change=lambda: pick(state[beat_key]))
        reasons = analysis.unclassifiable_reasons
        if reasons is not None and reasons[index]:
            st.info(f"This beat is unclassifiable (Q: {reasons[index]}): the model gives it "
                    "no class and no probability.", icon=":material/block:")
            return
        method = st.radio("Explanation method", results.explanation_methods(model_id),
                          horizontal=True, key="ecg_method",
                          format_func=lambda m: results.method_label(model_id, m))
        try:
            explanation = results.explain(model_id, upload, method, item=index,
                                          read_options=read_options, options=options)
        except Exception as error:
            show_error(error)
        else:
            band: BeatSaliency = explanation.detail
            flat = results.flat_notice(explanation)
            st.altair_chart(beat_chart(analysis, band, index, with_band=not flat),
                            width="stretch")
            if not flat:
                st.caption(f"{results.method_label(model_id, method)} for class "
                           f"{band.explained_class}: the band under the waveform shows which "
                           "part of the beat most raised that class's score (colour bar: "
                           "low → high influence). The model reads a band-passed copy of the "
                           "lead scaled to the record's median beat.")
            results.how_to_read(model_id, method)
            results.probability_bars(result, index, CALIBRATED_ON)
    st.markdown("**Around this beat**")
    st.altair_chart(
        strip_chart(result, max(0.0, analysis.times[index] - CONTEXT_SECONDS),
                    2 * CONTEXT_SECONDS, highlight=beat_window(analysis, index)),
        width="stretch")


# --- Text and tables ----------------------------------------------------------------------


def metrics_per_row(count: int) -> int:
    """Metrics per row: at most :data:`METRICS_PER_ROW`, the rows as even as they can be.

    >>> metrics_per_row(5), metrics_per_row(6), metrics_per_row(7), metrics_per_row(3)
    (3, 3, 4, 3)
    """
    return math.ceil(count / math.ceil(count / METRICS_PER_ROW))


def strip_caption(analysis: RecordAnalysis) -> str:
    """How to read and move the strip; the rhythm band is named only when there is one."""
    band = ("The band above the trace shows the rhythm episodes (their words in the legend "
            "and the tooltip). " if analysis.rhythm else "")
    return ("ECG paper at 25 mm/s and 10 mm/mV: small squares 0.04 s and 0.1 mV, large ones "
            f"0.2 s and 0.5 mV. {band}Each beat is marked with its predicted class. Drag to "
            "scroll through the minute; the mouse wheel or a pinch zooms (off the paper's "
            "scale), a double-click returns to it.")


def summary_metrics(summary: dict) -> list[tuple[str, str, str]]:
    """``(label, value, help)`` of the headline figures, in reading order."""
    rate = summary["mean_heart_rate_bpm"]
    run = summary["longest_v_run"]
    couplets = summary["v_couplets"]
    metrics = [
        ("Duration", duration_text(summary["duration_s"]), "Length of the uploaded record."),
        ("Mean heart rate", f"{rate:.0f} bpm" if rate else "—",
         "Beats per minute from the first to the last beat."),
        ("Beats", f"{summary['beats']:,}", f"Beat positions: {summary['beat_positions']}."),
        ("Ectopic burden", f"{summary['ectopic_burden_percent']:.1f} %",
         "Beats not classed N, as a share of all beats."),
        ("Longest V run", f"{run} beat{'s' if run > 1 else ''}" if run else "none",
         f"Consecutive V beats; 3 or more make a ventricular run. V couplets: {couplets}."),
    ]
    if "uncertain_beats" in summary:
        metrics.append((
            "Low-confidence beats", f"{summary['uncertain_beats']:,}",
            f"Beats whose {summary['prediction_set_coverage']:.0%} prediction set holds more "
            "than one class: the model cannot tell those classes apart for them."))
    if "af_burden_percent" in summary:  # once the rhythm is analysed
        metrics.append((
            "AF burden", f"{summary['af_burden_percent']:.1f} %",
            "Share of the record's time in atrial fibrillation or flutter (AFIB, AFL), from "
            "the rhythm episodes."))
    return metrics


def class_meaning(result: Result, name: str) -> str:
    """A beat class as people read it: the card's label (``V`` -> "ventricular ectopic
    beat (V)"), or what a Q beat is."""
    return UNCLASSIFIABLE.get(name) or results.class_text(result, name)


def class_table(result: Result, summary: dict) -> pd.DataFrame:
    """Beats per class, with the class's meaning and its share of all beats (its number
    and "%" kept on one line in the narrow column)."""
    total = max(summary["beats"], 1)
    return pd.DataFrame(
        [{"Class": name, "Meaning": class_meaning(result, name), "Beats": count,
          "Share": f"{100.0 * count / total:.1f}\u00a0%"}
         for name, count in summary["beats_per_class"].items()],
        columns=["Class", "Meaning", "Beats", "Share"])


def episodes_table(summary: dict) -> pd.DataFrame:
    """The summary's episodes (runs, pauses, rate episodes), one row each."""
    rows = []
    for episode in summary["episodes"]:
        if "rate_bpm" in episode:
            detail = f"{episode['rate_bpm']} bpm"
        elif "rr_s" in episode:
            detail = f"RR {episode['rr_s']:.2f} s"
        else:
            detail = ""
        rows.append({"Episode": episode["kind"].capitalize(), "Start": clock(episode["start_s"]),
                     "End": clock(episode["end_s"]), "Beats": episode["beats"],
                     "Detail": detail})
    return pd.DataFrame(rows, columns=["Episode", "Start", "End", "Beats", "Detail"])


def rhythm_table(rhythm: list[dict[str, Any]]) -> pd.DataFrame:
    """The rhythm episodes, one row each: the rhythm in words, start, end and duration."""
    return pd.DataFrame(episode_rows(merged_episodes(rhythm)),
                        columns=["Rhythm", "Start", "End", "Duration"])


def beats_table(result: Result, include_normal: bool = False) -> pd.DataFrame:
    """One row per beat not classed N, or per beat; indexed by the beat's position in the
    analysis. A class the rule never returns (F) has its own probability column, since
    the class shown stands for it."""
    analysis: RecordAnalysis = result.detail
    table = pd.DataFrame({
        "Beat": np.arange(1, len(analysis.labels) + 1),
        "Time": [clock(t) for t in analysis.times],
        "Class": analysis.labels.astype(str),
        "Meaning": pd.Series(analysis.labels.astype(str)).map(
            {name: class_meaning(result, name) for name in set(analysis.labels.astype(str))}),
        "Probability": predicted_probability(result).round(3),
    })
    for name in result.rule.never_returned:
        classified = np.isin(analysis.labels, analysis.class_names)
        table[f"P({name})"] = np.where(
            classified, analysis.probabilities[:, analysis.class_names.index(name)],
            np.nan).round(3)
    if analysis.prediction_sets is not None:
        table["Prediction set"] = [" or ".join(s) for s in analysis.prediction_sets]
    if analysis.unclassifiable_reasons is not None:
        table["Why Q"] = analysis.unclassifiable_reasons.astype(str)
    if analysis.reference_labels is not None:
        table["Reference"] = analysis.reference_labels.astype(str)
    return table if include_normal else table[table["Class"] != "N"]


def missed_reference_beats(analysis: RecordAnalysis) -> int:
    """Beats classed N that the reference gives another class (0 without a reference)."""
    if analysis.reference_labels is None:
        return 0
    return int(((analysis.labels == "N") & np.isin(analysis.reference_labels,
                                                   ["S", "V", "F"])).sum())


def nearest_listed(listed: pd.Index, beat: int) -> int:
    """``beat`` if the table lists it, else the listed beat nearest to it.

    >>> nearest_listed(pd.Index([2, 5, 9]), 5), nearest_listed(pd.Index([2, 5, 9]), 8)
    (5, 9)
    """
    positions = np.asarray(listed)
    return int(positions[np.abs(positions - int(beat)).argmin()])


def beat_option(table: pd.DataFrame, index: int, rule: DecisionRule) -> str:
    """A beat as the picker lists it: its class with the probability shown for it (and
    that of each class it stands for), and its reference class."""
    row = table.loc[index]
    if row.get("Why Q"):
        text = f"Beat {row['Beat']} at {row['Time']}: Q, unclassifiable ({row['Why Q']})"
    else:
        folded = "".join(f"; P({name}) {probability_is(row[f'P({name})'])}"
                         for name in rule.never_returned)
        text = (f"Beat {row['Beat']} at {row['Time']}: {row['Meaning']}, "
                f"P({results.shown_class(rule, row['Class'])}) "
                f"{probability_is(row['Probability'])}{folded}")
    return f"{text}, reference {row['Reference']}" if "Reference" in row else text


def agreement_table(analysis: RecordAnalysis) -> pd.DataFrame:
    """Reference classes (rows) against predicted classes (columns), beat counts, with each
    reference class's agreement."""
    classes = analysis.class_names
    reference = analysis.reference_labels.astype(str)
    predicted = analysis.labels.astype(str)
    rows = classes + sorted(set(reference) - set(classes))  # e.g. Q, which no class matches
    columns = classes + sorted(set(predicted) - set(classes))  # Q: unclassifiable beats
    table = pd.crosstab(pd.Categorical(reference, categories=rows),
                        pd.Categorical(predicted, categories=columns), dropna=False)
    table.index = [f"Reference {name}" for name in rows]
    table.columns = [f"Predicted {name}" for name in columns]
    per_class = analysis.summary["reference_agreement"]["per_class"]
    table["Agreement"] = [
        f"{100.0 * per_class[name]['agreed'] / per_class[name]['reference']:.1f} %"
        if per_class.get(name, {}).get("reference") else "—" for name in rows]
    return table


# --- The strip's pages --------------------------------------------------------------------


def strip_pages(duration_s: float) -> list[float]:
    """Start times of the strip's pages (one a minute)."""
    return [float(s) for s in np.arange(0.0, duration_s, STRIP_SECONDS)]


def page_label(start_s: float, duration_s: float) -> str:
    end_s = min(start_s + STRIP_SECONDS, duration_s)
    return f"{clock(start_s, tenths=False)}–{clock(end_s, tenths=False)}"


# --- The views of the worklist, the patient view and the Models page (dxui.views) --------


def case_view(outcome: Outcome, upload: results.Upload, item: int | None = None) -> None:
    """The record's answer in full (:func:`answer_section`), read with the case's own
    options (an ECG CSV's rate), as the worklist read it."""
    case = outcome.case
    answer_section(case.model_id, upload, outcome.result, case.options, {}, upload.key[:12])


def patient_section(outcome: Outcome, upload: results.Upload) -> None:
    case_view(outcome, upload)


def worklist_rows(result: Result, card: ModelCard, base: dict[str, Any], labels: InputLabels,
                  signed: Callable[[int | None], str]) -> list[dict[str, Any]]:
    """One row for the record: its beats per class, how many are uncertain; positive when
    any beat is not N."""
    counts = Counter(str(d) for d in result.decisions)
    uncertain = sum(result.uncertain(i) for i in range(len(result)))
    ectopic = len(result) - counts.get("N", 0)
    return [{**base, "Prediction": f"{len(result)} beats: " + ", ".join(
                 f"{name} {counts.get(name, 0)}" for name in result.rule.returned),
             "Prediction set": f"{uncertain} beats uncertain",
             "uncertain": uncertain > 0, "positive": ectopic > 0,
             "doubt": f"{uncertain} of {len(result)} beats uncertain"}]


def failure_gallery(card: ModelCard, failures: list[dict[str, Any]]) -> None:
    """The failed test beats, each drawn from its MIT-BIH record around its R peak."""
    matches = [BEAT_ID.match(f["case_id"]) for f in failures]
    if not all(matches):
        st.caption("The beats cannot be drawn: their case ids do not name a record and "
                   "sample.")
        return
    folder = dataset_folder(card)
    beats = tuple((m["record"], int(m["sample"])) for m in matches)
    traces = _beat_traces(str(folder.parent), beats)
    for start in range(0, len(failures), THUMBNAILS_PER_ROW):
        row = list(zip(failures, traces, strict=True))[start:start + THUMBNAILS_PER_ROW]
        for column, (failure, trace) in zip(st.columns(THUMBNAILS_PER_ROW), row,
                                            strict=False):
            column.altair_chart(alt.Chart(trace).mark_line(color="#222222").encode(
                x=alt.X("ms:Q", title="ms from R"), y=alt.Y("mV:Q", title=None)).properties(
                height=120, title=alt.TitleParams(failure_caption(failure), fontSize=10)),
                width="stretch")


@st.cache_data(ttl=results.CACHE_SECONDS, show_spinner="Reading the beats from the dataset…")
def _beat_traces(folder: str, beats: tuple[tuple[str, int], ...]) -> list[pd.DataFrame]:
    """Each (record, sample)'s lead MLII around the beat, in ms from the R peak."""
    from dxcore.ecg import mitdb

    traces = []
    for record_name, sample in beats:
        record = mitdb.read_record(record_name, folder)
        _, signal, _ = record.lead(mitdb.LEAD)
        half = int(BEAT_SECONDS * record.fs)
        first, last = max(0, sample - half), min(len(signal), sample + half)
        traces.append(pd.DataFrame({"ms": (np.arange(first, last) - sample) / record.fs * 1e3,
                                    "mV": signal[first:last]}))
    return traces
