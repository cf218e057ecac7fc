"""Missing findings as a model meets them at other hospitals: taught by hiding findings in
training, and named by how many are missing when the prediction set is calibrated.

- :class:`FieldDropout` hides recorded fields of training cases at random (each with
  probability ``rate``), encoded exactly as a finding that was never recorded (the fill
  value or zero one-hot, and the missing-value indicator set). A site that never measures
  one finding, or several at once, then meets a network that has learnt to answer without
  them, rather than one that saw their indicators only in the patterns of its training sites
  (the idea of "missingness augmentation"; cf. dropout of whole input features, e.g. Wang et
  al., "Deep learning for clinical time series with missing values", and the
  missing-indicator method of :mod:`dxcore.records.preprocessing`).
- :func:`missing_group` puts a case into a group by its number of missing fields (the card's
  ``runtime.conformal.groups``): the conformal sets are calibrated per group (Mondrian by
  missingness), so a case without fluoroscopy and thallium gets the wider set that cases as
  incomplete as it needed, not the set of complete cases.

Example:
    >>> from dxcore.records.schema import Schema
    >>> schema = Schema.from_json({"missing": "indicators", "fields": [
    ...     {"name": "age", "label": "Age", "type": "numeric", "missing_allowed": True},
    ...     {"name": "sex", "label": "Sex", "type": "categorical",
    ...      "categories": {"0": "female", "1": "male"}, "missing_allowed": True}]})
    >>> hide = FieldDropout.for_schema(schema, {"age": 50.0}, rate=1.0, keep=("age",))
    >>> x = np.array([[60.0, 0.0, 1.0, 0.0, 0.0]])  # age 60, male, nothing missing
    >>> hide(x, np.random.default_rng(0)).tolist()  # sex hidden: zeros and its indicator
    [[60.0, 0.0, 0.0, 0.0, 1.0]]
    >>> [missing_group(k, [1, 3]) for k in (0, 2, 7)]
    ['0-1 missing', '2-3 missing', '4 or more missing']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dxcore.records.preprocessing import column_fields, encode, indicator_fields
from dxcore.records.schema import Schema


@dataclass(frozen=True)
class FieldDropout:
    """Hide each recorded, droppable field of each case with probability ``rate``."""

    rate: float
    field_of_column: np.ndarray  # (columns,) the field index of each value column, -1 else
    indicator: np.ndarray        # (fields,) the column of each field's indicator
    unrecorded: np.ndarray       # (columns,) what the columns of an unrecorded case hold
    droppable: np.ndarray        # (fields,) bool

    @classmethod
    def for_schema(cls, schema: Schema, fill: dict[str, float | str], rate: float,
                   keep: tuple[str, ...] = ()) -> FieldDropout:
        """For ``schema`` (with missing-value indicators), its numeric ``fill`` values; the
        fields in ``keep`` are never hidden (those every case has)."""
        names = indicator_fields(schema)
        if not names:
            raise ValueError("field dropout needs a schema with missing-value indicators")
        owners = column_fields(schema)
        first = len(owners) - len(names)
        position = {name: i for i, name in enumerate(schema.names)}
        order = np.array([position[name] for name in names])  # indicator k -> schema field
        field_of_column = np.full(len(owners), -1)
        for k, field in enumerate(order):
            field_of_column[:first][owners[:first] == field] = k
        empty = pd.DataFrame({name: [np.nan] for name in schema.names}, dtype=object)
        return cls(rate, field_of_column, np.arange(first, len(owners)),
                   encode(empty, schema, fill)[0],
                   np.array([name not in keep for name in names]))

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        recorded = x[:, self.indicator] == 0
        hide = (rng.random(recorded.shape) < self.rate) & recorded & self.droppable
        if not hide.any():
            return x
        value_hidden = np.zeros(x.shape, bool)
        columns = self.field_of_column >= 0
        value_hidden[:, columns] = hide[:, self.field_of_column[columns]]
        value_hidden[:, self.indicator] = hide
        return np.where(value_hidden, self.unrecorded, x).astype(x.dtype)


def missing_group(missing: int, edges: list[int]) -> str:
    """The group of a case with ``missing`` fields missing: groups end at each of ``edges``
    (inclusive), the last is open."""
    low = 0
    for edge in edges:
        if missing <= edge:
            return f"{low}-{edge} missing" if edge > low else f"{edge} missing"
        low = edge + 1
    return f"{low} or more missing"


def missing_groups(values: pd.DataFrame, edges: list[int]) -> list[str]:
    """The group of each case of ``values`` (parsed, NaN where missing)."""
    return [missing_group(int(k), edges) for k in values.isna().sum(axis=1)]


def group_names(edges: list[int]) -> list[str]:
    """Every group's name, in order."""
    return [missing_group(k, edges) for k in [*edges, edges[-1] + 1]] if edges else \
        [missing_group(0, [])]
