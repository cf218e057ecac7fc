"""The ECG page: a real MIT-BIH record uploaded as WFDB files (with and without its reference
annotations), a CSV with and without a time column, bad uploads, an unexpected failure,
and the page without the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dxcore.cards import ModelCard
from dxcore.contract import DecisionRule
from dxcore.ecg import EcgModel
from dxui import ecg, ecg_charts
from dxui.common import NOTICE, PPV_MEANS, UNEXPECTED_ERROR, card_metrics_table
from dxui.navigation import page_for_model
from tests.app_pages.conftest import (
    assert_targets_warned,
    chart_frames,
    is_probability_chart,
    open_app,
    other_charts,
    probability_bars,
    shown,
)
from tests.app_pages.test_chest_xray import rendered_text
from tests.helpers import real_ecg, record_files, synthetic_ecg, wfdb_bytes, with_rhythm

PAGE = "app_pages/ecg.py"
# tf-keras-vis calls the functional model with a list; Keras warns, harmlessly.
pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")
RECORD = "233"  # DS2: frequent V beats, V runs and a few S and F beats
SUMMARY_LABELS = ["Duration", "Mean heart rate", "Beats", "Ectopic burden", "Longest V run",
                  "Low-confidence beats", "AF burden"]
# Until the rhythm analysis exists, a rhythm made by hand over 90 s of record 201 (which opens
# in atrial fibrillation); AF burden (36 + 11) s of 90 s.
RHYTHM = [{"label": "AFIB", "start_s": 0.0, "end_s": 36.0},
          {"label": "N", "start_s": 36.0, "end_s": 70.0},
          {"label": "AFL", "start_s": 70.0, "end_s": 81.0},
          {"label": "N", "start_s": 81.0, "end_s": 90.0}]


def upload(app: AppTest, files: dict[str, bytes]) -> AppTest:
    app.file_uploader[0].set_value(
        [(name, data, "application/octet-stream") for name, data in files.items()])
    return app.run()


def charts(app: AppTest) -> list[dict]:
    """The Vega-Lite specs of the page's charts, in page order."""
    return [json.loads(chart.proto.spec) for chart in other_charts(app)]


def axis_titles(spec: dict) -> set[str]:
    """Every axis title of a (layered) chart spec."""
    titles = set()
    for layer in spec.get("layer", [spec]):
        for channel in ("x", "y"):
            title = layer.get("encoding", {}).get(channel, {}).get("title")
            if title:
                titles.add(title)
    return titles


def strip_opens_at(spec: dict) -> float:
    """The time (s) a page's strip chart opens at; the page's width sets its end, at
    25 mm/s (100 px a second)."""
    start, end = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert end == {"expr": f"{start} + width / 100.0"}
    return start


def strip_frame(chart, *columns: str) -> pd.DataFrame:
    """The frame of a strip chart's layer that has these columns (the trace: "Time (s)" and
    "Value"; the rhythm band: "Code")."""
    return next(frame for frame in chart_frames(chart) if set(columns) <= set(frame.columns))


def strip_layers(spec: dict, mark: str) -> list[dict]:
    """A strip chart's layers of one mark type."""
    return [layer for layer in spec["layer"] if layer["mark"]["type"] == mark]


def csv_bytes(signals: np.ndarray, fs: float | None) -> bytes:
    """Two leads as CSV, with a time column in seconds when ``fs`` is given."""
    header = ("time," if fs else "") + "MLII,V5"
    lines = [(f"{i / fs:.5f}," if fs else "") + f"{a:.4f},{b:.4f}"
             for i, (a, b) in enumerate(signals)]
    return ("\n".join([header, *lines]) + "\n").encode()


@pytest.fixture
def page(ecg_card) -> AppTest:
    return open_app(PAGE)


@pytest.fixture(scope="module")
def record_233(mitdb_root: Path) -> dict[str, bytes]:
    return record_files(mitdb_root, RECORD)


@pytest.fixture(scope="module")
def record_208(mitdb_root: Path) -> dict[str, bytes]:
    """A DS1 (training) record: its first beat is fusion (F), the model's P(F) 0.97, but
    the card's rule never returns F; many low-amplitude beats XQRS misses."""
    return record_files(mitdb_root, "208")


def folded_bars(app: AppTest) -> pd.DataFrame:
    """The probability bars' frame of the beat shown (labels, lengths, which is decided)."""
    [chart] = [chart for chart in app.get("vega_lite_chart") if is_probability_chart(chart)]
    return next(f for f in chart_frames(chart) if "Decided" in f.columns)


def test_navigation_runs_the_ecg_model_here():
    assert page_for_model("ecg-beats").path == PAGE


def test_page_opens_with_notice_uploader_and_model_card(page, ecg_card):
    assert not page.exception
    assert not page.error
    assert any(NOTICE in warning.value for warning in page.warning)
    [uploader] = page.file_uploader
    assert not uploader.allowed_type  # any file: the page checks the type
    assert uploader.accept_multiple_files
    [rate] = page.number_input
    assert rate.label == "CSV sampling rate (Hz)" and rate.value is None
    assert "About the model" in [header.value for header in page.subheader]
    assert ecg_card["intended_use"] in [markdown.value for markdown in page.markdown]
    assert not page.metric and not charts(page)


def test_page_names_the_targets_the_model_misses(page, ecg_card):
    assert_targets_warned(page, ecg_card)
    if any(check.metric.endswith("_ppv") for check in ecg_card.unmet_targets()):
        assert any(PPV_MEANS in warning.value for warning in page.warning)


def test_wfdb_record_shows_summary_first_then_strip(page, record_233):
    files = {name: data for name, data in record_233.items() if not name.endswith(".atr")}
    upload(page, files)

    assert not page.exception
    assert not page.error
    assert [metric.label for metric in page.metric] == SUMMARY_LABELS
    summary = {metric.label: metric.value for metric in page.metric}
    assert summary["Duration"] == "30 min 6 s"
    beats = int(summary["Beats"].replace(",", ""))
    assert 2900 < beats < 3200  # XQRS on 30 min of record 233 (3,079 reference beats)
    per_class = page.table[0].value
    assert list(per_class["Class"]) == ["N", "S", "V", "F", "Q"]  # Q: unclassifiable
    # Each class read as the card names it, not only by its AAMI letter.
    assert per_class.set_index("Class").loc["V", "Meaning"] == "ventricular ectopic beat (V)"
    assert per_class.set_index("Class").loc["Q", "Meaning"] == "unclassifiable beat (Q)"
    assert per_class["Beats"].astype(int).sum() == beats
    assert int(summary["Low-confidence beats"].replace(",", "")) < beats
    assert per_class.set_index("Class").loc["V", "Beats"] > 500
    assert "beat positions: detected (XQRS and a search-back)" in rendered_text(page)
    headers = [header.value for header in page.subheader]
    assert headers.index("Record summary") < headers.index("The whole record")
    assert "Reference annotations" not in headers
    assert page.selectbox[0].label == "Lead" and page.selectbox[0].value == "MLII"
    assert page.selectbox[0].options == ["MLII", "V1"]

    overview, strip, beat, around = charts(page)
    assert axis_titles(overview) == {"Time (min)", "Heart rate (bpm)"}
    assert axis_titles(strip) == {"Time (s)", "MLII (mV)"}
    assert axis_titles(beat) == {"Time from the R peak (ms)", "MLII (mV)"}
    assert axis_titles(around) == {"Time (s)", "MLII (mV)"}
    table = page.dataframe[-1].value
    assert set(table["Class"]) <= {"S", "V", "F", "Q"} and "V" in set(table["Class"])
    assert "F" not in set(table["Class"])  # the card's rule never returns F
    assert set(table.loc[table["Class"] == "V", "Meaning"]) == {"ventricular ectopic beat (V)"}

    # The rhythm analysed from the signal: 233 has ventricular bigeminy and no AF.
    assert summary["AF burden"] == "0.0 %"
    assert "**Rhythm episodes**" in [markdown.value for markdown in page.markdown]
    assert any("Rhythm" in layer["encoding"].get("fill", {}).get("field", "")
               for layer in strip["layer"])

    # Every beat of the minute marked (a letter and a rule) in its class's colour, the
    # legend naming the classes the record has beats of, Q included.
    beats = strip_frame(other_charts(page)[1], "Beat", "Class")
    minutes = strip_frame(other_charts(page)[0], "Minutes")["Minutes"]
    assert len(beats) == (minutes < 1.0).sum() > 60
    present = list(per_class.loc[per_class["Beats"] > 0, "Class"])
    for mark in ("text", "rule"):
        [layer] = [layer for layer in strip_layers(strip, mark)
                   if layer["encoding"].get("color", {}).get("field") == "Class"]
        assert layer["encoding"]["color"]["scale"]["domain"] == present

    # ECG paper: minor lines every 0.04 s and 0.1 mV, major every fifth, drawn at 10 mm/mV
    # (40 px: the height is the mV range times 40) and 25 mm/s (the view 100 px a second).
    paper = [layer for layer in strip_layers(strip, "rule") if "sequence" in layer["data"]]
    assert [(layer["mark"]["color"], next(t["calculate"] for t in layer["transform"]
                                          if t.get("calculate", "").startswith("datum.mm")))
            for layer in paper] == [
        (ecg_charts.PAPER_MINOR, "datum.mm * 0.04"), (ecg_charts.PAPER_MINOR, "datum.mm * 0.1"),
        (ecg_charts.PAPER_MAJOR, "datum.mm * 0.04"), (ecg_charts.PAPER_MAJOR, "datum.mm * 0.1")]
    low, high = paper[1]["encoding"]["y"]["scale"]["domain"]
    assert strip["height"] == pytest.approx((high - low) * 40, abs=1)

    # Around the first beat listed (at 1.4 s), the strip opens centred on it but not before
    # the record's start.
    opens_at = around["layer"][0]["encoding"]["x"]["scale"]["domain"][0]["expr"]
    assert opens_at.startswith("clamp(") and ", 0.0, max(0.0, " in opens_at

    [pager] = page.get("select_slider")
    assert (pager.options[0], pager.options[-1]) == ("0:00–1:00", "30:00–30:06")
    assert strip_opens_at(strip) == 0.0
    trace = strip_frame(other_charts(page)[1], "Time (s)", "Value")["Time (s)"]
    assert (trace.min(), trace.max()) == (0.0, pytest.approx(60.0, abs=0.01))  # the minute
    pager.set_value(300.0).run()
    assert not page.exception
    assert strip_opens_at(charts(page)[1]) == 300.0


def test_the_rhythm_shows_as_af_burden_episodes_and_a_band_over_the_strip(page, mitdb_root,
                                                                          monkeypatch):
    with_rhythm(monkeypatch, RHYTHM, af_burden_percent=52.2)
    # 90 s of record 201 that no other test uploads: no cached analysis answers for them.
    upload(page, wfdb_bytes(real_ecg(mitdb_root, seconds=90.0, record="201"), name="af201"))

    assert not page.exception and not page.error
    summary = {metric.label: metric.value for metric in page.metric}
    assert list(summary)[-1] == "AF burden" and summary["AF burden"] == "52.2 %"
    assert "**Rhythm episodes**" in [markdown.value for markdown in page.markdown]
    [episodes] = [frame.value for frame in page.dataframe if "Rhythm" in frame.value.columns]
    assert episodes.values.tolist() == [
        ["atrial fibrillation (AFIB)", "0:00.0", "0:36.0", "36.0 s"],
        ["sinus rhythm (N)", "0:36.0", "1:10.0", "34.0 s"],
        ["atrial flutter (AFL)", "1:10.0", "1:21.0", "11.0 s"],
        ["sinus rhythm (N)", "1:21.0", "1:30.0", "9.0 s"]]

    chart = other_charts(page)[1]
    spec = json.loads(chart.proto.spec)
    band = strip_frame(chart, "Code", "Rhythm", "to")
    assert band[["Time (s)", "to", "Code"]].values.tolist() == [[0.0, 36.0, "AFIB"],
                                                                [36.0, 60.0, "N"]]
    [fill] = [layer["encoding"]["fill"] for layer in spec["layer"]
              if "fill" in layer["encoding"]]
    assert fill["scale"] == {"domain": ["sinus rhythm (N)", "atrial fibrillation (AFIB)",
                                        "atrial flutter (AFL)"],
                             "range": [ecg_charts.RHYTHM_COLOURS[c] for c in ("N", "AFIB", "AFL")]}
    assert fill["legend"]["labelLimit"] == 0  # the words are never cut off
    codes = strip_frame(chart, "Code")
    assert set(codes["Code"]) == {"AFIB", "N"} and 0.0 in set(codes["Time (s)"])
    assert any("band above the trace shows the rhythm" in caption.value
               for caption in page.caption)
    assert strip_opens_at(spec) == 0.0

    page.get("select_slider")[0].set_value(60.0).run()
    assert not page.exception
    band = strip_frame(other_charts(page)[1], "Code", "Rhythm", "to")
    assert band[["Time (s)", "to", "Code"]].values.tolist() == [
        [60.0, 70.0, "N"], [70.0, 81.0, "AFL"], [81.0, pytest.approx(90.0, abs=0.01), "N"]]


def test_the_page_states_the_cards_decision_rule(page, record_233, ecg_card):
    from dxcore.contract import DecisionRule
    from dxui.results import rule_text

    upload(page, record_233)

    assert not page.exception
    rule = rule_text(DecisionRule.from_card(ecg_card))
    if not any(ecg_card.log_offsets.values()):  # the shipped card: no offsets
        assert rule == ("**the most probable of N, S and V** (plain argmax); F is never "
                        "returned, so its probability is counted with the class given (shown "
                        "as P(N or F))")
    captions = [caption.value for caption in page.caption]
    assert any(caption.startswith("Pick a row") and rule in caption for caption in captions)
    assert any(caption.startswith(f"Decision rule: {rule}.") for caption in captions)
    assert "chosen on validation" not in rendered_text(page)


def test_reference_annotations_are_shown_with_the_agreement(page, record_233):
    upload(page, record_233)

    assert not page.exception
    assert not page.error
    assert "Reference annotations" in [header.value for header in page.subheader]
    [agreement] = [m for m in page.metric if m.label == "Agreement with the reference"]
    assert 80.0 < float(agreement.value.rstrip(" %")) <= 100.0
    summary = {metric.label: metric.value for metric in page.metric}
    assert summary["Beats"] == "3,079"  # the reference beats of record 233
    crosstab = page.table[1].value  # after the beats per class
    assert list(crosstab.columns) == ["Predicted N", "Predicted S", "Predicted V",
                                      "Predicted F", "Predicted Q", "Agreement"]
    assert list(crosstab.index) == ["Reference N", "Reference S", "Reference V",
                                    "Reference F"]
    assert crosstab.drop(columns="Agreement").to_numpy().sum() == 3079
    table = page.dataframe[-1].value
    assert "Reference" in table
    assert "beat positions: reference annotations" in rendered_text(page)


def test_a_paced_record_is_flagged_and_its_paced_beats_are_unclassifiable(page, mitdb_root):
    files = {name: data for name, data in record_files(mitdb_root, "107").items()
             if not name.endswith(".atr")}  # the pacing is found in the signal itself
    upload(page, files)

    assert not page.exception
    assert not page.error
    assert any(warning.value.startswith("**Paced rhythm: the model was not trained on paced "
                                        "beats.") for warning in page.warning)
    per_class = page.table[0].value.set_index("Class")
    assert per_class.loc["Q", "Beats"] > 0
    table = page.dataframe[-1].value
    assert "paced" in " ".join(table.loc[table["Class"] == "Q", "Why Q"])


def test_choosing_a_beat_method_and_lead(page, record_233):
    upload(page, record_233)
    beat = page.selectbox[1]
    assert beat.label == "Beat"
    assert page.radio[0].value == "gradcam"

    beat.select_index(3).run()
    assert page.selectbox[1].value == page.dataframe[-1].value.index[3]
    page.radio[0].set_value("saliency").run()

    assert not page.exception
    assert not page.error
    captions = [caption.value for caption in page.caption]
    assert any(text.startswith("Saliency for class ") for text in captions)
    # one bar per class the rule returns (F, never returned, is counted in the class given)
    assert [len(bars) for bars in probability_bars(page)] == [3]
    assert len(charts(page)) == 4

    page.selectbox[0].set_value("V1").run()
    assert not page.exception
    assert not page.error
    assert any("trained on lead MLII" in info.value for info in page.info)
    assert axis_titles(charts(page)[1]) == {"Time (s)", "V1 (mV)"}


def test_a_beats_class_agrees_with_its_probabilities(page, record_208, ecg_card):
    """208's first beat: reference F, P(F) 0.97, decided N by the card's rule (which never
    returns F). It must not read "N (P = 0.02)": its probability is P(N or F)."""
    upload(page, record_208)
    page.toggle[0].set_value(True).run()  # the beat is classed N
    assert not page.exception and not page.error
    table = page.dataframe[-1].value
    first = table.index[0]
    page.selectbox[1].set_value(first).run()

    option = page.selectbox[1].format_func(first)
    if DecisionRule.from_card(ecg_card).never_returned == ["F"]:  # the shipped card's rule
        assert option.startswith("Beat 1 at 0:00") and \
            "normal or bundle branch block beat (N), P(N or F) = 0.99; P(F) = 0.97" \
            in option and option.endswith("reference F")
        assert {"Probability", "P(F)"} <= set(table.columns)
    bars = folded_bars(page)
    decided = bars.loc[bars["Decided"]]
    assert len(decided) == 1 and decided["Probability"].iloc[0] == bars["Probability"].max()
    assert decided["Class"].iloc[0].startswith(f"P({table.loc[first, 'Class']}")
    assert bars["Probability"].sum() == pytest.approx(1.0, abs=1e-3)
    # every listed beat: the probability shown is its class's, the largest of the bars'
    classified = table["Class"] != "Q"
    for column in [c for c in table.columns if c.startswith("P(")]:
        assert (table.loc[classified, "Probability"] >= table.loc[classified, column]).all()


def test_the_picked_beat_survives_the_n_toggle_and_n_beats_stay_out(page, record_208):
    upload(page, record_208)
    listed = page.dataframe[-1].value
    assert "N" not in set(listed["Class"])  # with the toggle off, no beat classed N
    seventh = listed.index[6]
    page.selectbox[1].set_value(seventh).run()

    page.toggle[0].set_value(True).run()
    assert not page.exception
    assert page.selectbox[1].value == seventh
    assert "N" in set(page.dataframe[-1].value["Class"])
    page.toggle[0].set_value(False).run()
    assert page.selectbox[1].value == seventh
    assert "N" not in set(page.dataframe[-1].value["Class"])


def test_detected_pauses_are_checked_in_the_signal_and_episodes_do_not_overlap(
        page, record_208):
    """Without its .atr, the detection misses the beats of 208 that MLII does not show
    (it goes flat or noisy there): the long RR intervals with a deflection inside, in
    either lead, are no pauses (the reference has 1 to 8 beats in each)."""
    upload(page, {name: data for name, data in record_208.items()
                  if not name.endswith(".atr")})

    assert not page.exception and not page.error
    episodes = page.dataframe[0].value
    assert "Pause" not in set(episodes["Episode"])
    assert any("RR intervals over 2 s hold a beat-like deflection that the beat detection missed"
               in shown(info.value) for info in page.info)
    for _, same in episodes.groupby("Episode"):
        starts, ends = list(same["Start"]), list(same["End"])
        assert all(ecg_seconds(start) > ecg_seconds(end)
                   for start, end in zip(starts[1:], ends[:-1], strict=True)), same
    assert any("one of the 22 records the model was trained on (DS1)" in shown(info.value)
               for info in page.info)

    overview = charts(page)[0]
    assert overview["height"] >= 150
    y = overview["encoding"]["y"]
    low, high = y["scale"]["domain"]
    assert 0 <= low <= 60 < 100 < high <= 250 and y["axis"]["tickCount"] >= 5


def ecg_seconds(clock: str) -> float:
    """``"6:04.9"`` -> 364.9."""
    seconds = 0.0
    for part in clock.split(":"):
        seconds = 60 * seconds + float(part)
    return seconds


@pytest.mark.parametrize(("names", "message"), [
    (["rec.hea"], "The header rec.hea needs the signal file rec.dat, which was not given. "
                  "Upload the .hea and .dat files of the record together."),
    (["rec.dat"], "rec.dat came without its header rec.hea. Upload the .hea and .dat files "
                  "of record rec together."),
])
def test_incomplete_record_shows_one_clear_error(page, names, message):
    files = wfdb_bytes(synthetic_ecg())
    upload(page, {name: files[name] for name in names})

    assert not page.exception
    assert [shown(error.value) for error in page.error] == [message]
    assert not page.metric and not charts(page)


def test_files_of_two_records_are_refused(page):
    first, second = wfdb_bytes(synthetic_ecg(), name="a"), wfdb_bytes(synthetic_ecg(), name="b")
    upload(page, {"a.hea": first["a.hea"], "b.dat": second["b.dat"]})

    assert not page.exception
    [error] = page.error
    assert shown(error.value).startswith("The files belong to different records (a, b).")
    assert not page.metric


def test_csv_rate_is_used_only_without_a_time_column(page, mitdb_root):
    signals = real_ecg(mitdb_root, seconds=20.0, fs=360)
    upload(page, {"strip.csv": csv_bytes(signals, fs=None)})
    assert not page.exception
    assert [shown(error.value) for error in page.error] == [
        "The CSV file has no time column (in seconds); enter the sampling rate it was "
        "recorded at, in Hz."]

    page.number_input[0].set_value(360.0).run()
    assert not page.exception
    assert not page.error
    assert {m.label: m.value for m in page.metric}["Duration"] == "20.0 s"

    # With a time column (here 250 Hz), the rate typed on the page is not used.
    upload(page, {"timed.csv": csv_bytes(real_ecg(mitdb_root, seconds=20.0, fs=250), fs=250)})
    assert not page.exception
    assert not page.error
    assert {m.label: m.value for m in page.metric}["Duration"] == "20.0 s"
    assert any("read from the time column" in info.value for info in page.info)


def test_an_edf_plus_record_at_250_hz_is_analysed_with_its_annotations(page, mitdb_root):
    from tests.helpers import edf_excerpt

    upload(page, {"holter.edf": edf_excerpt(mitdb_root, seconds=60.0, fs=250)[0]})

    assert not page.exception and not page.error
    summary = {metric.label: metric.value for metric in page.metric}
    assert summary["Duration"] == "1 min 0 s"
    assert "Reference annotations" in [header.value for header in page.subheader]
    assert "MLII · 250 Hz · beat positions: reference annotations" in rendered_text(page)
    assert any("sampled at 250 Hz; it was resampled to 360 Hz" in shown(info.value)
               for info in page.info)


def test_a_12_lead_record_without_mlii_shows_and_analyses_lead_ii(page, mitdb_root):
    """The lead the page offers first is the lead analysed: lead II of a 12-lead record
    (its lead I, first in the file, is one the quality guard refuses)."""
    from tests.helpers import TWELVE_LEADS, twelve_lead_ecg

    upload(page, wfdb_bytes(twelve_lead_ecg(mitdb_root, seconds=20.0), fs=500,
                            leads=TWELVE_LEADS))

    assert not page.exception and not page.error
    assert page.selectbox[0].value == "II" and page.selectbox[0].options == list(TWELVE_LEADS)
    assert "II · 500 Hz · beat positions: detected (XQRS and a search-back)" in rendered_text(page)
    assert any(shown(info.value).startswith("Lead II was analysed; the model was trained on "
                                            "lead MLII") for info in page.info)


def test_unexpected_failure_shows_a_plain_message_not_a_traceback(page, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("internal detail that must not reach the browser")

    monkeypatch.setattr(EcgModel, "predict", broken)
    # A record no other test uploads, so that no cached analysis answers for it.
    upload(page, wfdb_bytes(synthetic_ecg(seconds=15.0, rate_bpm=66), name="odd"))

    assert not page.exception
    assert [shown(error.value) for error in page.error] == [UNEXPECTED_ERROR]
    assert "internal detail" not in rendered_text(page)
    assert not page.metric and not charts(page)


def test_page_without_the_model_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("DX_MODELS_DIR", str(tmp_path))  # an empty registry
    app = open_app(PAGE)

    assert not app.exception
    assert not app.error
    assert any(NOTICE in warning.value for warning in app.warning)
    assert [info.value for info in app.info] == [ecg.MODEL_MISSING]
    assert not app.file_uploader


# --- Helpers that need no Streamlit session -----------------------------------------------


def test_strip_envelope_keeps_every_peak_within_its_budget():
    rng = np.random.default_rng(0)
    signal = rng.normal(0, 0.05, 30 * 60 * 360)  # 30 min at 360 Hz
    peaks = np.arange(100, len(signal), 300)
    signal[peaks] = 1.0 + rng.uniform(0, 1, len(peaks))
    signal[peaks + 20] = -1.0 - rng.uniform(0, 1, len(peaks))

    picks = ecg_charts.envelope(signal, ecg_charts.STRIP_POINTS)

    assert len(picks) <= ecg_charts.STRIP_POINTS
    assert np.all(np.diff(picks) > 0)
    assert set(peaks) <= set(picks) and set(peaks + 20) <= set(picks)
    assert ecg_charts.envelope(signal[:1000], ecg_charts.STRIP_POINTS).tolist() == list(range(1000))


def test_ecg_card_metrics_table_lists_numbers_only():
    metrics = {"accuracy": {"value": 0.88, "ci95": [0.79, 0.94]},
               "V_ppv": {"value": 0.51, "ci95": [0.22, 0.85]},
               "confusion_matrix": {"value": [[1, 2], [3, 4]], "rows": "reference"},
               "beat_positions": {"value": "reference annotations"},
               "end_to_end": None, "n": {"value": 49705}}
    card = ModelCard({"id": "ecg-beats", "class_names": ["N", "S", "V", "F"],
                      "test_metrics": metrics}, Path("."))

    table = card_metrics_table(card)

    assert list(table["Metric"]) == ["Accuracy", "V PPV", "Test set size"]


def test_rhythm_band_cuts_the_episodes_to_the_page_and_names_each_along_it():
    rhythm = [{"label": "N", "start_s": 0.0, "end_s": 50.0},
              {"label": "AFIB", "start_s": 50.0, "end_s": 64.0},
              {"label": "AFIB", "start_s": 64.0, "end_s": 80.0},  # one episode, cut in two
              {"label": "SVTA", "start_s": 80.0, "end_s": 81.2},
              {"label": "NOD", "start_s": 81.2, "end_s": 150.0},  # a code without words
              {"label": "N", "start_s": 150.0, "end_s": 200.0}]

    segments, labels = ecg_charts.rhythm_band(rhythm, 60.0, 120.0)

    assert segments[["Time (s)", "to", "Code", "Rhythm"]].values.tolist() == [
        [60.0, 80.0, "AFIB", "atrial fibrillation (AFIB)"],
        [80.0, 81.2, "SVTA", "supraventricular tachyarrhythmia (SVTA)"],
        [81.2, 120.0, "NOD", "NOD"]]
    # The tooltip gives the whole episode, not the part on this page.
    assert segments[["From", "To", "Duration"]].values.tolist()[0] == ["0:50.0", "1:20.0", "30.0 s"]
    # Each code at its segment's start, then on every 5 s inside it, none squeezed
    # against the segment's end.
    assert labels.values.tolist() == [
        [60.0, "AFIB"], [65.0, "AFIB"], [70.0, "AFIB"], [75.0, "AFIB"], [80.0, "SVTA"],
        [81.2, "NOD"], *[[at, "NOD"] for at in (85.0, 90.0, 95.0, 100.0, 105.0, 110.0, 115.0)]]

    empty, no_labels = ecg_charts.rhythm_band([], 0.0, 60.0)
    assert empty.empty and list(empty.columns) == ["Time (s)", "to", "Code", "Rhythm", "From",
                                                   "To", "Duration"]
    assert no_labels.empty


def test_record_119_shows_its_bigeminy_in_the_band_and_the_episodes(page, mitdb_root):
    """A DS1 record of frequent ventricular bigeminy and trigeminy, uploaded without its
    annotations: the rhythm is read from the signal, no AF."""
    upload(page, record_files(mitdb_root, "119", (".hea", ".dat")))
    assert not page.exception and not page.error
    summary = {metric.label: metric.value for metric in page.metric}
    assert summary["AF burden"] == "0.0 %"
    [episodes] = [frame.value for frame in page.dataframe if "Rhythm" in frame.value.columns]
    rhythms = set(episodes["Rhythm"])
    assert "ventricular bigeminy (B)" in rhythms and "ventricular trigeminy (T)" in rhythms
    strip = charts(page)[1]
    band = [layer for layer in strip["layer"]
            if "Rhythm" in layer["encoding"].get("fill", {}).get("field", "")]
    assert band
    # The summary's episodes worth a look name the bigeminy too.
    assert any("Ventricular bigeminy" in str(frame.value.get("Episode", pd.Series()).tolist())
               for frame in page.dataframe)
