"""Golub's preprocessing and the shipped network's linear head (dxcore.records.expression):
the Keras head must give what the scikit-learn pipeline it was read from gives."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from dxcore.records.expression import (
    ArrayStandardization,
    GolubPreprocessing,
    clipped_log10,
    kept_probes,
    linear_candidate,
    linear_logits,
)


def profiles(rng: np.random.Generator, cases: int = 24, probes: int = 60) -> tuple[
        np.ndarray, np.ndarray]:
    """Raw-intensity-like profiles (negatives and saturation included) and labels whose
    first probes differ between the classes."""
    y = np.arange(cases) % 2
    x = rng.lognormal(6.0, 1.2, size=(cases, probes)) - 150
    x[:, :8] *= np.where(y[:, None] == 1, 4.0, 1.0)
    return x, y


def test_the_filter_keeps_varying_probes_and_arrays_are_standardised():
    rng = np.random.default_rng(0)
    x, _ = profiles(rng)
    x[:, 10] = 50.0  # below the floor everywhere: flat after flooring
    x[:, 11] = np.linspace(1000, 1400, len(x))  # varies, but max/min < 5
    prep = GolubPreprocessing().fit(x)
    assert 10 not in prep.keep_ and 11 not in prep.keep_ and 0 in prep.keep_
    z = prep.transform(x)
    assert z.shape == (len(x), len(prep.keep_))
    np.testing.assert_allclose(z.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=1), 1, atol=1e-12)


def test_log_scaled_sets_keep_the_more_varying_half():
    x = np.outer(np.random.default_rng(1).normal(size=20), np.linspace(0.1, 2, 40))
    keep = kept_probes(x, log_scaled=True)
    assert len(keep) == 20 and set(keep) == set(range(20, 40))


@pytest.mark.parametrize("name", ["nsc", "lr_l2"])
def test_the_network_head_reproduces_the_fitted_pipeline(name, tmp_path):
    rng = np.random.default_rng(2)
    x, y = profiles(rng)
    pipeline = linear_candidate(name).estimator.fit(x, y)  # no inner CV: fast
    inputs = keras.Input((x.shape[1],), name="record")
    network = keras.Model(inputs, linear_logits(inputs, pipeline))
    path = tmp_path / "head.keras"
    network.save(path)
    loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    logits = np.asarray(loaded(clipped_log10(x).astype("float32"), training=False))
    decision = pipeline.decision_function(x)
    scale = 1 + np.abs(decision).max()
    np.testing.assert_allclose(logits[:, 1] - logits[:, 0], decision, atol=1e-4 * scale)
    np.testing.assert_allclose(logits.sum(axis=1), 0, atol=1e-4 * scale)


def test_the_layer_is_the_transformer_on_logged_profiles():
    x, _ = profiles(np.random.default_rng(3))
    prep = GolubPreprocessing().fit(x)
    layer = ArrayStandardization(prep.keep_)
    np.testing.assert_allclose(np.asarray(layer(clipped_log10(x).astype("float32"))),
                               prep.transform(x), atol=1e-4)
