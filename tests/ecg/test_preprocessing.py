"""Each beat's inputs: RR ratios and the beat window, scaled per record."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.ecg import preprocessing as features


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
