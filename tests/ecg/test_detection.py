"""Beats from the signal alone (dxcore.ecg.detection): the search-back finds the wide beats
XQRS misses, leaves T waves alone, finds every V beat of a DS1 minute where XQRS misses
most; where the detection stays unsure, the analysis says so. DS1 records only (DS2 is
the held-out test split)."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.ecg import EcgRecord, load_record
from dxcore.ecg.beats import detect_beats, match_beats, reference_beats
from dxcore.ecg.detection import find_beats
from dxcore.ecg.summary import MISSED

FS = 360


def wave(t: np.ndarray, at: float, width: float, height: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((t - at) / width) ** 2)


def with_wide_beats(seconds: float = 60.0, rr: float = 0.8) -> tuple[np.ndarray, np.ndarray,
                                                                      np.ndarray]:
    """A lead of narrow beats (P, QRS, T) every ``rr`` s where every fourth beat is a wide,
    low-slope one 30% early with a compensatory pause; the samples of both kinds."""
    t = np.arange(int(seconds * FS)) / FS
    lead = np.random.default_rng(0).normal(0, 0.01, len(t))
    narrow, wide, beat = [], [], 0.5
    for count in range(1, 1000):
        if beat >= seconds - 1:
            break
        if count % 4 == 0:
            at = beat - 0.3 * rr
            lead += wave(t, at, 0.04, 0.9) - wave(t, at + 0.12, 0.06, 0.5)
            wide.append(at)
            beat = at + 1.6 * rr
            continue
        lead += (wave(t, beat - 0.16, 0.03, 0.1) + wave(t, beat, 0.01, 1.0)
                 - wave(t, beat + 0.025, 0.008, 0.25) + wave(t, beat + 0.28, 0.05, 0.3))
        narrow.append(beat)
        beat += rr
    return lead, np.round(np.array(narrow) * FS).astype(int), \
        np.round(np.array(wide) * FS).astype(int)


def test_a_wide_low_slope_beat_that_xqrs_misses_is_found():
    lead, narrow, wide = with_wide_beats()
    assert len(match_beats(wide, detect_beats(lead, FS), FS)[0]) == 0  # XQRS: none
    found = find_beats(lead[:, None], FS)
    matched, at = match_beats(wide, found, FS)
    assert len(matched) == len(wide) > 10
    assert len(found) == len(narrow) + len(wide)                      # nothing else
    assert np.abs(found[at] - wide[matched]).max() <= 0.02 * FS       # on its peak


def test_a_tall_t_wave_in_a_long_rr_interval_is_not_counted_as_a_beat():
    """Every fifth RR interval is doubled (searched again) and every beat has a T wave
    60% as tall as its R wave, 350 ms after it."""
    t = np.arange(60 * FS) / FS
    beats = np.cumsum(np.where(np.arange(70) % 5 == 4, 1.6, 0.8)) - 0.3
    beats = beats[beats < 59]
    lead = sum(wave(t, b, 0.01, 1.0) - wave(t, b + 0.025, 0.008, 0.25)
               + wave(t, b + 0.35, 0.05, 0.6) for b in beats)
    lead += np.random.default_rng(1).normal(0, 0.01, len(t))
    found = find_beats(lead[:, None], FS)
    assert len(found) == len(beats)
    assert len(match_beats(np.round(beats * FS).astype(int), found, FS)[0]) == len(beats)


@pytest.fixture(scope="module")
def record_208(mitdb_root) -> EcgRecord:
    return load_record(mitdb_root / "208")


def test_every_v_beat_of_the_first_minute_of_208_is_found(record_208):
    """DS1 record 208, first minute, both leads: XQRS finds 3 of its 30 V beats."""
    minute = record_208.signals[:60 * FS].astype(np.float64)
    reference, labels = reference_beats(record_208.annotations.symbol,
                                        record_208.annotations.sample)
    labels, reference = labels[reference < len(minute)], reference[reference < len(minute)]
    is_v = labels == "V"
    xqrs, _ = match_beats(reference, detect_beats(minute[:, 0], FS), FS)
    assert is_v[xqrs].sum() <= 0.2 * is_v.sum()
    found = find_beats(minute, FS)
    matched, _ = match_beats(reference, found, FS)
    assert is_v[matched].sum() == is_v.sum() == 30
    assert len(matched) == len(reference) == len(found)


def excerpt(record: EcgRecord, start_s: float, end_s: float) -> EcgRecord:
    """Both leads of ``record`` from ``start_s`` to ``end_s``, without annotations."""
    return EcgRecord(record.signals[int(start_s * FS):int(end_s * FS)].astype(np.float64),
                     FS, record.lead_names, "excerpt")


def test_where_the_detection_is_unsure_the_analysis_says_so(ecg_model, record_208):
    """In 208 at 23:03-23:09 MLII goes flat while V1 shows six beats: no pause there, a
    doubt with its times, and the note; a clean minute has neither."""
    unsure = ecg_model.predict(excerpt(record_208, 1370, 1400)).detail
    doubts = unsure.summary["detection_doubts"]
    assert [d for d in doubts if d["reason"] == MISSED and d["start_s"] < 15 < d["end_s"]]
    assert not [e for e in unsure.summary["episodes"] if e["kind"] == "pause"]
    assert any(note.startswith(f"Beat detection is unsure in {len(doubts)} places (0:")
               for note in unsure.notes)
    clean = ecg_model.predict(excerpt(record_208, 0, 60)).detail
    assert clean.summary["detection_doubts"] == []
    assert not any("unsure" in note for note in clean.notes)
