"""The shipped record models against the issue's targets on their test splits (when the
datasets are present), and their cards: schema, split, calibration, CIs, checksum."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.cards import REQUIRED_FIELDS
from dxcore.recipes import recipe_for
from dxcore.records.schema import Schema
from tests.records.conftest import RECORD_MODELS, dataset, shipped

TARGETS = {  # model id: (minimum test AUC, most wrong test cases allowed)
    "heart-disease": (0.88, None),
    "ckd": (0.98, None),
    "leukemia-golub": (0.95, 2),
}


@pytest.mark.slow
@pytest.mark.parametrize("model_id", RECORD_MODELS)
def test_test_split_metrics_meet_the_targets_and_match_the_card(model_id):
    model = shipped(model_id)
    dataset(model_id)
    metrics = recipe_for(model_id).evaluate(model, resamples=100)
    minimum_auc, most_wrong = TARGETS[model_id]
    assert metrics["auc"]["value"] >= minimum_auc
    if most_wrong is not None:
        assert metrics["misclassified"]["value"] <= most_wrong
    stored = model.card["test_metrics"]
    for name in ("auc", "accuracy", "sensitivity", "specificity"):
        assert metrics[name]["value"] == pytest.approx(stored[name]["value"], abs=1e-6)


@pytest.mark.parametrize("model_id", RECORD_MODELS)
def test_card_describes_data_split_calibration_and_use(model_id):
    card = shipped(model_id).card
    assert set(REQUIRED_FIELDS) <= set(card.fields)
    card.verify_weights()
    assert card["modality"] == "record"
    for name in ("auc", "accuracy", "sensitivity", "specificity"):
        low, high = card["test_metrics"][name]["ci95"]
        assert low <= card["test_metrics"][name]["value"] <= high
    assert "test" in card["training_data"]["split"] and "cross-validation" in card["calibration"]
    assert 0 < card["decision_threshold"] < 1 and card["calibration_temperature"] > 0
    quantiles = card["atypicality"]["reference_quantiles"]
    assert len(quantiles) == 101 and np.all(np.diff(quantiles) >= 0)
    assert card["intended_use"] and card["limitations"]


@pytest.mark.parametrize("model_id", RECORD_MODELS)
def test_card_schema_says_what_each_field_is(model_id):
    card = shipped(model_id).card
    schema = Schema.from_json(card["input"])
    for field in schema.fields:
        assert field.label and field.type in ("numeric", "categorical")
        if field.type == "numeric":
            assert field.range is not None and field.range[0] < field.range[1]
        else:
            assert field.categories
    fill = card["input"]["imputation"]["values"]
    assert set(fill) == {f.name for f in schema.fields if f.missing_allowed}
