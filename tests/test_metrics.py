"""Binary metrics on hand-computed cases, percentile bootstrap intervals (plain and grouped),
and the expected calibration error."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from dxcore.metrics import (
    binary_metrics,
    bootstrap_intervals,
    expected_calibration_error,
    report_binary,
)

# Negatives 0.1, 0.4, 0.7; positives 0.2, 0.6, 0.8, 0.9.
LABELS = np.array([0, 0, 0, 1, 1, 1, 1])
SCORES = np.array([0.1, 0.4, 0.7, 0.2, 0.6, 0.8, 0.9])


def test_binary_metrics_hand_computed():
    metrics = binary_metrics(LABELS, SCORES, threshold=0.5)
    # Positive-negative pairs ranked correctly: 1 + 2 + 3 + 3 of 12.
    assert metrics["auc"] == pytest.approx(9 / 12)
    assert metrics["sensitivity"] == pytest.approx(3 / 4)  # 0.2 is missed
    assert metrics["specificity"] == pytest.approx(2 / 3)  # 0.7 is a false alarm
    assert metrics["accuracy"] == pytest.approx(5 / 7)


def test_a_score_equal_to_the_threshold_counts_as_positive():
    metrics = binary_metrics(LABELS, SCORES, threshold=0.6)
    assert metrics["sensitivity"] == pytest.approx(3 / 4)  # 0.6, 0.8, 0.9
    assert metrics["specificity"] == pytest.approx(2 / 3)


def test_binary_metrics_perfect_and_tied():
    perfect = binary_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), 0.5)
    assert perfect == {"auc": 1.0, "accuracy": 1.0, "sensitivity": 1.0, "specificity": 1.0}
    tied = binary_metrics(np.array([0, 1]), np.array([0.5, 0.5]), 0.5)
    assert tied["auc"] == 0.5  # ties count half
    assert tied["sensitivity"] == 1.0 and tied["specificity"] == 0.0


@pytest.fixture(scope="module")
def noisy_test_set() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = (rng.random(300) < 0.4).astype(int)
    scores = np.clip(0.35 * labels + 0.65 * rng.random(300), 0, 1)
    return labels, scores


def test_report_intervals_contain_the_point_estimate(noisy_test_set):
    labels, scores = noisy_test_set
    report = report_binary(labels, scores, threshold=0.5, resamples=300, seed=1)
    assert set(report) == {"auc", "accuracy", "sensitivity", "specificity", "ece", "n"}
    assert report["n"] == {"value": 300, "positives": int(labels.sum())}
    for name in ("auc", "accuracy", "sensitivity", "specificity"):
        low, high = report[name]["ci95"]
        assert 0.0 <= low < report[name]["value"] < high <= 1.0, name
    assert 0.0 <= report["ece"]["value"] <= 1.0


def test_bootstrap_is_reproducible_with_its_seed(noisy_test_set):
    labels, scores = noisy_test_set

    def metric(index):
        return binary_metrics(labels[index], scores[index], 0.5)

    first = bootstrap_intervals(metric, len(labels), resamples=100, seed=7)
    assert first == bootstrap_intervals(metric, len(labels), resamples=100, seed=7)
    assert first != bootstrap_intervals(metric, len(labels), resamples=100, seed=8)


def test_bootstrap_interval_of_a_mean_has_the_textbook_width():
    values = np.random.default_rng(2).normal(size=400)
    ((low, high),) = bootstrap_intervals(
        lambda i: {"mean": values[i].mean()}, 400, resamples=1000
    ).values()
    # About mean +- 1.96 * sd / sqrt(n), i.e. a width of about 0.196.
    assert low < values.mean() < high
    assert (high - low) == pytest.approx(2 * 1.96 * values.std() / 20, rel=0.15)


def test_grouped_bootstrap_resamples_whole_groups():
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(20), 50)  # 20 patients, 50 identical images each
    values = np.repeat(rng.normal(size=20), 50)
    seen = []

    def mean(index):
        seen.append(index)
        return {"mean": values[index].mean()}

    naive = bootstrap_intervals(mean, len(values), resamples=300, seed=0)["mean"]
    seen.clear()
    grouped = bootstrap_intervals(mean, len(values), resamples=300, seed=0, groups=groups)["mean"]
    assert len(seen) == 300
    for index in seen[:20]:
        assert len(index) == 1000
        assert (np.bincount(groups[index], minlength=20) % 50 == 0).all()
    # 20 independent values, not 1000: the honest interval is about sqrt(50) times wider.
    assert grouped[0] < values.mean() < grouped[1]
    assert (grouped[1] - grouped[0]) > 4 * (naive[1] - naive[0])


@pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.UndefinedMetricWarning", "ignore::RuntimeWarning"
)
def test_bootstrap_skips_resamples_without_both_classes():
    # Most resamples hold no positive: no AUC or sensitivity there (scikit-learn raises
    # ValueError or, in newer versions, warns and returns nan); those resamples are left out.
    labels = np.array([1] + [0] * 19)
    scores = np.linspace(0.9, 0.0, 20)

    def metric(index):
        return binary_metrics(labels[index], scores[index], 0.5)

    intervals = bootstrap_intervals(metric, 20, resamples=200, seed=0)
    assert intervals["auc"] == [1.0, 1.0]
    assert intervals["specificity"][0] <= intervals["specificity"][1]


def test_ece_exact_cases():
    labels = np.array([1] * 5 + [0] * 5)
    # Every case called positive with confidence 0.9, right half the time: ECE 0.4.
    assert expected_calibration_error(labels, np.full(10, 0.9)) == pytest.approx(0.4)
    # Called negative with confidence 0.8, right 8 times in 10: ECE 0.
    labels = np.array([1] * 2 + [0] * 8)
    assert expected_calibration_error(labels, np.full(10, 0.2)) == pytest.approx(0.0)


def test_ece_small_when_calibrated_and_large_when_overconfident():
    rng = np.random.default_rng(4)
    logit = rng.normal(0, 1.5, 20_000)
    labels = (rng.random(20_000) < expit(logit)).astype(int)
    calibrated = expected_calibration_error(labels, expit(logit))
    overconfident = expected_calibration_error(labels, expit(4 * logit))
    assert calibrated < 0.02
    assert overconfident > 0.1
