"""Case records behind the one contract: a table of cases in, one item per valid row out.

Invalid rows get their validation message and no prediction; the valid rows go through the
network together in one batch. Record models are supervised autoencoders whose outputs are
the class logits and each encoded column's reconstruction ``deviation`` (the atypicality).

Example (needs the shipped weights)::

    from dxcore import get_model
    model = get_model("heart-disease")
    result = model.predict("cases.csv")
    result.detail.results[0].prediction
    # -> 'heart disease'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dxcore.contract import DxModel, Prepared, Result, is_upload, single_upload
from dxcore.errors import DxError
from dxcore.explain import Explanation
from dxcore.labels import Identity
from dxcore.records.atypicality import ATYPICAL_FROM, atypicality, reconstruction_error
from dxcore.records.case_ids import table_identities
from dxcore.records.domain import RecordGuard
from dxcore.records.preprocessing import column_fields, encode
from dxcore.records.reader import read_cases
from dxcore.records.schema import Schema
from dxcore.records.validation import validate


@dataclass
class CaseResult:
    """One row's outcome. ``values`` are the parsed inputs (None where missing, before
    imputation); ``item`` is the row's index among the result's items (None when the row
    was refused)."""

    row: int
    values: dict[str, Any]
    error: str | None = None
    code: str | None = None  # DxError codes: invalid_input, too_few_fields, out_of_domain
    item: int | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    prediction: str | None = None
    atypicality: float | None = None
    imputed: list[str] = field(default_factory=list)
    prediction_set: dict[str, Any] = field(default_factory=dict)  # Result.set_json

    @property
    def atypical(self) -> bool:
        return self.atypicality is not None and self.atypicality >= ATYPICAL_FROM

    def as_json(self, model_id: str) -> dict[str, Any]:
        """The CLI's per-row object, less ``input``."""
        if self.error:
            return {"row": self.row, "error": self.error, "code": self.code}
        out = {"row": self.row, "model": model_id, "probabilities": self.probabilities,
               "prediction": self.prediction, **self.prediction_set,
               "atypicality": self.atypicality}
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

    def as_json(self, result: Result, explanations: dict[int, Explanation]) -> list[dict]:
        lines = []
        for case in self.results:
            line = case.as_json(self.model_id)
            if case.item in explanations:
                line["explanation"] = explanations[case.item].as_json()
            lines.append(line)
        return lines

    def text(self, result: Result) -> list[str]:
        lines = []
        for case in self.results:
            if case.error:
                lines.append(case.error)  # it names the row
                continue
            probabilities = ", ".join(f"{k} {v:.3f}" for k, v in case.probabilities.items())
            lines.append(f"row {case.row}: {case.prediction} ({probabilities}); atypicality "
                         f"{case.atypicality:.0f}th percentile of the training cohort")
        return lines


class RecordModel(DxModel):
    """Case records (clinical findings, gene profiles): validated against the card's schema,
    imputed and encoded as in training, one item per valid row."""

    modality = "record"
    batch_size = 256

    @cached_property
    def schema(self) -> Schema:
        """The input fields, from the card (parsed once: a gene profile has thousands)."""
        return Schema.from_json(self.card.input_spec)

    def read(self, source: Any, **options: Any) -> pd.DataFrame:
        """A table of cases: a DataFrame (a form's answers), a CSV or JSON path, or an
        upload ``{name: bytes}`` of one such file."""
        if isinstance(source, pd.DataFrame):
            return source
        if is_upload(source):
            name, data = single_upload(source, "file of cases (CSV or JSON)")
            return read_cases(data, name=name)
        if isinstance(source, str | Path | bytes):
            return read_cases(source)
        raise DxError("This model reads case records (CSV or JSON).")

    def identities(self, files: dict[str, bytes]) -> list[Identity]:
        """Each row's case and patient ID from the table's ID columns
        (:mod:`dxcore.records.case_ids`), rows numbered as :meth:`read` reads them."""
        return table_identities(self.read(files), self.schema.names)

    @cached_property
    def guard(self) -> RecordGuard | None:
        """The domain guard (:mod:`dxcore.records.domain`), if the card has one."""
        runtime = self.card.domain_guard
        return None if runtime is None else RecordGuard.from_runtime(runtime)

    def preprocess(self, decoded: pd.DataFrame, **options: Any) -> Prepared:
        """Validate every row; rows with too few known findings are refused here, before
        the network, like rows with implausible values."""
        checked = validate(decoded, self.schema)
        codes = dict.fromkeys(checked.errors, "invalid_input")
        if self.guard is not None:
            labels = {f.name: f.title for f in self.schema.fields}
            for row in checked.valid_rows:
                refusal = self.guard.refusal(_plain(checked.values.loc[row]), labels, row)
                if refusal is not None:
                    checked.errors[row], codes[row] = refusal, "too_few_fields"
        x = encode(checked.valid_values(), self.schema, self.card.imputation)
        return Prepared(x, decoded, {"validation": checked, "codes": codes},
                        notes=list(checked.notes))

    def describe(self, prepared: Prepared, result: Result) -> CaseBatch:
        checked = prepared.context["validation"]
        values = checked.values
        codes = prepared.context["codes"]
        cases = {row: CaseResult(row, _plain(values.loc[row]), error=checked.errors.get(row),
                                 code=codes.get(row)) for row in checked.rows}
        valid = checked.valid_rows
        if valid:
            scores = atypicality(reconstruction_error(result.outputs["deviation"]),
                                 self.card.atypicality_quantiles)
            missing = values.loc[valid].isna().to_numpy()
            field_names = np.asarray(self.schema.names)
            for item, row in enumerate(valid):
                case = cases[row]
                deviation = result.outputs["deviation"][item]
                refusal = (None if self.guard is None else self.guard.atypical_refusal(
                    float(scores[item]), row, self._most_unusual(deviation)))
                if refusal is not None:  # unlike the cohort: no answer
                    case.error, case.code, case.atypicality = refusal, "out_of_domain", \
                        float(scores[item])
                    continue
                case.item = item
                case.probabilities = result.probabilities_of(item)
                case.prediction = str(result.decisions[item])
                case.prediction_set = result.set_json(item)
                case.atypicality = float(scores[item])
                case.imputed = field_names[missing[item]].tolist()
        return CaseBatch(self.card.id, [cases[row] for row in checked.rows], checked.notes)

    def _most_unusual(self, deviation: np.ndarray) -> str:
        """The field whose encoded columns the autoencoder reconstructs worst."""
        per_field = np.bincount(column_fields(self.schema), np.square(deviation),
                                minlength=len(self.schema))
        return self.schema.fields[int(np.argmax(per_field))].title

    def describe_explanation(self, result: Result, explanation: Explanation):
        from dxcore.records.explainers import case_explanation

        return case_explanation(self, result, explanation)


def _plain(series: pd.Series) -> dict[str, Any]:
    """A row's parsed values as JSON-ready Python values (None where missing)."""
    return {k: (None if pd.isna(v) else v.item() if isinstance(v, np.generic) else v)
            for k, v in series.items()}
