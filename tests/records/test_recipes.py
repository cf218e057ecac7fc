"""The shipped record models against the issue's targets on their test splits (when the
datasets are present), and their cards: schema, split, calibration, CIs, checksum."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.cards import REQUIRED_FIELDS
from dxcore.records.schema import Schema
from dxcore.registry import recipe_for

RECORD_MODELS = ("heart-disease", "ckd", "leukemia-golub")


@pytest.fixture(scope="module")
def measured(shipped_model, shipped_test_predictions):
    """``measured(model_id)``: the shipped model's test metrics, measured once per module
    from the session's test predictions."""
    metrics: dict[str, dict] = {}

    def measure(model_id: str) -> dict:
        if model_id not in metrics:
            cases = shipped_test_predictions(model_id)
            metrics[model_id] = recipe_for(model_id).evaluate(shipped_model(model_id),
                                                              resamples=100, cases=cases)
        return metrics[model_id]
    return measure


def meets(metrics: dict, targets: dict) -> bool:
    return all(metrics[name]["value"] >= target["at_least"] if "at_least" in target
               else metrics[name]["value"] <= target["at_most"]
               for name, target in targets.items())


# Targets missed at the one test measurement (the card and the Models page say so; issue 25
# is blocked on the decision): each stays a strict expected failure until a decision or a
# new model changes it.
MISSED = {"heart-disease": {"coverage_90_at_hungary"}}


@pytest.mark.slow
@pytest.mark.parametrize("model_id", RECORD_MODELS)
def test_test_split_metrics_meet_the_targets(measured, model_id):
    targets = {name: target for name, target in recipe_for(model_id).TARGETS.items()
               if name not in MISSED.get(model_id, ())}
    assert meets(measured(model_id), targets)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="missed at its one test measurement (issue 25, "
                                       "blocked): Hungary's 90% sets covered 0.865 < 0.88")
@pytest.mark.parametrize(("model_id", "name"), [(m, n) for m, names in MISSED.items()
                                                for n in sorted(names)])
def test_targets_missed_at_the_test_measurement(measured, model_id, name):
    assert meets(measured(model_id), {name: recipe_for(model_id).TARGETS[name]})


@pytest.mark.slow
@pytest.mark.parametrize("model_id", RECORD_MODELS)
def test_the_card_holds_what_evaluate_measures(shipped_model, measured, model_id):
    model, metrics = shipped_model(model_id), measured(model_id)
    assert model.card["targets"] == recipe_for(model_id).TARGETS
    assert [check.met for check in model.card.target_checks()] == [
        meets(metrics, {name: target}) for name, target in model.card["targets"].items()]
    stored = model.card["test_metrics"]
    for name in ("auc", "accuracy", "sensitivity", "specificity"):
        assert metrics[name]["value"] == pytest.approx(stored[name]["value"], abs=1e-6)


@pytest.mark.parametrize("model_id", RECORD_MODELS)
def test_card_describes_data_split_calibration_and_use(shipped_model, model_id):
    card = shipped_model(model_id).card
    assert set(REQUIRED_FIELDS) <= set(card.fields)
    card.verify_weights()
    assert card["modality"] == "record"
    for name in ("auc", "accuracy", "sensitivity", "specificity"):
        low, high = card["test_metrics"][name]["ci95"]
        assert low <= card["test_metrics"][name]["value"] <= high
    assert "test" in card["training_data"]["split"]
    assert "cross-validation" in card["methods"]["calibration"]
    assert 0 < card.threshold < 1 and card.temperature > 0
    quantiles = card.atypicality_quantiles
    assert len(quantiles) == 101 and np.all(np.diff(quantiles) >= 0)
    assert card["intended_use"] and card["limitations"]


@pytest.mark.parametrize("model_id", RECORD_MODELS)
def test_card_schema_says_what_each_field_is(shipped_model, model_id):
    card = shipped_model(model_id).card
    schema = Schema.from_json(card.input_spec)
    for field in schema.fields:
        assert field.label and field.type in ("numeric", "categorical")
        if field.type == "numeric":
            assert field.range is not None and field.range[0] < field.range[1]
        else:
            assert field.categories
    fill = card.imputation
    assert set(fill) == {f.name for f in schema.fields if f.missing_allowed}
