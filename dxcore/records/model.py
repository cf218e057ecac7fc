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
from dxcore.records.mapping import ColumnMapping, apply_mapping
from dxcore.records.missingness import missing_groups
from dxcore.records.preprocessing import column_fields, encode, recorded_values
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
    imputed: list[str] = field(default_factory=list)  # the fields missing
    prediction_set: dict[str, Any] = field(default_factory=dict)  # Result.set_json
    # True: the model reads that a field is missing (missing-value indicators), rather
    # than taking the filled value as the patient's
    indicated: bool = False

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
            out["notes"] = [self.missing_note()]
        return out

    def missing_note(self) -> str:
        """What the answer did with the missing fields, in words."""
        if self.indicated:
            return (f"Not recorded: {', '.join(self.imputed)}. The model answers without "
                    "them, and its prediction set is calibrated on cases missing as many "
                    "findings, so it is wider when they matter.")
        return f"Missing, imputed from the training cohort: {', '.join(self.imputed)}."


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

    def read(self, source: Any, mapping: ColumnMapping | None = None,
             **options: Any) -> pd.DataFrame:
        """A table of cases: a DataFrame (a form's answers), a CSV, JSON or Excel workbook
        path, or an upload ``{name: bytes}`` of one such file; with ``mapping``, its columns
        renamed to this model's fields (:mod:`dxcore.records.mapping`)."""
        if isinstance(source, pd.DataFrame):
            table = source
        elif is_upload(source):
            name, data = single_upload(source, "file of cases (CSV, JSON or Excel)")
            table = read_cases(data, name=name)
        elif isinstance(source, str | Path | bytes):
            table = read_cases(source)
        else:
            raise DxError("This model reads case records (CSV, JSON or an Excel workbook).")
        if mapping is None:
            return table
        if mapping.model != self.card.id:
            raise DxError(f"The column mapping is for the model {mapping.model}, not "
                          f"{self.card.id}.")
        return apply_mapping(table, mapping, self.schema)

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
        checked.notes[:0] = decoded.attrs.get("notes", [])  # how the file was read (a sheet)
        codes = dict.fromkeys(checked.errors, "invalid_input")
        if self.guard is not None:
            labels = {f.name: f.title for f in self.schema.fields}
            for row in checked.valid_rows:
                refusal = self.guard.refusal(_plain(checked.values.loc[row]), labels)
                if refusal is not None:
                    checked.errors[row] = _in_row(refusal, row, len(checked.rows))
                    codes[row] = ("too_few_fields" if refusal.startswith("Too few")
                                  else "out_of_domain")
        x = encode(checked.valid_values(), self.schema, self.card.imputation)
        return Prepared(x, decoded, {"validation": checked, "codes": codes},
                        notes=list(checked.notes))

    def conformal_groups(self, prepared: Prepared) -> list[str] | None:
        """Each answered row's missingness group, where the card calibrates its sets per
        number of missing fields (:mod:`dxcore.records.missingness`)."""
        return conformal_groups(prepared.context["validation"].valid_values(), self.card)

    def describe(self, prepared: Prepared, result: Result) -> CaseBatch:
        checked = prepared.context["validation"]
        values = checked.values
        codes = prepared.context["codes"]
        cases = {row: CaseResult(row, _plain(values.loc[row]), error=checked.errors.get(row),
                                 code=codes.get(row)) for row in checked.rows}
        valid = checked.valid_rows
        if valid:
            scores = atypicality(reconstruction_error(
                result.outputs["deviation"], recorded_values(prepared.x, self.schema)),
                self.card.atypicality_quantiles)
            missing = values.loc[valid].isna().to_numpy()
            field_names = np.asarray(self.schema.names)
            for item, row in enumerate(valid):
                case = cases[row]
                deviation = result.outputs["deviation"][item]
                refusal = (None if self.guard is None else self.guard.atypical_refusal(
                    float(scores[item]), self._most_unusual(deviation)))
                if refusal is not None:  # unlike the cohort: no answer
                    case.error, case.code, case.atypicality = _in_row(
                        refusal, row, len(checked.rows)), "out_of_domain", float(scores[item])
                    continue
                case.item = item
                case.probabilities = result.probabilities_of(item)
                case.prediction = str(result.decisions[item])
                case.prediction_set = result.set_json(item)
                case.atypicality = float(scores[item])
                case.imputed = field_names[missing[item]].tolist()
                case.indicated = self.schema.missing_indicators
        return CaseBatch(self.card.id, [cases[row] for row in checked.rows], checked.notes)

    def _most_unusual(self, deviation: np.ndarray) -> str:
        """The field whose encoded columns the autoencoder reconstructs worst."""
        per_field = np.bincount(column_fields(self.schema), np.square(deviation),
                                minlength=len(self.schema))
        return self.schema.fields[int(np.argmax(per_field))].title

    def describe_explanation(self, result: Result, explanation: Explanation):
        from dxcore.records.explainers import case_explanation

        return case_explanation(self, result, explanation)


def conformal_groups(values: pd.DataFrame, card) -> list[str] | None:
    """The missingness group of each case of ``values`` (NaN where missing) under the
    card's ``runtime.conformal.groups`` rule, or None without one."""
    rule = ((card.conformal or {}).get("groups") or {}).get("rule")
    if rule is None:
        return None
    return missing_groups(values, rule["edges"])


def _in_row(message: str, row: int, rows: int) -> str:
    """A case's message as a table shows it ("Row 3: ..."); a one-case form's as it is."""
    return f"Row {row}: {message}" if rows > 1 else message


def _plain(series: pd.Series) -> dict[str, Any]:
    """A row's parsed values as JSON-ready Python values (None where missing)."""
    return {k: (None if pd.isna(v) else v.item() if isinstance(v, np.generic) else v)
            for k, v in series.items()}
