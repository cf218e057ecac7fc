"""A record resampled to 250 Hz gives the same beats (positions and classes) as
at 360 Hz, within tolerance: the pipeline resamples to the model's rate and reports
positions back at the input's own rate. DS1 records only (DS2 is the held-out test split)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from scipy.signal import resample_poly

from dxcore.ecg import load_record, load_uploads
from dxcore.ecg.beats import detect_beats, match_beats
from dxcore.ecg.record import Annotations, EcgRecord, resample, to_rate


@pytest.fixture(scope="module")
def excerpts(mitdb_root) -> tuple[EcgRecord, EcgRecord]:
    """Five minutes of record 119 (frequent ventricular ectopy), without its annotations,
    at 360 Hz and resampled to 250 Hz."""
    record = load_record(mitdb_root / "119")
    signals = record.signals[:360 * 300].astype(np.float64)
    original = EcgRecord(signals, 360.0, record.lead_names, "119 at 360 Hz")
    lower = EcgRecord(resample_poly(signals, 25, 36, axis=0), 250.0, record.lead_names,
                      "119 at 250 Hz")
    return original, lower


def test_detected_positions_agree_in_time(excerpts):
    original, lower = excerpts
    at_360 = detect_beats(original.lead()[1], 360)
    at_250 = detect_beats(resample(lower.lead()[1], 250, 360), 360)
    matched, other = match_beats(at_360, at_250, 360)
    assert len(matched) >= 0.99 * max(len(at_360), len(at_250))
    assert np.abs(at_360[matched] - at_250[other]).max() <= 4  # 11 ms


def test_classes_agree_after_resampling(ecg_model, excerpts):
    original, lower = excerpts
    first = ecg_model.predict(original).detail
    second = ecg_model.predict(lower).detail
    assert second.fs == 250 and second.samples.max() < 250 * 300
    # Positions compared in milliseconds (the two analyses count samples at different rates).
    matched, other = match_beats(np.round(first.times * 1000), np.round(second.times * 1000),
                                 fs=1000)
    assert len(matched) >= 0.99 * len(first.labels)
    agreement = (first.labels[matched] == second.labels[other]).mean()
    assert agreement >= 0.98, agreement
    assert abs(first.summary["beats_per_class"]["V"] - second.summary["beats_per_class"]["V"]) \
        <= 0.03 * first.summary["beats_per_class"]["V"] + 2


@pytest.fixture(scope="module")
def record_101(mitdb_root) -> EcgRecord:
    """The DS1 record 101 (30 min) at 360 Hz with its reference beats."""
    record = load_record(mitdb_root / "101")
    return EcgRecord(record.signals.astype(np.float64), 360.0, record.lead_names, "whole",
                     annotations=record.annotations)


def csv_upload(record: EcgRecord, fs: float) -> dict[str, bytes]:
    """``record`` resampled to ``fs`` as an uploaded CSV with a time column (in memory)."""
    leads = [resample(lead, record.fs, fs) for lead in record.signals.T]
    table = np.column_stack([np.arange(len(leads[0])) / fs, *leads])
    text = io.StringIO()
    np.savetxt(text, table, fmt=["%.6f"] + ["%.4f"] * len(leads), delimiter=",",
               header="time," + ",".join(record.lead_names), comments="")
    return {"whole.csv": text.getvalue().encode()}


def test_a_csv_at_another_rate_gets_the_classes_of_360_hz_at_the_reference_beats(
        ecg_model, record_101, fs=250.0):
    """The reader keeps the CSV's own rate, the analysis resamples it to 360 Hz (with a
    note): at the same reference beats, the classes agree with the 360 Hz analysis for 98%
    of the beats. (Most of the rest are beats the signal-quality guard marks Q in one of
    the two analyses: a noisy stretch of 101 is at its threshold.)"""
    at_360 = ecg_model.predict(record_101)
    upload = load_uploads(csv_upload(record_101, fs))
    assert upload.fs == fs
    upload.annotations = Annotations(to_rate(record_101.annotations.sample, 360.0, fs),
                                     record_101.annotations.symbol)
    resampled = ecg_model.predict(upload)

    assert len(resampled.decisions) == len(at_360.decisions) > 1800
    agreement = (resampled.decisions == at_360.decisions).mean()
    assert agreement >= 0.98, agreement
    assert any(f"sampled at {fs:g} Hz; it was resampled to 360 Hz" in note
               for note in resampled.notes)
    assert not any("resampled" in note for note in at_360.notes)
