"""The rhythm of a record (dxcore.ecg.rhythm): AF episodes on the DS1 records that hold
atrial fibrillation, bigeminy on record 119, episodes covering the record, and beats read
with the rhythm. DS1 records only (DS2 is the held-out test split)."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.ecg import rhythm
from dxcore.ecg.rhythm_labels import AF_LABELS, RHYTHM_LABELS


def reference_af_seconds(mitdb_root, name: str, duration_s: float) -> np.ndarray:
    import wfdb

    annotation = wfdb.rdann(str(mitdb_root / name), "atr")
    episodes = rhythm.reference_episodes(annotation.sample, annotation.aux_note, 360.0,
                                         duration_s)
    return np.isin(rhythm.per_second(episodes, duration_s), AF_LABELS)


@pytest.fixture(scope="module")
def record_201(ecg_model, mitdb_root):
    """Record 201 read as a new patient's: its beats detected, its rhythm notes unread."""
    return ecg_model.predict(mitdb_root / "201", use_reference=False)


def test_af_episodes_of_record_201_match_its_reference_rhythm(record_201, mitdb_root):
    analysis = record_201.detail
    duration = analysis.record.duration_s
    found = np.isin(rhythm.per_second(analysis.rhythm, duration), AF_LABELS)
    reference = reference_af_seconds(mitdb_root, "201", duration)
    # 201 is a training record of the AF model: this checks the wiring, not generalisation
    assert (found & reference).sum() / reference.sum() >= 0.9
    assert (found & reference).sum() / found.sum() >= 0.8
    assert abs(analysis.summary["af_burden_percent"] - 100 * reference.mean()) < 5


def test_episodes_cover_the_record_in_order_with_known_codes(record_201):
    analysis = record_201.detail
    episodes = analysis.rhythm
    assert episodes[0]["start_s"] == 0.0
    assert episodes[-1]["end_s"] == pytest.approx(analysis.record.duration_s, abs=1e-3)
    for before, after in zip(episodes, episodes[1:], strict=False):
        assert before["end_s"] == after["start_s"] and before["label"] != after["label"]
    assert {e["label"] for e in episodes} <= set(RHYTHM_LABELS)
    line = record_201.as_json()[0]
    assert line["rhythm"] == episodes
    assert "af_burden_percent" in line["summary"]


def test_no_supraventricular_beat_is_called_inside_atrial_fibrillation(record_201):
    analysis = record_201.detail
    in_af = np.zeros(len(analysis.times), bool)
    for episode in analysis.rhythm:
        if episode["label"] in AF_LABELS:
            in_af |= (analysis.times >= episode["start_s"]) & (analysis.times < episode["end_s"])
    assert in_af.sum() > 500
    assert not np.any(analysis.labels[in_af] == "S")


def test_record_119_shows_its_bigeminy_and_trigeminy(ecg_model, mitdb_root):
    analysis = ecg_model.predict(mitdb_root / "119", use_reference=False).detail
    labels = {e["label"] for e in analysis.rhythm}
    assert {"B", "T"} <= labels and "AFIB" not in labels
    kinds = {e["kind"] for e in analysis.summary["episodes"]}
    assert "ventricular bigeminy" in kinds
    assert analysis.summary["af_burden_percent"] == 0.0


def test_a_regular_sinus_record_has_no_af(ecg_model, mitdb_root):
    analysis = ecg_model.predict(mitdb_root / "101", use_reference=False).detail
    assert analysis.summary["af_burden_percent"] == 0.0


def test_ventricular_tachycardia_and_a_slow_run_are_told_apart():
    times = np.concatenate([np.arange(20) * 0.8, 16 + np.arange(5) * 0.4,
                            18 + np.arange(20) * 0.8, 34 + np.arange(4) * 1.0,
                            38 + np.arange(10) * 0.8])
    labels = np.array(["N"] * 20 + ["V"] * 5 + ["N"] * 20 + ["V"] * 4 + ["N"] * 10)
    codes = rhythm.beat_rhythms(times, labels, np.zeros(len(times), bool))
    assert set(codes[20:25]) == {"VT"} and set(codes[45:49]) == {"IVR"}


def test_sinus_bradycardia_needs_30_seconds_below_60_bpm():
    slow = np.arange(40) * 1.25                       # 48 bpm for 49 s
    labels = np.full(40, "N")
    assert set(rhythm.beat_rhythms(slow, labels, np.zeros(40, bool))) == {"SBR"}
    brief = np.concatenate([np.arange(60) * 0.8, 48 + np.arange(10) * 1.25])
    assert "SBR" not in rhythm.beat_rhythms(brief, np.full(70, "N"), np.zeros(70, bool))


def test_reading_beats_with_the_rhythm():
    names = ["N", "S", "V", "F"]
    probabilities = np.array([[0.2, 0.7, 0.1, 0.0],   # S in AF -> N
                              [0.2, 0.7, 0.1, 0.0],   # S outside AF stays
                              [0.3, 0.1, 0.6, 0.0],   # V shaped like the dominant beat -> N
                              [0.3, 0.1, 0.6, 0.0]])  # V with its own QRS stays
    context = np.zeros((4, 11), np.float32)
    context[:, rhythm.QRS_SIZE] = 1.0
    context[:, rhythm.QRS_CORRELATION] = [0.99, 0.99, 0.99, 0.6]
    decided = rhythm.conditioned_decisions(np.array(["S", "S", "V", "V"]), probabilities,
                                           names, np.array([True, False, False, False]),
                                           context, v_min_difference=0.05)
    assert decided.tolist() == ["N", "S", "N", "V"]
