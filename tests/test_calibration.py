"""Temperature scaling on simulated logits whose true calibration is known, and Youden's
threshold on hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from dxcore.calibration import (
    calibrated_probabilities,
    fit_temperature,
    sensitivity_threshold,
    youden_threshold,
)
from dxcore.metrics import binary_metrics, expected_calibration_error


def simulate(seed: int, n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Two-class logits and labels drawn from their own softmax (perfectly calibrated)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, 2))
    p = softmax(logits, axis=1)
    labels = (rng.random(n) < p[:, 1]).astype(int)
    return logits, labels


def test_calibrated_probabilities_are_a_softened_softmax():
    logits = np.array([[0.0, 2.0], [3.0, -1.0], [1.0, 1.0]])
    np.testing.assert_allclose(calibrated_probabilities(logits, 1.0), softmax(logits, axis=1))
    soft = calibrated_probabilities(logits, 2.0)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0)
    np.testing.assert_allclose(soft, softmax(logits / 2, axis=1))
    assert (soft.argmax(axis=1)[:2] == logits.argmax(axis=1)[:2]).all()  # decisions kept
    assert (soft.max(axis=1) <= calibrated_probabilities(logits, 1.0).max(axis=1)).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_temperature_is_about_one_for_calibrated_logits(seed):
    logits, labels = simulate(seed)
    assert fit_temperature(logits, labels) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("scale", [3.0, 0.5], ids=["overconfident", "underconfident"])
def test_temperature_undoes_a_known_scaling(scale):
    logits, labels = simulate(2)
    temperature = fit_temperature(scale * logits, labels)
    assert temperature == pytest.approx(scale, rel=0.12)
    if scale > 1:
        assert temperature > 1.0


def test_temperature_scaling_repairs_overconfidence():
    logits, labels = simulate(3)
    overconfident = 3.0 * logits
    before = expected_calibration_error(labels, softmax(overconfident, axis=1)[:, 1])
    temperature = fit_temperature(overconfident, labels)
    after = expected_calibration_error(
        labels, calibrated_probabilities(overconfident, temperature)[:, 1]
    )
    assert before > 0.1 and after < 0.03


def test_youden_threshold_separates_a_separable_case():
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    threshold = youden_threshold(labels, scores)
    assert 0.3 < threshold <= 0.7
    metrics = binary_metrics(labels, scores, threshold)
    assert metrics["sensitivity"] == 1.0 and metrics["specificity"] == 1.0


def test_youden_threshold_hand_computed():
    # Negatives 0.1, 0.2, 0.3, 0.45, 0.5; positives 0.4, 0.6, 0.7, 0.8.
    # J at 0.6 = 3/4 - 0 = 0.75 beats J at 0.4 = 1 - 2/5 = 0.6.
    labels = np.array([0, 0, 0, 1, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8])
    assert youden_threshold(labels, scores) == pytest.approx(0.6)


def test_youden_threshold_is_never_above_one():
    # Uninformative scores: the best point is sklearn's "nothing positive" (threshold inf).
    threshold = youden_threshold(np.array([0, 1, 0, 1]), np.full(4, 0.5))
    assert threshold == 1.0


def test_the_sensitivity_threshold_is_the_highest_that_keeps_the_sensitivity():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    probability = np.clip(labels * 0.4 + rng.random(500) * 0.6, 0, 1)
    for target in (0.8, 0.9, 0.95, 1.0):
        cut = sensitivity_threshold(labels, probability, target)
        positives = probability[labels == 1]
        assert (positives >= cut).mean() >= target
        assert (positives > cut).mean() < target  # any higher cut-off loses a positive
