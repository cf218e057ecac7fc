"""Conformal prediction sets: the quantile rule, the decision always in its set, and the
coverage guarantee checked on held-out calibration cases (never the test split)."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.conformal import ConformalSets, class_thresholds, coverage_report
from dxcore.errors import DxError


def noisy_cases(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three overlapping classes, the third rare: calibrated-looking probabilities."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, n, p=[0.6, 0.3, 0.1])
    logits = rng.normal(0, 1, (n, 3)) + 1.5 * np.eye(3)[labels]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities, labels


def test_threshold_is_the_finite_sample_quantile():
    # scores 1 - p of the true class: 0.1, 0.2, ..., 0.9 for nine cases of class 0
    p = np.linspace(0.9, 0.1, 9)
    probabilities = np.stack([p, 1 - p], axis=1)
    labels = np.zeros(9, int)
    # coverage 0.8: rank ceil(10 * 0.8) = 8 -> q = 0.8 -> min probability 0.2
    assert class_thresholds(probabilities, labels, 0.8)[0] == pytest.approx(0.2)
    # coverage 0.95: rank 10 > 9 cases -> the class is always in its set
    assert class_thresholds(probabilities, labels, 0.95)[0] == 0.0
    # a class without calibration cases is always in its set
    assert class_thresholds(probabilities, labels, 0.8)[1] == 0.0


def test_the_decision_is_always_in_its_set():
    probabilities, labels = noisy_cases(3000, 0)
    sets = ConformalSets.fit(probabilities, labels, ["a", "b", "c"], [0.9])
    confident = np.array([[0.001, 0.001, 0.998]])
    assert sets.sets(confident, np.array(["a"])) == [["a", "c"]]


def test_an_uncalibrated_level_is_refused():
    probabilities, labels = noisy_cases(500, 0)
    sets = ConformalSets.fit(probabilities, labels, ["a", "b", "c"], [0.9])
    with pytest.raises(DxError, match="calibrated at coverage 0.9"):
        sets.membership(probabilities, 0.8)


@pytest.mark.parametrize("coverage", [0.8, 0.9, 0.95])
def test_class_conditional_coverage_holds_on_held_out_cases(coverage):
    """Fit on one half, check on the other, 100 times: each class's mean coverage is at
    least nominal (the guarantee holds in expectation over calibration draws), less the
    sampling noise of the rare class's ~100 cases per draw."""
    per_class = []
    for seed in range(100):
        probabilities, labels = noisy_cases(2000, seed)
        fit, held = np.arange(1000), np.arange(1000, 2000)
        sets = ConformalSets.fit(probabilities[fit], labels[fit], ["a", "b", "c"], [coverage])
        member = sets.membership(probabilities[held], coverage)
        per_class.append([member[held - 1000][labels[held] == k, k].mean() for k in range(3)])
    assert np.all(np.mean(per_class, axis=0) >= coverage - 0.012)


def test_coverage_on_held_out_calibration_images(cxr_model, shipped_calibration_predictions):
    """The shipped chest X-ray sets on its own calibration data: fitted on half of the
    validation split's patients' images, checked on the other half (not the test split)."""
    cases = shipped_calibration_predictions("cxr-pneumonia")
    probabilities = cases.probabilities(cxr_model.card.temperature)
    rng = np.random.default_rng(0)
    coverages = []
    for _ in range(20):
        order = rng.permutation(len(cases.labels))
        fit, held = order[: len(order) // 2], order[len(order) // 2:]
        sets = ConformalSets.fit(probabilities[fit], cases.labels[fit],
                                 cxr_model.card.class_names, [0.9])
        member = sets.membership(probabilities[held], 0.9)
        coverages.append(member[np.arange(len(held)), cases.labels[held]].mean())
    assert np.mean(coverages) >= 0.88  # nominal 0.9, less the sampling noise of ~330 cases


def test_coverage_report_counts_sets_holding_the_truth():
    report = coverage_report([["a"], ["a", "b"], ["b"], ["a"]], ["a", "b", "a", "a"],
                             resamples=200)
    assert report["coverage"]["value"] == 0.75 and report["cases"] == 4
    assert report["non_singleton_share"]["value"] == 0.25
    assert report["coverage_by_class"] == {"a": pytest.approx(2 / 3, abs=1e-4), "b": 1.0}
    low, high = report["coverage"]["ci95"]
    assert low <= 0.75 <= high


def test_sets_calibrated_per_group_use_each_cases_group():
    """Mondrian by group: a case of a group gets its group's floors, a case of a group the
    card lacks the floors of all cases."""
    sets = ConformalSets(["A", "B"], {"0.9": {"A": 0.3, "B": 0.3}}, 0.9,
                         {"sparse": {"0.9": {"A": 0.05, "B": 0.05}}},
                         {"by": "missing fields", "edges": [1]})
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1]])
    decisions = np.array(["A", "A", "A"])
    assert sets.sets(probabilities, decisions, groups=["sparse", "complete", None]) == [
        ["A", "B"], ["A"], ["A"]]
    assert sets.sets(probabilities, decisions) == [["A"], ["A"], ["A"]]
    assert ConformalSets.from_runtime(["A", "B"], sets.as_runtime()) == sets
