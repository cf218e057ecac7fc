"""The ECG charts (Altair, which Streamlit ships with): beat classes over the whole record,
the ECG strip, and one beat's waveform with its saliency band; the ECG views
(:mod:`dxui.ecg`) place them on the page.

The strip is drawn as a cardiologist reads one: on ECG paper at 25 mm/s and 10 mm/mV
(:func:`strip_chart`), every beat marked with its class, the rhythm episodes in a band
above the trace.

Plots stay light on long records: the strip holds one page (a minute) at a time, at most
:data:`STRIP_POINTS` samples of it, its paper drawn by the browser; the whole-record chart
has one point per beat.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from dxcore.contract import Result
from dxcore.ecg import BeatSaliency, RecordAnalysis
from dxcore.ecg.edf_io import TO_MV
from dxcore.ecg.preprocessing import window_times
from dxcore.ecg.rhythm_labels import RHYTHM_LABELS, merged_episodes, rhythm_text
from dxcore.ecg.summary import clock, duration_text
from dxcore.wording import probability_text

# The beats the model does not classify (the card's classes name the others).
UNCLASSIFIABLE = {"Q": "unclassifiable beat (Q)"}
CLASS_COLOURS = {"N": "#7f7f7f", "S": "#1f77b4", "V": "#d62728", "F": "#ff7f0e",
                 "Q": "#9467bd"}
# Rhythm band colours: sinus rhythms neutral or pale, atrial fibrillation and flutter amber,
# supraventricular blue and ventricular red as their beat classes; light enough for the
# code printed on them.
RHYTHM_COLOURS = {"N": "#e3e3e3", "SBR": "#d4e6d0", "STACH": "#b5d9ad", "AFIB": "#f5a623",
                  "AFL": "#f8cd78", "SVTA": "#9cc3eb", "B": "#f2a7a7", "T": "#f7c6c6",
                  "VT": "#e46464", "IVR": "#ec9090", "Q": "#d8cce8"}
UNKNOWN_RHYTHM_COLOUR = "#bdbdbd"
STRIP_POINTS = 24_000  # a minute at 360 Hz is drawn in full; faster rates as an envelope
# ECG paper: 25 mm/s and 10 mm/mV; small squares of 1 mm (0.04 s, 0.1 mV), large ones of
# 5 mm (0.2 s, 0.5 mV), pink as printed. PX_PER_MM is the screen's millimetre of paper: the
# strip shows as many seconds as the page is wide (about 10 s on a laptop).
MM_PER_S, MM_PER_MV, PX_PER_MM = 25.0, 10.0, 4.0
MINOR_S, MINOR_MV, MAJOR_EVERY = 0.04, 0.1, 5
PAPER_MINOR, PAPER_MAJOR = "#f6d3d8", "#e597a3"
STRIP_MV = (2.0, 8.0)  # the trace's room: at least 2 mV, at most what a screen holds
# Above the trace, in pixels from the plot's top: the rhythm band (when there is one), then
# each beat's class letter and its mark.
BAND_PX = 16
LETTER_PX, MARK_PX, HEADROOM_PX = 8, (14, 21), 24
RHYTHM_LABEL_EVERY_S = 5.0  # a long episode's code repeats, so that any view names it
OVERVIEW_HEIGHT = 220  # the plot area: tall enough to read the rate off its axis
RATE_TICKS = 6
# Streamlit fits a chart's legends and axes into the height it is given ("fit"): "fit-x"
# keeps that height for the plot area alone (the strip's paper scale, the overview's axis).
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
BEAT_HEIGHT = 280
BAND_SPAN = 0.3  # the saliency band's height under the waveform, as a share of its range


def lead_signal(analysis: RecordAnalysis) -> tuple[np.ndarray, str]:
    """The analysed lead at the record's own rate (gaps bridged as the analysis did) and
    its unit: millivolts when the record's unit is one we know (the strip's paper is ruled
    in mV), else the record's own."""
    record = analysis.record
    index = record.lead_names.index(analysis.lead)
    unit = record.units[index] if index < len(record.units) else "mV"
    signal = record.lead(analysis.lead)[1]
    scale = TO_MV.get(unit.strip().lower())
    return (signal * scale, "mV") if scale is not None else (signal, unit)


def predicted_probability(result: Result) -> np.ndarray:
    """Each beat's calibrated probability of the class shown for it, a class the rule never
    returns counted in it (P(N or F); :meth:`DecisionRule.shown_probability`); NaN for a
    Q beat, which the model did not classify."""
    return result.rule.shown_probability(result.probabilities, result.decisions)


# --- Charts -------------------------------------------------------------------------------


def envelope(values: np.ndarray, budget: int) -> np.ndarray:
    """Indices of the samples to draw: all when they fit in ``budget``, else the minimum
    and maximum of each bucket in time order (plain striding would drop QRS peaks).

    >>> envelope(np.array([0, 5, 1, 1, -3, 1, 2, 2]), 4).tolist()
    [0, 1, 4, 6]
    """
    n = len(values)
    if n <= budget:
        return np.arange(n)
    size = -(-n // (budget // 2))
    blocks = -(-n // size)
    padded = np.pad(np.asarray(values), (0, blocks * size - n), mode="edge")
    padded = padded.reshape(blocks, size)
    base = np.arange(blocks)[:, None] * size
    picks = np.stack([padded.argmin(axis=1), padded.argmax(axis=1)], axis=1) + base
    return np.unique(np.minimum(picks, n - 1))


def shown_classes(analysis: RecordAnalysis) -> list[str]:
    """The beat classes the record has beats of, in the card's order then Q: the legends
    list these, so that each colour drawn is named and no unused class is."""
    present = set(analysis.labels.astype(str))
    return [name for name in [*analysis.class_names, *UNCLASSIFIABLE] if name in present]


def _class_colour(classes: list[str]) -> alt.Color:
    return alt.Color("Class:N", title="Beat class",
                     scale=alt.Scale(domain=classes,
                                     range=[CLASS_COLOURS.get(c, "#000000") for c in classes]),
                     legend=alt.Legend(orient="top"))


def _beat_frame(result: Result, indices: np.ndarray) -> pd.DataFrame:
    """Beats ``indices`` with what their tooltips show."""
    analysis: RecordAnalysis = result.detail
    frame = pd.DataFrame({
        "Time (s)": analysis.times[indices],
        "Beat": indices + 1,
        "At": [clock(t) for t in analysis.times[indices]],
        "Class": analysis.labels[indices].astype(str),
        "Probability": [probability_text(p)
                        for p in predicted_probability(result)[indices]],
    })
    if analysis.reference_labels is not None:
        frame["Reference"] = analysis.reference_labels[indices].astype(str)
    return frame


def rate_domain(rate_bpm: np.ndarray) -> list[float]:
    """The heart-rate axis: the 1st to 99th percentile of the beat-by-beat rate, padded and
    rounded to 10 bpm, so that a few mis-detected beats (a 600 bpm double detection) do not
    squash every other beat into a line; rates outside are drawn at the edge.

    >>> rate_domain(np.array([70.0] * 98 + [30.0, 900.0]))
    [60.0, 90.0]
    """
    low, high = np.percentile(rate_bpm, [1, 99]) if len(rate_bpm) else (60.0, 100.0)
    low, high = 10.0 * np.floor(low / 10.0 - 0.5), 10.0 * np.ceil(high / 10.0 + 0.5)
    return [max(0.0, float(low)), float(high)]


def overview_chart(result: Result) -> alt.Chart:
    """Heart rate beat by beat over the whole record, each beat coloured by its class, on
    an axis with ticks every few bpm (:func:`rate_domain`)."""
    analysis: RecordAnalysis = result.detail
    times = analysis.times
    rr = np.diff(times)
    rr = np.concatenate([rr[:1], rr])  # the first beat has no RR before it: use the next
    frame = _beat_frame(result, np.arange(len(times)))
    classes = shown_classes(analysis)
    frame["Minutes"] = times / 60.0
    frame["Heart rate (bpm)"] = np.round(60.0 / np.maximum(rr, 1e-3), 1)
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    tooltip = ["Beat", "At", "Class", "Probability", "Heart rate (bpm)"]
    tooltip += ["Reference"] if "Reference" in frame else []
    return alt.Chart(frame).mark_point(filled=True, size=18, clip=True).encode(
        x=alt.X("Minutes:Q", title="Time (min)", scale=alt.Scale(nice=False)),
        y=alt.Y("Heart rate (bpm):Q", title="Heart rate (bpm)",
                scale=alt.Scale(domain=rate_domain(frame["Heart rate (bpm)"].to_numpy()),
                                clamp=True, nice=False),
                axis=alt.Axis(tickCount=RATE_TICKS, grid=True)),
        color=_class_colour(classes),
        shape=alt.Shape("Class:N", scale=alt.Scale(domain=classes), legend=None),
        tooltip=tooltip,
    ).add_params(zoom).properties(height=OVERVIEW_HEIGHT, autosize=FIT_WIDTH)


def strip_range(values: np.ndarray) -> tuple[float, float]:
    """The trace's room (mV): its extremes rounded out to the large squares (0.5 mV), at
    least ``STRIP_MV[0]`` tall and at most about ``STRIP_MV[1]`` (a spike or a baseline jump
    beyond is cut off, around the median).

    >>> strip_range(np.array([-0.4, 1.3])), strip_range(np.array([0.1, 0.2]))
    ((-0.5, 1.5), (-1.0, 1.5))
    >>> strip_range(np.array([0.0, 0.5, 1.0, 30.0]))  # a 30 mV spike: cut off
    (-3.5, 5.0)
    """
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    if high - low > STRIP_MV[1]:
        middle = float(np.nanmedian(values))
        low, high = middle - STRIP_MV[1] / 2, middle + STRIP_MV[1] / 2
    major = MINOR_MV * MAJOR_EVERY
    low, high = math.floor(low / major) * major, math.ceil(high / major) * major
    short = math.ceil(round((STRIP_MV[0] - (high - low)) / (2 * major), 6)) * major
    return (low - short, high + short) if short > 0 else (low, high)


def rhythm_band(rhythm: list[dict[str, Any]], start_s: float,
                end_s: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rhythm episodes over ``start_s`` to ``end_s``, cut to it: one segment each (its
    code and words, and for the tooltip where it starts and ends in the record), and where
    to print the codes: at each segment's start and every :data:`RHYTHM_LABEL_EVERY_S`
    seconds along it, so that any part of a long episode in view is named.

    >>> segments, labels = rhythm_band([{"label": "N", "start_s": 0.0, "end_s": 70.0},
    ...                                 {"label": "AFIB", "start_s": 70.0, "end_s": 200.0}],
    ...                                60.0, 120.0)
    >>> segments[["Time (s)", "to", "Code"]].values.tolist()
    [[60.0, 70.0, 'N'], [70.0, 120.0, 'AFIB']]
    >>> labels[["Time (s)", "Code"]].values.tolist()[:4]
    [[60.0, 'N'], [65.0, 'N'], [70.0, 'AFIB'], [75.0, 'AFIB']]
    """
    segments = []
    for episode in merged_episodes(rhythm):
        start, end = max(episode["start_s"], start_s), min(episode["end_s"], end_s)
        if end > start:
            segments.append({"Time (s)": start, "to": end, "Code": episode["label"],
                             "Rhythm": rhythm_text(episode["label"]),
                             "From": clock(episode["start_s"]), "To": clock(episode["end_s"]),
                             "Duration": duration_text(episode["end_s"] - episode["start_s"])})
    frame = pd.DataFrame(segments, columns=["Time (s)", "to", "Code", "Rhythm", "From", "To",
                                            "Duration"])
    step, clear = RHYTHM_LABEL_EVERY_S, 1.0  # no code within a second of another's
    labels = []
    for segment in segments:
        start, end = segment["Time (s)"], segment["to"]
        along = np.arange(math.floor((start + clear) / step + 1) * step, end - clear, step)
        labels += [{"Time (s)": at, "Code": segment["Code"]} for at in [start, *along.tolist()]]
    return frame, pd.DataFrame(labels, columns=["Time (s)", "Code"])


def _paper(x: alt.X, y: alt.Y, seconds: tuple[float, float],
           millivolts: tuple[float, float]) -> list[alt.Chart]:
    """ECG paper under the trace, as far as the trace goes: minor lines every
    :data:`MINOR_S` and :data:`MINOR_MV`, every fifth a major line. The lines are counted
    out in the browser (``alt.sequence``), so a minute's 1,500 of them send no data."""
    layers = []
    for major in (False, True):
        for vertical, (low, high), step in ((True, seconds, MINOR_S),
                                            (False, millivolts, MINOR_MV)):
            first = math.ceil(round(low / step, 6))
            last = math.floor(round(high / step, 6))
            lines = (alt.Chart(alt.sequence(first, last + 1, as_="mm"))
                     .transform_filter(f"datum.mm % {MAJOR_EVERY} {'==' if major else '!='} 0")
                     .mark_rule(color=PAPER_MAJOR if major else PAPER_MINOR,
                                strokeWidth=1.0 if major else 0.6, clip=True))
            if vertical:
                lines = lines.transform_calculate(**{"Time (s)": f"datum.mm * {step}"}).encode(x)
            else:
                lines = lines.transform_calculate(**{
                    "Value": f"datum.mm * {step}", "Time (s)": f"{seconds[0]}",
                    "to": f"{seconds[1]}"}).encode(y, x, x2="to:Q")
            layers.append(lines)
    return layers


def _rhythm_layers(rhythm: list[dict[str, Any]], x: alt.X, start_s: float,
                   end_s: float) -> list[alt.Chart]:
    """The rhythm band along the strip's top: a coloured segment per episode (its words in
    the tooltip and the legend) with its code printed on it."""
    segments, labels = rhythm_band(rhythm, start_s, end_s)
    codes = [code for code in RHYTHM_LABELS if any(e["label"] == code for e in rhythm)]
    codes += sorted({e["label"] for e in rhythm} - set(codes))
    fill = alt.Fill("Rhythm:N", title="Rhythm", scale=alt.Scale(
        domain=[rhythm_text(code) for code in codes],
        range=[RHYTHM_COLOURS.get(code, UNKNOWN_RHYTHM_COLOUR) for code in codes]),
        # Two columns, so that the words fit beside the beat classes' legend on a laptop.
        legend=alt.Legend(orient="top", columns=2, labelLimit=0, symbolType="square",
                          symbolSize=120, symbolStrokeColor="#9e9e9e", symbolStrokeWidth=0.5))
    band = alt.Chart(segments).mark_rect(stroke="white", strokeWidth=1, clip=True).encode(
        x=x, x2="to:Q", y=alt.value(1), y2=alt.value(BAND_PX - 1), fill=fill,
        tooltip=["Rhythm", "From", "To", "Duration"])
    codes_text = alt.Chart(labels).mark_text(
        align="left", baseline="middle", dx=3, fontSize=10, fontWeight="bold",
        color="#222222", clip=True).encode(x=x, y=alt.value(BAND_PX / 2), text="Code:N")
    return [band, codes_text]


def strip_chart(result: Result, start_s: float, seconds: float,
                highlight: tuple[float, float] | None = None) -> alt.LayerChart:
    """The analysed lead from ``start_s`` for ``seconds`` on ECG paper at 25 mm/s and
    10 mm/mV: its height follows the trace's range at :data:`PX_PER_MM`, its view as many
    seconds as the page's width holds (the width is known only in the browser: the time
    axis is an expression of it), opening at ``start_s`` or centred on ``highlight`` (a
    span shaded) as far as the trace allows (no blank paper before the record's start).
    Above the trace, the rhythm band (when the rhythm was analysed) and each
    beat's class letter and mark. Drag to scroll along the page; zooming leaves the paper's
    scale, a double-click returns to it."""
    analysis: RecordAnalysis = result.detail
    signal, unit = lead_signal(analysis)
    fs = analysis.fs
    first = max(0, int(math.floor(start_s * fs)))
    last = min(len(signal), int(math.ceil((start_s + seconds) * fs)))
    picks = first + envelope(signal[first:last], STRIP_POINTS)
    trace = pd.DataFrame({"Time (s)": picks / fs, "Value": signal[picks]})
    beats = _beat_frame(result, np.flatnonzero((analysis.samples >= first)
                                                 & (analysis.samples < last)))
    px_per_s, px_per_mv = MM_PER_S * PX_PER_MM, MM_PER_MV * PX_PER_MM
    opens: list = [first / fs, alt.ExprRef(f"{first / fs} + width / {px_per_s}")]
    if highlight is not None:  # centred on it, within the trace where the trace is wider
        middle = (highlight[0] + highlight[1]) / 2
        opens_at = (f"clamp({middle} - width / {2 * px_per_s}, {first / fs}, "
                    f"max({first / fs}, {last / fs} - width / {px_per_s}))")
        opens = [alt.ExprRef(opens_at), alt.ExprRef(f"{opens_at} + width / {px_per_s}")]
    x = alt.X("Time (s):Q", title="Time (s)", scale=alt.Scale(domain=opens, nice=False),
              axis=alt.Axis(grid=False, labelBound=True))  # no label cut at the edge
    top = BAND_PX if analysis.rhythm else 0
    low, high = strip_range(trace["Value"].to_numpy())
    ceiling = high + (top + HEADROOM_PX) / px_per_mv
    y = alt.Y("Value:Q", title=f"{analysis.lead} ({unit})",
              scale=alt.Scale(domain=[low, ceiling], nice=False, zero=False),
              axis=alt.Axis(grid=False, format="d",
                            values=list(range(math.ceil(low), math.floor(high) + 1))))
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    line = alt.Chart(trace).mark_line(color="#1a1a1a", strokeWidth=1.1, clip=True).encode(
        x=x, y=y).add_params(zoom)
    tooltip = ["Beat", "At", "Class", "Probability"]
    tooltip += ["Reference"] if "Reference" in beats else []
    colour = _class_colour(shown_classes(analysis))
    # Each beat's class letter and a mark over it, as on a Holter strip.
    letters = alt.Chart(beats).mark_text(fontWeight="bold", fontSize=12, clip=True).encode(
        x=x, y=alt.value(top + LETTER_PX), text="Class:N", color=colour, tooltip=tooltip)
    marks = alt.Chart(beats).mark_rule(strokeWidth=1.5, clip=True).encode(
        x=x, y=alt.value(top + MARK_PX[0]), y2=alt.value(top + MARK_PX[1]), color=colour)
    layers = [*_paper(x, y, (first / fs, last / fs), (low, ceiling))]
    if highlight is not None:
        span = pd.DataFrame({"Time (s)": [highlight[0]], "to": [highlight[1]]})
        layers.append(alt.Chart(span).mark_rect(color="#f2c94c", opacity=0.3).encode(
            x=x, x2="to:Q"))
    if analysis.rhythm:
        layers += _rhythm_layers(analysis.rhythm, x, first / fs, last / fs)
    layers += [marks, letters, line]
    return alt.layer(*layers).properties(height=round((ceiling - low) * px_per_mv),
                                         autosize=FIT_WIDTH)


def beat_window(analysis: RecordAnalysis, index: int) -> tuple[float, float]:
    """The span of the record (s) that beat ``index``'s model window covers."""
    times = window_times()
    step = float(times[1] - times[0])
    peak = float(analysis.times[index])
    return peak + float(times[0]), peak + float(times[-1]) + step


def beat_chart(analysis: RecordAnalysis, band: BeatSaliency, index: int,
               with_band: bool = True) -> alt.LayerChart:
    """Beat ``index``'s waveform (the analysed lead in its own units, over the model's
    window) with the saliency drawn as a coloured band under it and its colour bar (the
    waveform alone without ``with_band``: a flat map)."""
    signal, unit = lead_signal(analysis)
    fs = analysis.fs
    start, stop = beat_window(analysis, index)
    first, last = max(0, int(math.floor(start * fs))), min(len(signal), int(math.ceil(stop * fs)))
    peak = float(analysis.times[index])
    wave = pd.DataFrame({"ms": (np.arange(first, last) / fs - peak) * 1000.0,
                         "Value": signal[first:last]})
    step = float(band.times_s[1] - band.times_s[0])
    # The band sits in room left under the trace, in the trace's own units.
    low, high = float(wave["Value"].min()), float(wave["Value"].max())
    span = max(high - low, 1e-6)
    cells = pd.DataFrame({"ms": band.times_s * 1000.0, "to": (band.times_s + step) * 1000.0,
                          "Value": low - BAND_SPAN * span, "top": low - 0.05 * span,
                          "Saliency": np.round(band.saliency.astype(float), 3)})
    x = alt.X("ms:Q", title="Time from the R peak (ms)",
              scale=alt.Scale(domain=[(start - peak) * 1000.0, (stop - peak) * 1000.0],
                              nice=False))
    y = alt.Y("Value:Q", title=f"{analysis.lead} ({unit})",
              scale=alt.Scale(domain=[low - BAND_SPAN * span, high + 0.05 * span], nice=False))
    line = alt.Chart(wave).mark_line(color="#222222", strokeWidth=1.5).encode(x=x, y=y)
    strip = alt.Chart(cells).mark_rect().encode(
        x=x, x2="to:Q", y=y, y2="top:Q",
        color=alt.Color("Saliency:Q", scale=alt.Scale(scheme="reds", domain=[0, 1]),
                        legend=alt.Legend(
                            orient="right", title=["Influence on", f"P({band.explained_class})"],
                            values=[0, 1], labelExpr="datum.value == 0 ? 'low' : 'high'",
                            gradientLength=BEAT_HEIGHT * 0.6)),
        tooltip=[alt.Tooltip("ms:Q", title="ms from R", format=".0f"), "Saliency:Q"])
    layers = [strip, line] if with_band else [line]
    return alt.layer(*layers).properties(height=BEAT_HEIGHT)
