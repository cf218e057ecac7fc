"""Imputation and encoding: the imputer learns from training cases only, and the encoded
columns map back to their fields."""

from __future__ import annotations

from importlib import import_module

import numpy as np
import pandas as pd
import pytest

from dxcore.records.federation import training as federated
from dxcore.records.preprocessing import column_fields, encode, fit_imputer
from dxcore.records.schema import Schema
from dxcore.records.training import dataset_values

SCHEMA = Schema.from_json({"fields": [
    {"name": "chol", "label": "Cholesterol", "type": "numeric", "missing_allowed": True},
    {"name": "thal", "label": "Thallium", "type": "categorical", "missing_allowed": True,
     "categories": {"3": "normal", "6": "fixed", "7": "reversible"}},
    {"name": "probe", "label": "probe", "type": "numeric", "transform": "log10",
     "clip": [100, 16000]},
]})


def test_fill_values_are_the_training_median_and_mode():
    train = pd.DataFrame({"chol": [200.0, 210.0, np.nan, 300.0],
                          "thal": ["3", "7", "7", None], "probe": [1.0, 2.0, 3.0, 4.0]})
    assert fit_imputer(train, SCHEMA) == {"chol": 210.0, "thal": "7"}  # probe: never missing


def test_encoding_imputes_one_hot_encodes_and_transforms():
    values = pd.DataFrame({"chol": [np.nan, 250.0], "thal": ["6", None],
                           "probe": [-50.0, 1000.0]})
    x = encode(values, SCHEMA, {"chol": 210.0, "thal": "3"})
    # columns: chol, probe (log10), then thal one-hot (3, 6, 7)
    np.testing.assert_allclose(x, [[210, 2, 0, 1, 0], [250, 3, 1, 0, 0]])
    assert x.dtype == np.float32
    assert column_fields(SCHEMA).tolist() == [0, 2, 1, 1, 1]


def test_cross_validation_fits_each_imputer_on_its_training_fold_only(monkeypatch):
    """Spy on every imputer fit during cross-validation: the held-out fold's cases must
    never be among those it learns from."""
    from dxcore.records import training

    rng = np.random.default_rng(0)
    values = pd.DataFrame({"chol": rng.normal(230, 40, 40),
                           "thal": rng.choice(["3", "6", "7"], 40),
                           "probe": rng.uniform(100, 1000, 40)},
                          index=pd.RangeIndex(100, 140))
    values.loc[[101, 117, 133], "chol"] = np.nan
    y = np.arange(40) % 2
    seen: list[set] = []

    def spy(train_values, schema):
        seen.append(set(train_values.index))
        return fit_imputer(train_values, schema)

    monkeypatch.setattr(training, "fit_imputer", spy)
    tiny = training.Settings(hidden=4, code=2, epochs=1, folds=4)
    training.cross_validate(values, y, SCHEMA, tiny, seed=0)
    assert len(seen) == 4
    for fold in seen:  # each fit saw 3/4 of the cases; their union is everything
        assert len(fold) == 30
    held_out = [set(values.index) - fold for fold in seen]
    assert set().union(*held_out) == set(values.index)  # every case was held out once
    assert all(not (a & b) for i, a in enumerate(held_out) for b in held_out[i + 1:])


@pytest.mark.parametrize("model_id", ["heart-disease", "ckd"])
def test_the_shipped_imputer_was_fitted_on_the_training_split_only(shipped_model, dataset,
                                                                    model_id):
    model = shipped_model(model_id)
    dataset(model_id.replace("-", "_"))
    recipe = import_module(f"dxcore.records.recipes.{model_id.replace('-', '_')}")
    train_table, _, test_table, _ = recipe.split()
    stored = model.card.imputation

    def fitted(table: pd.DataFrame) -> dict:
        values, _ = dataset_values(table, recipe.SCHEMA)
        if not hasattr(recipe, "SITES"):
            return fit_imputer(values, recipe.SCHEMA)
        # across sites: the pooled means of the sites' summaries (a split names its site)
        site = table.index.str.split(" ").str[0]
        return federated.pool_summaries([federated.summarise(values[site == s], recipe.SCHEMA)
                                         for s in recipe.SITES], recipe.SCHEMA).fill

    assert stored == pytest.approx(fitted(train_table))
    with_test = fitted(pd.concat([train_table, test_table]))
    assert with_test != pytest.approx(stored)  # the test split would have changed them
