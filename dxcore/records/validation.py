"""Checking a table of cases against a model's :class:`~dxcore.records.schema.Schema`.

Each problem becomes one plain sentence naming the row (1 = the first case under the header)
and the field; a row's problems never stop the other rows. Unknown columns are ignored with a
notice. Numeric fields are checked in one vectorised pass over all columns, which keeps a
7,129-probe gene profile fast.

Example:
    >>> from dxcore.records.reader import read_cases
    >>> from dxcore.records.schema import Schema
    >>> schema = Schema.from_json({"fields": [{"name": "age", "label": "Age", "unit": "years",
    ...     "type": "numeric", "range": [0, 120], "missing_allowed": True}]})
    >>> checked = validate(read_cases(b"age,note\\n63,x\\n430,y\\n", name="c.csv"), schema)
    >>> checked.notes
    ['Ignored 1 column this model does not use: note.']
    >>> checked.errors
    {2: 'Row 2, Age (years): 430 is outside the plausible range 0 to 120 years.'}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dxcore.errors import DxError
from dxcore.records.schema import Field, Schema

MISSING_TOKENS = frozenset({"", "?", "na", "n/a", "nan", "null", "none"})
PROBLEMS_SHOWN = 5  # per row; a profile of 7,129 bad values would otherwise flood the page
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass
class Validation:
    """The checked table: parsed ``values`` (float for numeric fields, the category code
    for categorical ones, NaN where missing or invalid), ``errors`` by row number, and
    ``notes`` about the table as a whole."""

    values: pd.DataFrame
    rows: list[int]
    errors: dict[int, str]
    notes: list[str]

    @property
    def valid_rows(self) -> list[int]:
        return [r for r in self.rows if r not in self.errors]

    def valid_values(self) -> pd.DataFrame:
        """The values of the rows without errors (index = row numbers)."""
        return self.values.loc[self.valid_rows]


def _names(columns: list[str]) -> str:
    shown = ", ".join(columns[:PROBLEMS_SHOWN])
    return shown + (f" and {len(columns) - PROBLEMS_SHOWN} more" if len(columns) >
                    PROBLEMS_SHOWN else "")


def _shortened(text: str, limit: int = 40) -> str:
    """A cell as echoed in a message: a 2 MB cell must not flood the page.

    >>> _shortened("sixty"), _shortened("x" * 100)
    ('sixty', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (100 characters)')
    """
    text = _CONTROL.sub(" ", text)  # a cell's line breaks or escape codes, not echoed
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _as_text(cells: np.ndarray) -> np.ndarray:
    """Every cell of an object array as stripped text ('' for empty cells), one vectorised
    pass."""
    flat = pd.Series(cells.ravel()).fillna("").astype(str).str.strip()
    return flat.to_numpy().reshape(cells.shape)


def _check_numeric(block: pd.DataFrame, fields: list[Field], rows: list[int],
                   problems: dict[int, list[str]]) -> pd.DataFrame:
    cells = block.to_numpy(dtype=object)  # once: on a 7,129-probe table this is slow
    text = _as_text(cells)
    missing = np.isin(np.char.lower(text.astype(str)), list(MISSING_TOKENS))
    # JSON true/false are not numbers, though float(True) would say otherwise
    is_bool = np.vectorize(lambda v: isinstance(v, bool | np.bool_), otypes=[bool])(
        cells) if block.size else np.zeros(block.shape, bool)
    parsed = pd.to_numeric(pd.Series(text.ravel()), errors="coerce").to_numpy(float, copy=True)
    parsed = parsed.reshape(block.shape)
    parsed[is_bool] = np.nan
    not_a_number = np.isnan(parsed) & ~missing
    low = np.array([f.range[0] if f.range else -np.inf for f in fields])
    high = np.array([f.range[1] if f.range else np.inf for f in fields])
    with np.errstate(invalid="ignore"):
        outside = (parsed < low) | (parsed > high) | np.isinf(parsed)
    # dtype=bool: with no numeric field in the table an empty list would be float
    required = np.array([not f.missing_allowed for f in fields], dtype=bool)
    for i, j in zip(*np.nonzero(not_a_number | outside | (missing & required)), strict=True):
        field, row = fields[j], rows[i]
        if not_a_number[i, j]:
            problems[row].append(f"{field.title} must be a number; got "
                                 f"'{_shortened(text[i, j])}'")
        elif missing[i, j]:
            problems[row].append(f"{field.title} is missing; this model needs it")
        else:
            problems[row].append(f"{field.title}: {parsed[i, j]:g} is outside the plausible "
                                 f"range {field.allowed()}")
    parsed[not_a_number | outside | missing] = np.nan
    return pd.DataFrame(parsed, index=rows, columns=[f.name for f in fields])


def canonical_code(value: object) -> str:
    """How a categorical value is compared: trimmed, lower case, and ``4.0`` read as ``4``
    (CSV exports often write integer codes as floats).

    >>> canonical_code(" 4.0 "), canonical_code("Normal")
    ('4', 'normal')
    """
    text = str(value).strip().lower()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def _check_categorical(column: pd.Series, field: Field, rows: list[int],
                       problems: dict[int, list[str]]) -> pd.Series:
    codes = {canonical_code(code): code for code in field.categories}
    out = []
    for row, value in zip(rows, column.fillna("").tolist(), strict=True):
        text = canonical_code(value)
        if text in MISSING_TOKENS:
            if not field.missing_allowed:
                problems[row].append(f"{field.title} is missing; this model needs it")
            out.append(np.nan)
        elif text in codes:
            out.append(codes[text])
        else:
            shown = _shortened(str(value).strip())
            problems[row].append(f"{field.title}: '{shown}' is not one of "
                                 f"{field.allowed()}")
            out.append(np.nan)
    return pd.Series(out, index=rows, name=field.name, dtype=object)


def row_prefix(row: int, rows: int) -> str:
    """How a message names its row: "Row 3, " in a table, nothing for a one-case form
    (whose only case needs no number).

    >>> row_prefix(3, 10), row_prefix(1, 1)
    ('Row 3, ', '')
    """
    return f"Row {row}, " if rows > 1 else ""


def _zeros_as_missing(table: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, list[str]]:
    """``table`` with a 0 read as "not recorded" in the fields whose 0 means that, and a
    note per such field naming the rows (none for a one-case table: it has no rows to
    name)."""
    notes = []
    for field in schema.numeric:
        if not field.zero_means_missing or field.name not in table.columns:
            continue
        zero = pd.to_numeric(table[field.name], errors="coerce").eq(0).to_numpy()
        if not zero.any():
            continue
        table = table.copy()
        table.loc[zero, field.name] = ""
        where = "" if len(table) == 1 else (
            f" in row{'s' if zero.sum() > 1 else ''} "
            f"{_names([str(r) for r in table.index[zero]])}")
        notes.append(f"{field.title} given as 0{where}: read as not recorded (it cannot be "
                     "0), so the answer does without it.")
    return table, notes


def validate(table: pd.DataFrame, schema: Schema) -> Validation:
    """Check every cell of ``table`` against ``schema``; see the module docstring.

    Raises :class:`DxError` when the table has none of the schema's columns: every field
    would be imputed, and the "prediction" would be the cohort's typical case."""
    if not set(table.columns) & set(schema.names):
        raise DxError(f"None of the columns this model reads is in the file (it reads "
                      f"{_names(schema.names)}). Check the header row, or choose the model "
                      "the file is meant for.")
    rows = list(range(1, len(table) + 1))
    problems: dict[int, list[str]] = {row: [] for row in rows}
    notes = []
    unknown = [c for c in table.columns if c not in schema]
    if unknown:
        notes.append(f"Ignored {len(unknown)} column{'s' if len(unknown) > 1 else ''} this "
                     f"model does not use: {_names(unknown)}.")
    absent = [f for f in schema.fields if f.name not in table.columns]
    absent_required = [f.name for f in absent if not f.missing_allowed]
    if absent_required:
        for row in rows:
            problems[row].append(f"the required column{'s' if len(absent_required) > 1 else ''}"
                                 f" {_names(absent_required)} "
                                 f"{'are' if len(absent_required) > 1 else 'is'} not in the file")
    elif absent:
        names = _names([f.name for f in absent])
        notes.append(f"Not in the file, so every case is answered without them: {names}."
                     if schema.missing_indicators else
                     f"Not in the file, so imputed for every case: {names}.")

    present = table.set_axis(rows)
    present, zeros = _zeros_as_missing(present, schema)
    notes.extend(zeros)
    numeric = [f for f in schema.numeric if f.name in table.columns]
    parts = [_check_numeric(present[[f.name for f in numeric]], numeric, rows, problems)]
    parts += [_check_categorical(present[f.name], f, rows, problems)
              for f in schema.categorical if f.name in table.columns]
    values = pd.concat(parts, axis=1).reindex(columns=schema.names)
    errors = {}
    for row, found in problems.items():
        if found:
            more = len(found) - PROBLEMS_SHOWN
            shown = "; ".join(found[:PROBLEMS_SHOWN]) + (f"; and {more} more problems"
                                                         if more > 0 else "")
            errors[row] = f"{row_prefix(row, len(rows))}{shown}."
    return Validation(values, rows, errors, notes)
