"""Measuring a shipped model on its official test split, fitting its prediction sets and its
label-shift calibration on the recipe's calibration cases, and storing them in its card (with
the test report beside it, :mod:`dxcore.reports`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

from dxcore.card_writing import write_card, write_json
from dxcore.cards import CARD_FILE, ModelCard, sha256_of
from dxcore.conformal import DEFAULT_COVERAGE, ConformalSets, coverage_report
from dxcore.contract import DxModel
from dxcore.errors import DxError
from dxcore.predictions import Predictions
from dxcore.registry import clear_cache, get_model, recipe_for
from dxcore.reports import REPORT_FILE, build_report

COVERAGE_LEVELS = (0.9, 0.95)


def evaluate(model_id: str, data: str | None = None, resamples: int = 2000,
             cases: Predictions | None = None) -> dict:
    """The model's test metrics with bootstrap 95% CIs, as its recipe defines them, and the
    test coverage of its prediction sets (``prediction_sets``) when its card has them;
    ``cases``: the test split's predictions when the caller has them already."""
    recipe, model = recipe_for(model_id), get_model(model_id)
    cases = cases or test_predictions_of(model_id, data)
    if cases is None:  # a recipe without test predictions (a plug-in): its metrics alone
        return recipe.evaluate(model, data, resamples)
    metrics = recipe.evaluate(model, data, resamples, cases=cases)  # one forward pass
    if model.conformal is not None:
        metrics["prediction_sets"] = prediction_set_report(model, cases, resamples)
    return metrics


def test_predictions_of(model_id: str, data: str | None = None) -> Predictions | None:
    """The test split's predictions, or None for a recipe without ``test_predictions``."""
    recipe = recipe_for(model_id)
    if not hasattr(recipe, "test_predictions"):
        return None
    return recipe.test_predictions(get_model(model_id), data)


def evaluate_and_store(model_id: str, purpose: str, data: str | None = None) -> tuple[
        ModelCard, dict]:
    """:func:`evaluate`, stored in the card with :func:`store_test_metrics` (one counted
    measurement), and the test report beside it (:func:`store_test_report`) when the recipe
    gives its test predictions, which are computed once for both."""
    cases = test_predictions_of(model_id, data)
    metrics = evaluate(model_id, data, cases=cases)
    card = store_test_metrics(get_model(model_id).card, metrics, purpose)
    if cases is not None:
        # A recipe whose decisions read more than each case's probabilities (the ECG
        # beats, read with the record's rhythm) gives them, so that the report shows the
        # decisions its metrics scored.
        recipe = recipe_for(model_id)
        decided = (recipe.test_decisions(get_model(model_id), cases, data)
                   if hasattr(recipe, "test_decisions") else None)
        card = store_test_report(card, build_report(cases, card, decided))
    return card, metrics


def prediction_set_report(model: DxModel, cases: Predictions, resamples: int = 2000) -> dict:
    """Per coverage level: the empirical coverage of the sets on ``cases`` and the share of
    sets holding more than one class, with bootstrap 95% CIs."""
    probabilities = cases.probabilities(model.card.temperature)
    decisions = model.rule.decide(probabilities)
    truth = cases.label_names(model.card.class_names)
    return {f"{level:g}": coverage_report(model.conformal.sets(
        probabilities, decisions, level, groups=cases.conformal_groups), truth, resamples,
        groups=cases.groups)
            for level in model.conformal.levels}


def fit_prediction_sets(model_id: str, data: str | None = None) -> ModelCard:
    """Fit the class-conditional conformal sets (:mod:`dxcore.conformal`) on the recipe's
    calibration cases (never the test split) and write them into the card."""
    model, recipe = get_model(model_id), recipe_for(model_id)
    if hasattr(recipe, "prediction_sets"):  # a recipe that calibrates its sets its own way
        sets, method = recipe.prediction_sets(model, data)
        return _rewrite_card(model.card, runtime={"conformal": sets.as_runtime()},
                             methods={"prediction_sets": method})
    cases = recipe.calibration_predictions(model, data)
    sets = ConformalSets.fit(cases.probabilities(model.card.temperature), cases.labels,
                             model.card.class_names, list(COVERAGE_LEVELS), DEFAULT_COVERAGE)
    return _rewrite_card(model.card, runtime={"conformal": sets.as_runtime()}, methods={
        "prediction_sets": "split conformal prediction, class-conditional (Mondrian; "
                           f"dxcore.conformal): score 1 - p(class) on the {cases.source}; "
                           f"the set shown holds its coverage {DEFAULT_COVERAGE:g} for every "
                           "class when new cases are like these; the decision is always in "
                           "its set"})


def fit_label_shift(model_id: str, data: str | None = None) -> ModelCard:
    """Fit the label-shift calibration (:mod:`dxcore.adaptation`) on the recipe's
    calibration cases (never the test split) and write it into the card, with its cases
    file beside it."""
    from dxcore.adaptation import fit_label_shift as fit

    model = get_model(model_id)
    if not model.adaptable:
        raise DxError(f"The answers of '{model_id}' cannot be adapted to a site's prevalence "
                      "(its modality does not show adapted answers).")
    cases = recipe_for(model_id).calibration_predictions(model, data)
    runtime, method = fit(cases, model.card)
    return _rewrite_card(model.card, runtime={"label_shift": runtime},
                         methods={"label_shift": method})


def fit_domain_guard(model_id: str, data: str | None = None) -> ModelCard:
    """Fit the recipe's domain guard on its training data and write it into the card
    (``runtime.domain_guard``, described in ``methods.domain_guard``)."""
    model = get_model(model_id)
    fitted = recipe_for(model_id).fit_domain_guard(model, data)
    return _rewrite_card(model.card, runtime={"domain_guard": fitted["runtime"]},
                         methods={"domain_guard": fitted["method"]})


def fit_population_guard(model_id: str, data: str | None = None) -> ModelCard:
    """Fit the recipe's population guard on training-side data and write it into the card
    (``runtime.population``, described in ``methods.population_guard``, its training-side
    figures in ``validation_metrics.population_guard``)."""
    model = get_model(model_id)
    fitted = recipe_for(model_id).fit_population_guard(model, data)

    def change(fields: dict) -> None:
        fields["runtime"]["population"] = fitted["runtime"]
        fields.setdefault("methods", {})["population_guard"] = fitted["method"]
        fields.setdefault("validation_metrics", {})["population_guard"] = fitted["figures"]

    return _changed_card(model.card, change)


def compile_for_inference(model_id: str, folder: Path | None = None) -> ModelCard:
    """Export the model's forward network as a LiteRT file beside its card
    (:mod:`dxcore.compiled`), checked against the Keras network on random inputs in the
    interface's range, and name it in ``runtime.compiled``; prediction runs it from then on."""
    from dxcore.compiled import export_compiled

    model = get_model(model_id, folder)
    if len(model.card.interface["inputs"]) != 1:
        raise DxError(f"The model '{model_id}' reads {len(model.card.interface['inputs'])} "
                      "inputs; only a network with one input can be compiled.")
    entry = model.card.interface["inputs"][0]
    low, high = entry.get("range", [0.0, 1.0])
    probe = np.random.default_rng(0).uniform(low, high, (32, *entry["shape"][1:]))
    compiled = export_compiled(model.forward_network, model.card.folder,
                               probe.astype(np.float32),
                               f"32 random inputs uniform in [{low:g}, {high:g}] (seed 0)")
    return _rewrite_card(model.card, runtime={"compiled": compiled}, methods={})


def _rewrite_card(card: ModelCard, runtime: dict, methods: dict) -> ModelCard:
    """The card with ``runtime`` and ``methods`` entries set, written and reloaded."""
    def change(fields: dict) -> None:
        fields["runtime"].update(runtime)
        fields.setdefault("methods", {}).update(methods)

    return _changed_card(card, change)


def _changed_card(card: ModelCard, change: Callable[[dict], None]) -> ModelCard:
    """Read the card's file, apply ``change`` to its fields, validate and write it back
    (:func:`dxcore.card_writing.write_card`); loaded models are forgotten, as they hold the old
    card."""
    fields = json.loads((card.folder / CARD_FILE).read_text())
    change(fields)
    card = write_card(fields, card.folder)
    clear_cache()
    return card


def store_test_metrics(card: ModelCard, metrics: dict, purpose: str) -> ModelCard:
    """Write ``metrics`` into the card (beside earlier metrics of other kinds, such as the
    domain guard's) and count the measurement in its ``test_evaluations`` (the date, the
    recipe's training command and why it was made)."""
    def change(fields: dict) -> None:
        fields["test_metrics"] = {**fields.get("test_metrics", {}), **metrics}
        recipe = (fields.get("training") or {}).get("command", "not recorded")
        fields["test_evaluations"] = [*fields.get("test_evaluations", []), {
            "date": date.today().isoformat(), "recipe": recipe, "purpose": purpose,
            "shipped": True}]

    return _changed_card(card, change)


def store_test_report(card: ModelCard, report: dict) -> ModelCard:
    """Write ``report`` beside the card (:data:`dxcore.reports.REPORT_FILE`) and pin it in
    the card's ``test_report`` by its SHA-256 (not a measurement of its own: the report is
    drawn from the same test predictions as the metrics stored with it)."""
    name = write_json(card.folder, REPORT_FILE, report)
    return _changed_card(card, lambda fields: fields.update(
        test_report={"file": name, "sha256": sha256_of(card.folder / name)}))
