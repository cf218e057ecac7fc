"""Beat positions (XQRS detection against the reference, the vectorised peak helper),
matching within 150 ms, the beat inputs, the decision rule, and the record summary."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.ecg import beats, features, load_record
from dxcore.ecg.summary import summarise


def test_detection_on_record_100_meets_ec57_style_matching(mitdb_root):
    record = load_record(mitdb_root / "100")
    _, signal = record.lead()
    reference, _ = beats.reference_beats(record.annotations.symbol, record.annotations.sample)
    detected = beats.detect_beats(signal, record.fs)
    matched_reference, matched_detected = beats.match_beats(reference, detected, record.fs)
    assert len(matched_reference) / len(reference) > 0.995          # sensitivity
    assert len(matched_detected) / len(detected) > 0.995            # positive predictivity
    offsets = detected[matched_detected] - reference[matched_reference]
    assert np.median(np.abs(offsets)) <= 3                          # on the R peak


@pytest.mark.parametrize("radius", [5, 36, 37])
def test_vectorised_peaks_equal_wfdb_peaks(mitdb_root, radius):
    from wfdb.processing import peaks

    _, signal = load_record(mitdb_root / "208").lead()
    rng = np.random.default_rng(0)
    for sig in (signal[:20_000], np.round(signal[:20_000], 1), features.bandpass(signal)[:20_000],
                rng.integers(0, 3, 5000).astype(float)):  # plateaus and ties
        np.testing.assert_array_equal(beats.find_local_peaks(sig, radius),
                                      peaks.find_local_peaks(sig, radius))


def test_xqrs_uses_the_vectorised_helper():
    from wfdb.processing import qrs
    assert qrs.find_local_peaks is beats.find_local_peaks


def test_matching_uses_a_150_ms_window_and_pairs_each_beat_once():
    reference = np.array([1000, 2000, 3000])
    detected = np.array([1054, 1060, 2055, 2990])  # 150 ms = 54 samples at 360 Hz
    matched_reference, matched_detected = beats.match_beats(reference, detected, fs=360)
    assert matched_reference.tolist() == [0, 2]
    assert matched_detected.tolist() == [0, 3]


def test_aami_mapping_of_mitbih_symbols():
    symbols = np.array(list("NLRejAaJSVEF/fQ") + ["+", "~", "|", "x", "!"])
    assert "".join(beats.aami_labels(symbols)) == "NNNNNSSSSVVFQQQ"


def test_rr_features_mark_a_premature_beat():
    samples = np.arange(20) * 288  # 0.8 s at 360 Hz
    samples[10] -= 100             # beat 10 comes 0.28 s early
    rr = features.rr_features(samples)
    names = list(features.RR_FEATURES)
    assert rr[10, names.index("pre/local")] < 0.7
    assert rr[10, names.index("post/pre")] > 2.0
    assert rr[5, names.index("pre/record")] == pytest.approx(1.0)
    assert rr[10, names.index("local irregularity")] > 0.1
    assert not any("(s)" in name for name in features.CONTEXT_FEATURES)  # ratios only


def test_beat_inputs_are_scaled_per_record_and_compared_with_the_median_beat():
    fs = 360
    signal = np.zeros(fs * 12)
    samples = np.arange(200, fs * 12 - 200, 300)
    signal[samples] = 1.0
    signal[samples[5] - 3: samples[5] + 4] = [0.2, -0.5, 1.5, -2.0, 1.5, -0.5, 0.2]  # odd one
    small = features.model_inputs(signal, samples)
    large = features.model_inputs(5 * signal, samples)
    np.testing.assert_allclose(small["beat"], large["beat"], atol=1e-4)  # gain does not matter
    assert small["beat"].shape == (len(samples), features.WINDOW, 2)
    assert small["context"].shape == (len(samples), len(features.CONTEXT_FEATURES))
    difference = np.abs(small["beat"][:, :, 1]).max(axis=1)
    assert difference[5] > 10 * np.delete(difference, 5).max()  # only the odd beat differs
    qrs_correlation = small["context"][:, len(features.RR_FEATURES)]
    assert qrs_correlation[0] > 0.99 and qrs_correlation[5] < 0.9


def test_summary_runs_pauses_and_burden():
    times = np.concatenate([np.arange(30) * 0.8, 24 + 2.5 + np.arange(10) * 0.8])
    labels = np.array(["N"] * 10 + ["V", "V"] + ["N"] * 5 + ["V"] * 5 + ["N"] * 4 +
                      ["S"] * 3 + ["N"] * 11)
    summary = summarise(times, labels, duration_s=40, classes=["N", "S", "V", "F"])
    assert summary["beats_per_class"] == {"N": 30, "S": 3, "V": 7, "F": 0}
    assert summary["ectopic_burden_percent"] == 25.0
    assert summary["longest_v_run"] == 5 and summary["v_couplets"] == 1
    kinds = [e["kind"] for e in summary["episodes"]]
    assert kinds == ["ventricular run", "supraventricular run", "pause"]
    assert summary["episodes"][2]["rr_s"] == pytest.approx(3.3)


def test_decision_rule_adds_offsets_and_never_returns_a_class_without_one():
    from pathlib import Path

    from dxcore.cards import ModelCard
    from dxcore.models import EcgModel

    card = ModelCard({"class_names": ["N", "S", "V", "F"],
                      "decision_rule": {"log_offsets": {"N": 0.0, "S": 1.0, "V": 0.0}}},
                     Path("."))
    probabilities = np.array([[0.5, 0.3, 0.1, 0.1],    # S: log 0.3 + 1 > log 0.5
                              [0.1, 0.1, 0.1, 0.7],    # F is never returned
                              [0.2, 0.02, 0.7, 0.08]])
    assert EcgModel(card).decide(probabilities).tolist() == ["S", "S", "V"]
