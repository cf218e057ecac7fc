"""A record resampled to 250 Hz gives the same beats (positions and classes) as at 360 Hz,
within tolerance: the pipeline resamples to the model's rate and reports positions back at
the input's own rate."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from dxcore.ecg import load_record
from dxcore.ecg.beats import detect_beats, match_beats
from dxcore.ecg.record import EcgRecord, resample


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
