"""Measuring a shipped model on its official test split, fitting its prediction sets on the
recipe's calibration cases, and storing both in its card."""

from __future__ import annotations

import json
from datetime import date

from dxcore.cards import CARD_FILE, ModelCard, write_card
from dxcore.conformal import DEFAULT_COVERAGE, ConformalSets, coverage_report
from dxcore.contract import DxModel
from dxcore.predictions import Predictions
from dxcore.registry import clear_cache, get_model, recipe_for

COVERAGE_LEVELS = (0.9, 0.95)


def evaluate(model_id: str, data: str | None = None, resamples: int = 2000) -> dict:
    """The model's test metrics with bootstrap 95% CIs, as its recipe defines them, and the
    test coverage of its prediction sets (``prediction_sets``) when its card has them."""
    recipe, model = recipe_for(model_id), get_model(model_id)
    metrics = recipe.evaluate(model, data, resamples)
    if model.conformal is not None:
        metrics["prediction_sets"] = prediction_set_report(
            model, recipe.test_predictions(model, data), resamples)
    return metrics


def prediction_set_report(model: DxModel, cases: Predictions, resamples: int = 2000) -> dict:
    """Per coverage level: the empirical coverage of the sets on ``cases`` and the share of
    sets holding more than one class, with bootstrap 95% CIs."""
    probabilities = cases.probabilities(model.card.temperature)
    decisions = model.rule.decide(probabilities)
    truth = cases.label_names(model.card.class_names)
    return {f"{level:g}": coverage_report(model.conformal.sets(probabilities, decisions, level),
                                          truth, resamples)
            for level in model.conformal.levels}


def fit_prediction_sets(model_id: str, data: str | None = None) -> ModelCard:
    """Fit the class-conditional conformal sets (:mod:`dxcore.conformal`) on the recipe's
    calibration cases (never the test split) and write them into the card."""
    model = get_model(model_id)
    cases = recipe_for(model_id).calibration_predictions(model, data)
    sets = ConformalSets.fit(cases.probabilities(model.card.temperature), cases.labels,
                             model.card.class_names, list(COVERAGE_LEVELS), DEFAULT_COVERAGE)
    fields = json.loads((model.card.folder / CARD_FILE).read_text())
    fields["runtime"]["conformal"] = sets.as_runtime()
    fields.setdefault("methods", {})["prediction_sets"] = (
        "split conformal prediction, class-conditional (Mondrian; dxcore.conformal): score "
        f"1 - p(class) on the {cases.source}; the set shown holds its coverage "
        f"{DEFAULT_COVERAGE:g} for every class when new cases are like these; the decision "
        "is always in its set")
    card = write_card(fields, model.card.folder)
    clear_cache()  # the loaded model holds the old card
    return card


def fit_domain_guard(model_id: str, data: str | None = None) -> ModelCard:
    """Fit the model's domain guard with its recipe's ``fit_domain_guard`` (training data
    only) and write it into the card: ``runtime.domain_guard`` and, from the recipe's
    module, ``methods.domain_guard``."""
    recipe, model = recipe_for(model_id), get_model(model_id)
    fields = json.loads((model.card.folder / CARD_FILE).read_text())
    fields["runtime"]["domain_guard"] = recipe.fit_domain_guard(model, data)
    fields.setdefault("methods", {})["domain_guard"] = recipe.DOMAIN_GUARD_METHOD
    card = write_card(fields, model.card.folder)
    clear_cache()  # the loaded model holds the old card
    return card


def store_test_metrics(card: ModelCard, metrics: dict, purpose: str) -> ModelCard:
    """Write ``metrics`` into the card (beside earlier metrics of other kinds, such as the
    domain guard's) and count the measurement in its ``test_evaluations`` (the date, the
    recipe's training command and why it was made)."""
    fields = json.loads((card.folder / CARD_FILE).read_text())
    fields["test_metrics"] = {**fields.get("test_metrics", {}), **metrics}
    recipe = (fields.get("training") or {}).get("command", "not recorded")
    fields["test_evaluations"] = [*fields.get("test_evaluations", []), {
        "date": date.today().isoformat(), "recipe": recipe, "purpose": purpose,
        "shipped": True}]
    return write_card(fields, card.folder)

