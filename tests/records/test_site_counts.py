"""Calibration from the sites' counts and sums: the same answers (or safer ones) as
calibrating on the pooled rows, which no site shares."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dxcore import calibration
from dxcore.conformal import class_thresholds
from dxcore.records import site_counts
from dxcore.records.federation import training as federated
from dxcore.records.schema import Schema

RNG = np.random.default_rng(0)


def _sites(n=(300, 200, 100)):
    out = []
    for size in n:
        labels = RNG.integers(0, 2, size)
        logits = np.stack([np.zeros(size), 2.5 * (labels - 0.5) + RNG.normal(0, 1.5, size)], 1)
        out.append((logits, labels))
    return out


def test_conformal_floor_from_counts_is_never_above_the_exact_one():
    sites = _sites()
    probabilities = [calibration.calibrated_probabilities(lg, 1.0) for lg, _ in sites]
    for k in (0, 1):
        counts = [site_counts.histogram(1 - p[y == k, k])
                  for p, (_, y) in zip(probabilities, sites, strict=True)]
        pooled_p = np.concatenate(probabilities)
        pooled_y = np.concatenate([y for _, y in sites])
        exact = class_thresholds(pooled_p, pooled_y, 0.9)[k]
        from_counts = 1 - site_counts.quantile_from_counts(counts, 0.9)
        assert exact - 1e-3 <= from_counts <= exact  # one bin wider at most, never narrower


def test_temperature_and_threshold_from_sums_match_the_pooled_fit():
    sites = _sites()
    logits = np.concatenate([lg for lg, _ in sites])
    labels = np.concatenate([y for _, y in sites])
    temperature = site_counts.pooled_temperature(
        [site_counts.nll_by_temperature(lg, y) for lg, y in sites])
    assert abs(np.log(temperature) - np.log(calibration.fit_temperature(logits, labels))) < 0.03
    p = calibration.calibrated_probabilities(logits, temperature)[:, 1]
    threshold = site_counts.pooled_youden(
        [site_counts.counts_above(calibration.calibrated_probabilities(lg, temperature)[:, 1],
                                  y) for lg, y in sites])
    exact = calibration.youden_threshold(labels, p)

    def youden(t):
        return (p[labels == 1] >= t).mean() - (p[labels == 0] >= t).mean()

    assert abs(youden(threshold) - youden(exact)) < 0.01


def test_atypicality_reference_from_counts_is_close_to_the_pooled_percentiles():
    errors = [RNG.lognormal(-1, 0.5, n) for n in (300, 200)]
    reference = site_counts.error_quantiles(
        [site_counts.histogram(e, site_counts.ERROR_EDGES) for e in errors])
    exact = np.percentile(np.concatenate(errors), [50, 90, 99])
    assert np.allclose([reference[50], reference[90], reference[99]], exact, rtol=0.05)


def test_guard_from_pooled_statistics_alone():
    schema = Schema.from_json({"missing": "indicators", "fields": [
        {"name": "age", "label": "Age", "type": "numeric", "missing_allowed": True},
        {"name": "chol", "label": "Cholesterol", "type": "numeric", "missing_allowed": True},
        {"name": "thal", "label": "Thallium", "type": "categorical", "missing_allowed": True,
         "categories": {"3": "normal", "6": "fixed", "7": "reversible"}}]})
    one = pd.DataFrame({"age": [50.0, 60.0], "chol": [200.0, None], "thal": ["3", "7"]})
    two = pd.DataFrame({"age": [40.0, 70.0], "chol": [300.0, 250.0], "thal": [None, "3"]})
    statistics = federated.pool_summaries([federated.summarise(one, schema),
                                           federated.summarise(two, schema)], schema)
    guard = site_counts.guard_from_statistics(statistics, schema)
    assert guard.essential == ("age",)  # the only field both sites recorded for everyone
    assert guard.max_imputed == 2
    assert guard.unseen == {"thal": ("6",)}
    low, high = guard.limits["age"]
    assert low < 40 and high > 70 and round((low + high) / 2, 1) == 55.0
