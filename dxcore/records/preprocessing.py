"""From validated values to the network's input matrix, and back from its columns to fields.

- Imputation: scikit-learn ``SimpleImputer`` (median for numeric fields, most frequent
  category for categorical ones) fitted on the training split only. Only its statistics are
  stored, in the card (``runtime.imputation``), so nothing is unpickled at load time;
  applying them is a plain ``fillna``, which is what ``SimpleImputer.transform`` does.
- Encoding: numeric fields first (after their ``transform``), then each categorical field
  one-hot in the schema's category order. Standardisation happens inside the network (its
  ``standardize`` layer), so the weights file carries it and its checksum covers it.
- Missing-value indicators (a schema with ``missing_indicators``): one more column per field,
  1 where it was not recorded. A missing numeric value is still filled (so its standardised
  value is the cohort's mean) and a missing category is all zeros: the network learns what a
  finding's absence says instead of reading a guess as a measurement (the "missing-indicator
  method"; Le Morvan et al., "What's a good imputation to predict with missing values?",
  NeurIPS 2021, on why a flexible model with indicators predicts well under missingness).

Example:
    >>> from dxcore.records.schema import Schema
    >>> schema = Schema.from_json({"fields": [
    ...     {"name": "age", "label": "Age", "type": "numeric", "missing_allowed": True},
    ...     {"name": "sex", "label": "Sex", "type": "categorical",
    ...      "categories": {"0": "female", "1": "male"}, "missing_allowed": True}]})
    >>> train = pd.DataFrame({"age": [40.0, 50.0, np.nan, 70.0], "sex": ["1", "1", "0", None]})
    >>> fill = fit_imputer(train, schema)
    >>> fill
    {'age': 50.0, 'sex': '1'}
    >>> encode(pd.DataFrame({"age": [np.nan], "sex": ["0"]}), schema, fill)
    array([[50.,  1.,  0.]], dtype=float32)
    >>> column_fields(schema).tolist()   # columns age, sex=0, sex=1 -> fields age, sex, sex
    [0, 1, 1]
    >>> input_columns(schema)
    ['age', 'sex=0', 'sex=1']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer

from dxcore.records.schema import Schema


def fit_imputer(train_values: pd.DataFrame, schema: Schema) -> dict[str, float | str]:
    """Fill values for every field that may be missing, learnt from ``train_values`` (the
    training split only: test cases must not leak into what their gaps are filled with)."""
    fill: dict[str, float | str] = {}
    for fields, strategy in ((schema.numeric, "median"), (schema.categorical, "most_frequent")):
        names = [f.name for f in fields if f.missing_allowed]
        if not names:
            continue
        block = train_values[names]
        if strategy == "median":
            block = block.astype(float)
        else:  # SimpleImputer wants one missing marker for object columns
            block = block.astype(object).where(block.notna(), None)
        imputer = SimpleImputer(strategy=strategy, keep_empty_features=True,
                                missing_values=np.nan if strategy == "median" else None)
        imputer.fit(block)
        fill.update({n: (float(v) if strategy == "median" else str(v))
                     for n, v in zip(names, imputer.statistics_, strict=True)})
    return fill


def impute(values: pd.DataFrame, fill: dict[str, float | str]) -> pd.DataFrame:
    """``values`` with each gap filled from the training statistics."""
    return values.fillna({k: v for k, v in fill.items() if k in values.columns})


def _transformed(values: np.ndarray, schema: Schema) -> np.ndarray:
    out = values.astype(np.float64)
    for j, field in enumerate(schema.numeric):
        if field.transform == "log10":
            low, high = field.clip or (1.0, np.inf)
            out[:, j] = np.log10(np.clip(out[:, j], low, high))
        elif field.transform is not None:
            raise ValueError(f"unknown transform {field.transform!r}")
    return out


def encode(values: pd.DataFrame, schema: Schema, fill: dict[str, float | str]) -> np.ndarray:
    """The network's input, (cases, ``len(input_columns(schema))``), float32."""
    if schema.missing_indicators:  # a missing category stays all zeros beside its indicator
        fill = {f.name: fill[f.name] for f in schema.numeric if f.name in fill}
    filled = impute(values, fill)
    numeric = _transformed(filled[[f.name for f in schema.numeric]].to_numpy(float), schema)
    parts = [numeric]
    for field in schema.categorical:
        codes = pd.Categorical(filled[field.name], categories=list(field.categories))
        parts.append(np.eye(len(field.categories))[codes.codes] * (codes.codes >= 0)[:, None])
    if schema.missing_indicators:
        parts.append(values[indicator_fields(schema)].isna().to_numpy(float))
    return np.concatenate(parts, axis=1).astype(np.float32)


def indicator_fields(schema: Schema) -> list[str]:
    """The fields with a missing-value indicator column, in column order (after the
    one-hot columns): the numeric fields, then the categorical ones."""
    return [f.name for f in schema.numeric] + [f.name for f in schema.categorical] \
        if schema.missing_indicators else []


def column_fields(schema: Schema) -> np.ndarray:
    """For each encoded column, the index of its field in ``schema.fields``."""
    index = {f.name: i for i, f in enumerate(schema.fields)}
    return np.array([index[f.name] for f in schema.numeric] +
                    [index[f.name] for f in schema.categorical for _ in f.categories] +
                    [index[name] for name in indicator_fields(schema)], dtype=int)


def input_columns(schema: Schema) -> list[str]:
    """The names of the encoded columns: numeric fields, then ``field=category`` one-hot."""
    return ([f.name for f in schema.numeric]
            + [f"{f.name}={code}" for f in schema.categorical for code in f.categories]
            + [f"{name} missing" for name in indicator_fields(schema)])


def indicator_columns(schema: Schema) -> np.ndarray:
    """(encoded columns, encoded columns) 0/1: row ``i`` marks the value columns of the
    field whose missing-value indicator is column ``i`` (zero rows elsewhere). A row of
    indicators times this matrix says which value columns were not recorded."""
    owners = column_fields(schema)
    width = len(owners)
    matrix = np.zeros((width, width), np.float32)
    first_indicator = width - len(indicator_fields(schema))
    for i in range(first_indicator, width):
        matrix[i, :first_indicator] = owners[:first_indicator] == owners[i]
    return matrix


def recorded_values(x: np.ndarray, schema: Schema) -> np.ndarray | None:
    """(cases, columns) booleans: the value columns of the fields each encoded case
    recorded (its indicator columns excluded: which tests a site does is not a finding);
    None for a schema without indicators (every column counts)."""
    if not schema.missing_indicators:
        return None
    unrecorded = x @ indicator_columns(schema) > 0.5
    values = np.arange(x.shape[1]) < x.shape[1] - len(indicator_fields(schema))
    return ~unrecorded & values[None, :]
