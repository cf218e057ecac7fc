"""From validated values to the network's input matrix, and back from its columns to fields.

- Imputation: scikit-learn ``SimpleImputer`` (median for numeric fields, most frequent
  category for categorical ones) fitted on the training split only. Only its statistics are
  stored, in the card (``runtime.imputation``), so nothing is unpickled at load time;
  applying them is a plain ``fillna``, which is what ``SimpleImputer.transform`` does.
- Encoding: numeric fields first (after their ``transform``), then each categorical field
  one-hot in the schema's category order. Standardisation happens inside the network (its
  ``standardize`` layer), so the weights file carries it and its checksum covers it.

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
    filled = impute(values, fill)
    numeric = _transformed(filled[[f.name for f in schema.numeric]].to_numpy(float), schema)
    parts = [numeric]
    for field in schema.categorical:
        codes = pd.Categorical(filled[field.name], categories=list(field.categories))
        parts.append(np.eye(len(field.categories))[codes.codes] * (codes.codes >= 0)[:, None])
    return np.concatenate(parts, axis=1).astype(np.float32)


def column_fields(schema: Schema) -> np.ndarray:
    """For each encoded column, the index of its field in ``schema.fields``."""
    index = {f.name: i for i, f in enumerate(schema.fields)}
    return np.array([index[f.name] for f in schema.numeric] +
                    [index[f.name] for f in schema.categorical for _ in f.categories])


def input_columns(schema: Schema) -> list[str]:
    """The names of the encoded columns: numeric fields, then ``field=category`` one-hot."""
    return [f.name for f in schema.numeric] + [f"{f.name}={code}" for f in schema.categorical
                                               for code in f.categories]
