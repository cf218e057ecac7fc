"""Measuring a shipped record model on its test split (bootstrap 95% CIs over cases), and
the recipe's calibration cases: the out-of-fold predictions of its cross-validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from dxcore.metrics import report_binary, share
from dxcore.predictions import Predictions
from dxcore.records import domain, training
from dxcore.records.model import conformal_groups
from dxcore.records.preprocessing import encode
from dxcore.records.validation import validate


def split_predictions(model, table: pd.DataFrame, labels: np.ndarray,
                      source: str) -> Predictions:
    """Logits of every case of ``table``; implausible cells count as missing, as in
    training. Cases are named by their row in the dataset's file."""
    values = validate(table, model.schema).values
    logits = model.forward(encode(values, model.schema, model.card.imputation))["logits"]
    return Predictions([f"row {i}" for i in table.index], np.asarray(labels), logits, source,
                       conformal_groups=conformal_groups(values, model.card))


def cross_validated_predictions(model, table: pd.DataFrame, labels: np.ndarray
                                ) -> Predictions:
    """The out-of-fold logits of the recipe's cross-validation of the training split, rerun
    with the card's settings and seed: the cases that chose the temperature and threshold
    (each scored by a fold model that never saw it)."""
    done = model.card["training"]
    settings = training.Settings(**{f.name: done[f.name]
                                    for f in dataclasses.fields(training.Settings)
                                    if f.name in done})  # a setting added later: its default
    values, _ = training.dataset_values(table, model.schema)
    logits, _ = training.cross_validate(values, np.asarray(labels), model.schema, settings,
                                        int(done["seed"]))
    return Predictions([f"row {i}" for i in table.index], np.asarray(labels), logits,
                       f"out-of-fold predictions of the {settings.folds}-fold stratified "
                       f"cross-validation of the training split ({len(labels)} cases)")


def metrics_of(model, cases: Predictions, resamples: int = 2000) -> dict:
    """Test metrics of a record model (bootstrap 95% CIs over cases), with the number of
    wrongly classified cases."""
    probabilities = cases.probabilities(model.card.temperature)
    report = report_binary(cases.labels, probabilities[:, 1], model.card.threshold,
                           resamples)
    decided = model.rule.decide(probabilities)
    truth = np.asarray(model.card.class_names)[cases.labels]
    report["misclassified"] = {"value": int((decided != truth).sum()),
                               "of": int(len(cases.labels))}
    return report


def guard_from_training(model, table: pd.DataFrame) -> dict:
    """The card's ``runtime.domain_guard`` and its ``methods.domain_guard`` text, fitted on
    the training split ``table`` (:mod:`dxcore.records.domain`)."""
    values, _ = training.dataset_values(table, model.schema)
    guard, measured = domain.fit(model, values)
    return {"runtime": guard.as_runtime(), "method": (
        "dxcore.records.domain, fitted on the training split only: a case is answered only "
        f"with at most {guard.max_imputed} missing fields and none of the essential fields "
        f"({', '.join(guard.essential) or 'none'}) missing. max_imputed is the largest number "
        "of randomly imputed fields at which at most "
        f"{domain.MAX_FLIP_RATE:.0%} of the {len(values)} training cases change their "
        f"decision (measured: {measured['flip_rate_by_fields_imputed']}); a field is "
        f"essential when imputing it alone changes at least {domain.ESSENTIAL_FLIP_RATE:.0%} "
        f"of them (measured: {measured['single_field_flip_rate']}). Cases with atypicality "
        f"above the cohort's {guard.atypicality_above:.0f}th percentile are refused rather "
        "than warned about: the reference is out-of-fold, so about 1 in 100 cases like the "
        "cohort is refused, and a warning beside a confident probability is easily read "
        "past.")}


def evaluate_guard(model, table: pd.DataFrame) -> dict:
    """The domain guard on the test split: the share of its cases answered (Wilson 95%
    CI), and how many were refused for each reason (too few known fields, unlike the
    training cohort, implausible values)."""
    cases = model.predict(table).detail.results
    codes = [case.code for case in cases if case.error]
    return {"test_accepted": share(len(cases) - len(codes), len(cases)),
            "test_refused_by_code": {code: codes.count(code) for code in sorted(set(codes))},
            "method": model.card["methods"].get("domain_guard")}


# --- The recipe steps every record recipe shares, through its ``split(data)`` -------------


def _split(model, data: str | None) -> tuple:
    from dxcore.registry import recipe_for  # the recipe of the model: its split

    return recipe_for(model.card.id).split(data)


def evaluate(model, data: str | None = None, resamples: int = 2000,
             cases: Predictions | None = None) -> dict:
    """AUC, accuracy, sensitivity, specificity (bootstrap 95% CIs over patients), ECE and
    the number of test cases classified wrongly; ``cases``: the test predictions when the
    caller has them already."""
    return metrics_of(model, cases or test_predictions(model, data), resamples)


def calibration_predictions(model, data: str | None = None) -> Predictions:
    """The training split's out-of-fold predictions (what chose temperature and threshold)."""
    return cross_validated_predictions(model, *_split(model, data)[:2])


def test_predictions(model, data: str | None = None) -> Predictions:
    return split_predictions(model, *_split(model, data)[2:], "test split")


def fit_domain_guard(model, data: str | None = None) -> dict:
    return guard_from_training(model, _split(model, data)[0])


def evaluate_domain(model, data: str | None = None) -> dict:
    return evaluate_guard(model, _split(model, data)[2])
