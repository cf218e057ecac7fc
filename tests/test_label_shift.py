"""Label shift on synthetic data: EM recovers a known prior, Bayes' rule and the bootstrap
interval behave, BCTS removes a bias temperature scaling leaves, the weighted conformal sets
of Podkopaev & Ramdas cover a shifted site, and a moved decision rule decides as before."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import softmax

from dxcore.calibration import (
    bias_corrected_probabilities,
    calibrated_probabilities,
    fit_bias_corrected_temperature,
)
from dxcore.conformal import label_shift_sets, label_shift_thresholds
from dxcore.contract import DecisionRule
from dxcore.errors import DxError
from dxcore.label_shift import SitePrior, em_prior, estimated_prior, prior_interval, reweight

MEANS = np.array([[0.0, 0.0], [1.5, 0.5], [0.0, 2.0]])  # three overlapping classes in 2-D


def site(prior: np.ndarray, n: int, training: np.ndarray,
         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` cases drawn with class shares ``prior``, and their exact posteriors under the
    ``training`` prior (unit-variance Gaussian classes): calibrated probabilities."""
    labels = rng.choice(len(prior), n, p=prior)
    x = MEANS[labels] + rng.normal(size=(n, 2))
    log_likelihood = -0.5 * ((x[:, None, :] - MEANS[None]) ** 2).sum(axis=2)
    return softmax(log_likelihood + np.log(training), axis=1), labels


@pytest.mark.parametrize("shifted", [[0.2, 0.3, 0.5], [0.7, 0.2, 0.1], [0.5, 0.3, 0.2]])
def test_em_recovers_a_known_shift(shifted):
    rng = np.random.default_rng(0)
    training = np.array([0.5, 0.3, 0.2])
    probabilities, labels = site(np.array(shifted), 20_000, training, rng)
    truth = np.bincount(labels, minlength=3) / len(labels)
    assert em_prior(probabilities, training) == pytest.approx(truth, abs=0.02)


def test_the_interval_holds_the_estimate_and_narrows_with_more_answers():
    rng = np.random.default_rng(1)
    training = np.array([0.5, 0.3, 0.2])
    widths = []
    for n in (100, 1600):
        probabilities, _ = site(np.array([0.2, 0.3, 0.5]), n, training, rng)
        low, high = prior_interval(probabilities, training, resamples=200)
        estimate = em_prior(probabilities, training)
        assert np.all(low <= estimate + 1e-9) and np.all(estimate <= high + 1e-9)
        widths.append(high - low)
    assert np.all(widths[1] < widths[0] / 2)  # about 1 / sqrt(n)


def test_an_estimate_from_no_answers_is_refused():
    with pytest.raises(DxError, match="no answers"):
        em_prior(np.zeros((0, 2)), np.array([0.5, 0.5]))


simplex = arrays(float, st.tuples(st.integers(1, 30), st.integers(2, 4)),
                 elements=st.floats(0.01, 1.0)).map(lambda a: a / a.sum(axis=1, keepdims=True))


@settings(max_examples=60, deadline=None)
@given(simplex, st.data())
def test_em_and_bayes_rule_give_probabilities(probabilities, data):
    classes = probabilities.shape[1]
    training = data.draw(arrays(float, classes, elements=st.floats(0.05, 1.0)))
    training = training / training.sum()
    estimate = em_prior(probabilities, training)
    assert estimate.sum() == pytest.approx(1.0) and np.all(estimate >= 0)
    adapted = reweight(probabilities, training, estimate)
    assert np.allclose(adapted.sum(axis=1), 1.0)
    # the training prior changes nothing; a larger share of a class raises its probability
    assert np.allclose(reweight(probabilities, training, training), probabilities)
    more = training * np.r_[2.0, np.ones(classes - 1)]
    assert np.all(reweight(probabilities, training, more / more.sum())[:, 0]
                  >= probabilities[:, 0] - 1e-12)


def test_bias_corrected_calibration_removes_a_class_bias():
    """Logits of a network trained with class weights: its temperature-scaled probabilities
    say 50/50 where the cases are 75/25; BCTS fixes their mean, and EM then finds the
    prior."""
    rng = np.random.default_rng(2)
    labels = (rng.random(4000) < 0.75).astype(int)
    margin = 2.0 * (2 * labels - 1) + rng.normal(0, 1.5, 4000)  # log-odds, 50/50 prior
    logits = np.stack([np.zeros(4000), margin], axis=1)
    scaled = calibrated_probabilities(logits, 1.0)
    assert scaled[:, 1].mean() < 0.7
    temperature, bias = fit_bias_corrected_temperature(logits, labels)
    corrected = bias_corrected_probabilities(scaled, 1.0, temperature, bias)
    assert corrected[:, 1].mean() == pytest.approx(labels.mean(), abs=0.01)
    training = np.array([0.25, 0.75])
    assert em_prior(corrected, training)[1] == pytest.approx(0.75, abs=0.02)
    # from the temperature-scaled probabilities, as from the logits themselves
    assert np.allclose(corrected, softmax(logits / temperature + bias, axis=1))


def test_weighted_thresholds_are_split_conformal_without_shift():
    rng = np.random.default_rng(3)
    scores = rng.random(99)
    labels = rng.integers(0, 2, 99)
    rank = int(np.ceil(100 * 0.9))  # ceil((n + 1) c), 1-based
    expected = np.sort(scores)[rank - 1]
    assert label_shift_thresholds(scores, labels, np.ones(2), 0.9).tolist() == [expected] * 2


def test_the_new_cases_own_weight_counts():
    """A class rare in calibration and much commoner at the site puts so much weight at
    infinity that every candidate of it passes (Podkopaev & Ramdas's test-point weight)."""
    scores, labels = np.linspace(0.0, 0.5, 20), np.r_[np.zeros(19, int), np.ones(1, int)]
    thresholds = label_shift_thresholds(scores, labels, np.array([1.0, 50.0]), 0.9)
    assert np.isfinite(thresholds[0]) and thresholds[1] == np.inf


def test_an_empty_set_shows_every_class_and_the_decision_is_always_in():
    calibration = np.array([[0.99, 0.01]] * 9 + [[0.01, 0.99]] * 9)
    labels = np.r_[np.zeros(9, int), np.ones(9, int)]
    new = np.array([[0.6, 0.4], [0.995, 0.005], [0.995, 0.005]])
    sets = label_shift_sets(calibration, labels, new, np.ones(2),
                            np.array(["A", "A", "B"]), ["A", "B"], 0.9)
    assert sets == [["A", "B"], ["A"], ["A", "B"]]


def test_weighted_sets_cover_a_shifted_site():
    """Calibrate at 50/50, test where 80% are of the class that is harder to call (wider):
    with the site's weights the sets' mean coverage over draws is the nominal 0.9; with
    none (plain split conformal) it falls short."""
    rng = np.random.default_rng(4)
    training, shifted = np.array([0.5, 0.5]), np.array([0.2, 0.8])
    means, spread = MEANS[:2], np.array([1.0, 2.0])

    def draw(prior: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.choice(2, n, p=prior)
        x = means[labels] + rng.normal(size=(n, 2)) * spread[labels, None]
        log_likelihood = (-((x[:, None, :] - means[None]) ** 2).sum(axis=2)
                          / (2 * spread[None] ** 2) - 2 * np.log(spread[None]))
        return softmax(log_likelihood + np.log(training), axis=1), labels

    def coverage(weights: np.ndarray) -> float:
        calibration, labels = draw(training, 400)
        test, truth = draw(shifted, 400)
        adapted = reweight(calibration, training, weights * training)
        thresholds = label_shift_thresholds(1 - adapted[np.arange(400), labels], labels,
                                            weights, 0.9)
        scores = 1 - reweight(test, training, weights * training)[np.arange(400), truth]
        return float(np.mean(scores <= thresholds[truth]))

    weighted = np.mean([coverage(shifted / training) for _ in range(200)])
    unweighted = np.mean([coverage(np.ones(2)) for _ in range(200)])
    assert 0.89 <= weighted <= 0.92 and unweighted < 0.88


probability_rows = arrays(float, st.tuples(st.integers(1, 20), st.just(2)),
                          elements=st.floats(1e-4, 1.0)).map(
    lambda a: a / a.sum(axis=1, keepdims=True))


@settings(max_examples=80, deadline=None)
@given(probability_rows, st.floats(0.02, 0.98), st.floats(0.3, 3.0),
       arrays(float, 2, elements=st.floats(-3, 3)))
def test_a_moved_threshold_decides_as_before(probabilities, threshold, scale, shift):
    rule = DecisionRule(["N", "P"], positive_class="P", threshold=threshold)
    moved = softmax(scale * np.log(probabilities) + shift, axis=1)
    before, after = rule.decide(probabilities), rule.moved(scale, shift).decide(moved)
    # equal except where rounding puts a probability on the threshold itself
    logit = np.log(probabilities[:, 1] / probabilities[:, 0])
    on_edge = np.abs(logit - np.log(threshold / (1 - threshold))) < 1e-9
    assert np.all((before == after) | on_edge)


@settings(max_examples=80, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 20), st.just(4)),
              elements=st.floats(1e-4, 1.0)).map(lambda a: a / a.sum(axis=1, keepdims=True)),
       st.floats(0.3, 3.0), arrays(float, 4, elements=st.floats(-3, 3)))
def test_moved_offsets_decide_as_before(probabilities, scale, shift):
    rule = DecisionRule(["N", "S", "V", "F"], log_offsets={"N": 0.0, "S": 0.5, "V": -0.2})
    moved = softmax(scale * np.log(probabilities) + shift, axis=1)
    scores = np.log(probabilities[:, :3]) + np.array([0.0, 0.5, -0.2])
    top_two = np.sort(scores, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-9
    assert np.all((rule.decide(probabilities) == rule.moved(scale, shift).decide(moved))
                  | ~clear)


def test_a_threshold_over_three_classes_cannot_be_moved():
    rule = DecisionRule(["A", "B", "C"], positive_class="C", threshold=0.4)
    with pytest.raises(DxError, match="more than two classes"):
        rule.moved(1.0, np.zeros(3))


def test_a_site_prior_in_words_and_json():
    prior = estimated_prior(["NORMAL", "PNEUMONIA"],
                            np.array([[0.9, 0.1]] * 40 + [[0.1, 0.9]] * 60),
                            np.array([0.26, 0.74]), "batch", resamples=200)
    text = prior.describe("PNEUMONIA", "pneumonia", {"NORMAL": 0.26, "PNEUMONIA": 0.74})
    assert text.startswith("about ") and "% pneumonia (95% interval " in text
    assert text.endswith("estimated from these 100 answers; the model was trained on 74%")
    assert set(prior.as_json()) == {"shares", "source", "answers", "ci95"}
    training = SitePrior({"NORMAL": 0.26, "PNEUMONIA": 0.74}, "training")
    assert not training.adapts and set(training.as_json()) == {"shares", "source"}
    assert training.describe("PNEUMONIA", "pneumonia", training.shares).endswith(
        "answers as the model gives them")
    with pytest.raises(ValueError):
        SitePrior({"A": 1.0}, "guessed")
