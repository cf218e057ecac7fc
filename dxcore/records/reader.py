"""Case records from CSV (header row, one case per row) or JSON (one object or a list of
objects), from a path or from uploaded bytes. Uploads are parsed in memory, never written to
disk. Every cell is kept as read (text for CSV); :mod:`dxcore.records.validation` decides
what it means.

Example:
    >>> read_cases(b"age,sex\\n63,1\\n41,0\\n", name="cases.csv")
      age sex
    0  63   1
    1  41   0
    >>> read_cases(b'{"age": 63, "sex": 1}', name="case.json").to_dict("records")
    [{'age': 63, 'sex': 1}]
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd

from dxcore.contract import read_path
from dxcore.errors import DxError


def read_cases(source: str | Path | bytes, name: str | None = None) -> pd.DataFrame:
    """A table of cases, one row each, columns as in the file.

    ``source`` is a path, or the bytes of an upload with its file ``name`` (whose suffix,
    ``.csv`` or ``.json``, says how to read it; without one, JSON is tried when the text
    starts with ``{`` or ``[``).
    """
    if isinstance(source, bytes):
        data, name = source, name or "upload"
    else:
        name, data = str(source), read_path(source)
    try:
        text = data.decode("utf-8-sig")  # the BOM some spreadsheet exports start with
    except UnicodeDecodeError:
        raise DxError(f"{name} is not a text file (CSV or JSON, UTF-8).") from None
    if not text.strip():
        raise DxError(f"{name} is empty: expected a header row and at least one case.")
    suffix = Path(name).suffix.lower()
    as_json = suffix == ".json" or (suffix != ".csv" and text.lstrip()[:1] in ("{", "["))
    table = _read_json(text, name) if as_json else _read_csv(text, name)
    if table.empty:
        raise DxError(f"{name} holds no cases: expected a header row and at least one row.")
    return table


def _read_csv(text: str, name: str) -> pd.DataFrame:
    try:
        # dtype=str and no NA parsing: validation sees exactly what was typed ("?", "NA", "")
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            skipinitialspace=True)
    except pd.errors.ParserError as error:
        raise DxError(f"{name} cannot be read as CSV ({error}). Expected a header row and "
                      "one case per row, separated by commas.") from None
    if table.index.nlevels > 1 or not isinstance(table.index, pd.RangeIndex):
        # pandas took the first column(s) as the index: rows hold more values than the
        # header names. Only empty extras (a trailing comma) may be dropped; anything else
        # would shift every value into the wrong field.
        width = len(table.columns)
        rows = list(csv.reader(io.StringIO(text)))
        for number, row in enumerate(rows[1:], start=1):
            if any(cell.strip() for cell in row[width:]):
                raise DxError(f"{name}: row {number} has {len(row)} values, but the header "
                              f"names {width} columns. Check the file's separators.")
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            skipinitialspace=True, index_col=False, usecols=range(width))
    table.columns = [str(c).strip() for c in table.columns]
    return table


def _read_json(text: str, name: str) -> pd.DataFrame:
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise DxError(f"{name} is not valid JSON ({error.msg}, line {error.lineno}).") from None
    except RecursionError:  # nested thousands deep: no case file looks like that
        raise DxError(f"{name} is nested too deeply to be a file of cases.") from None
    cases = [content] if isinstance(content, dict) else content
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        raise DxError(f"{name}: expected one JSON object (a case) or a list of objects.")
    # dtype=object keeps JSON's own types (a string "63" stays a string) for validation
    return pd.DataFrame.from_records(cases).astype(object)
