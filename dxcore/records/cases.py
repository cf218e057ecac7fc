"""Running a table of cases through a record model: one result per row, errors included.

Invalid rows get their validation message and no prediction; the valid rows go through the
network together in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dxcore.calibration import calibrated_probabilities
from dxcore.models import RecordModel
from dxcore.records.atypicality import ATYPICAL_FROM, atypicality, reconstruction_error
from dxcore.records.validation import validate


@dataclass
class CaseResult:
    """One row's outcome. ``values`` are the parsed inputs (NaN where missing, before
    imputation); ``model_input`` and ``deviation`` (encoded columns) feed the explanations."""

    row: int
    values: dict[str, Any]
    error: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    prediction: str | None = None
    atypicality: float | None = None
    imputed: list[str] = field(default_factory=list)
    model_input: np.ndarray | None = None
    deviation: np.ndarray | None = None

    @property
    def atypical(self) -> bool:
        return self.atypicality is not None and self.atypicality >= ATYPICAL_FROM

    def as_json(self) -> dict[str, Any]:
        """The CLI's per-row object, less ``input`` and ``model``."""
        if self.error:
            return {"row": self.row, "error": self.error}
        out = {"row": self.row, "probabilities": self.probabilities,
               "prediction": self.prediction, "atypicality": self.atypicality}
        if self.imputed:
            out["notes"] = [f"Missing, imputed from the training cohort: "
                            f"{', '.join(self.imputed)}."]
        return out


@dataclass
class CaseBatch:
    """All rows of one table, and the notes about the table (ignored columns...)."""

    model_id: str
    results: list[CaseResult]
    notes: list[str]

    @property
    def failed(self) -> int:
        return sum(r.error is not None for r in self.results)

    def table(self) -> pd.DataFrame:
        """One line per case: probabilities, prediction, atypicality, error (for a sortable
        view or a CSV download)."""
        return pd.DataFrame([{"row": r.row, "prediction": r.prediction,
                              **{f"p({name})": p for name, p in r.probabilities.items()},
                              "atypicality": r.atypicality, "error": r.error}
                             for r in self.results])


def predict_cases(model: RecordModel, table: pd.DataFrame) -> CaseBatch:
    """Validate ``table`` (from :func:`dxcore.records.readers.read_cases`) and predict
    every valid row."""
    checked = validate(table, model.schema)
    values = checked.values
    results = {row: CaseResult(row, _plain(values.loc[row]), error=checked.errors.get(row))
               for row in checked.rows}
    valid = checked.valid_rows
    if valid:
        x = model.prepare(checked.valid_values())
        logits, deviation = model.outputs(x)
        probabilities = calibrated_probabilities(logits, model.card["calibration_temperature"])
        scores = atypicality(reconstruction_error(deviation),
                             model.card["atypicality"]["reference_quantiles"])
        names = model.card.class_names
        positive = model.card.positive_class
        threshold = float(model.card["decision_threshold"])
        other = next(n for n in names if n != positive)  # record models are binary
        missing = values.loc[valid].isna().to_numpy()
        field_names = np.asarray(model.schema.names)
        for i, row in enumerate(valid):
            p = probabilities[i]
            result = results[row]
            result.probabilities = {n: round(float(v), 6) for n, v in zip(names, p, strict=True)}
            result.prediction = positive if p[names.index(positive)] >= threshold else other
            result.atypicality = float(scores[i])
            result.imputed = field_names[missing[i]].tolist()
            result.model_input, result.deviation = x[i], deviation[i]
    return CaseBatch(model.card.id, [results[row] for row in checked.rows], checked.notes)


def _plain(series: pd.Series) -> dict[str, Any]:
    """A row's parsed values as JSON-ready Python values (None where missing)."""
    return {k: (None if pd.isna(v) else v.item() if isinstance(v, np.generic) else v)
            for k, v in series.items()}
