"""Case records from CSV (header row, one case per row), an Excel workbook (.xlsx, read as
the CSV of its sheet of cases: :mod:`dxcore.workbook`) or JSON (one object or a list of
objects), from a path or from uploaded bytes. Uploads are parsed in memory, never written to
disk. Every cell is kept as read (text for CSV and workbooks);
:mod:`dxcore.records.validation` decides what it means. Notes about how a file was read
(which sheet of a workbook) are in the table's ``attrs["notes"]``.

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
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from dxcore.contract import read_path
from dxcore.errors import DxError
from dxcore.formats import is_json_text
from dxcore.tables import decode_text, sniff_dialect
from dxcore.workbook import read_workbook, workbook_format

# Larger tables are refused before parsing: a 100,000-row file took 1.6 GB to read,
# validate and predict. 20,000 cases is far more than one worklist holds; the byte limit
# bounds wide tables (a gene profile of 7,129 probes is about 50 kB a case).
MAX_CASES = 20_000
MAX_CASE_FILE_BYTES = 30 * 2 ** 20
# A number with a decimal comma ("2,3"), as a European spreadsheet writes it.
_DECIMAL_NUMBER = re.compile(r"^\s*(-?\d*),(\d+)\s*$")


def read_cases(source: str | Path | bytes, name: str | None = None) -> pd.DataFrame:
    """A table of cases, one row each, columns as in the file.

    ``source`` is a path, or the bytes of an upload with its file ``name``. A workbook is
    recognised by its bytes, whatever its name; for text, the suffix (``.csv`` or
    ``.json``) says how to read it; without one, JSON is tried when the text starts with
    ``{`` or ``[``.
    """
    if isinstance(source, bytes):
        data, name = source, name or "upload"
    else:
        name, data = str(source), read_path(source)
    if len(data) > MAX_CASE_FILE_BYTES:
        raise DxError(f"{name} is over {MAX_CASE_FILE_BYTES // 2 ** 20} MB; at most "
                      f"{MAX_CASES:,} cases can be analysed at once. Split the file.")
    office = workbook_format(data)
    if office == "office":
        raise DxError(f"{name} is a Word or PowerPoint document, not a table of cases: "
                      "expected CSV, JSON or an Excel workbook (.xlsx).")
    if office is not None:
        sheet = read_workbook(data, name, MAX_CASES)
        sheet.table.attrs["notes"] = sheet.notes
        return sheet.table
    text = decode_text(data, name)
    if not text.strip():
        raise DxError(f"{name} is empty: expected a header row and at least one case.")
    suffix = Path(name).suffix.lower()
    as_json = suffix == ".json" or (suffix != ".csv" and is_json_text(text))
    table = _read_json(text, name) if as_json else _read_csv(text, name)
    if table.empty:
        raise DxError(f"{name} holds no cases: expected a header row and at least one row.")
    if len(table) > MAX_CASES:
        raise DxError(f"{name} holds {len(table):,} cases; at most {MAX_CASES:,} can be "
                      "analysed at once. Split the file.")
    return table


def _read_csv(text: str, name: str) -> pd.DataFrame:
    separator, decimal = sniff_dialect(text)
    # dtype=str and no NA parsing: validation sees exactly what was typed ("?", "NA", "")
    options = {"sep": separator, "dtype": str, "keep_default_na": False,
               "skipinitialspace": True}
    unreadable = DxError(f"{name} cannot be read as CSV: expected a header row and one "
                         "case per row, separated by commas (or semicolons), with quotes "
                         "closed.")
    try:
        table = pd.read_csv(io.StringIO(text), **options)
        # pandas takes the first column(s) as the index when the rows hold more values than
        # the header names, shifting every value into the wrong field.
        overlong = table.index.nlevels > 1 or not isinstance(table.index, pd.RangeIndex)
    except (pd.errors.ParserError, csv.Error):
        # Also raised when only some rows are longer than the first: tell that apart from
        # a file that is not CSV at all.
        overlong = True
    if overlong:
        try:
            width = _header_width(text, separator)
            if not _check_extra_values(text, separator, width, name):
                raise unreadable
            # Only empty extras (trailing commas) remain: read the header's columns alone.
            table = pd.read_csv(io.StringIO(text), index_col=False, usecols=range(width),
                                **options)
        except (pd.errors.ParserError, csv.Error):
            raise unreadable from None
    table.columns = [str(c).strip() for c in table.columns]
    # pandas renames a repeated column "age.1", which validation would then ignore: the
    # file holds two values for one field, and which one is meant is not known.
    header = next(csv.reader(io.StringIO(text, newline=""), delimiter=separator), [])
    names = [cell.strip() for cell in header]
    repeated = sorted({cell for cell in names if cell and names.count(cell) > 1})
    if repeated:
        raise DxError(f"{name}: the column {repeated[0]} appears more than once in the "
                      "header. Keep one column per field.")
    if decimal == ",":
        # Cells stay text for validation; only a number's decimal comma becomes a point
        # ("2,3" is read as 2.3), other text is left as typed.
        table = table.apply(lambda column: column.str.replace(
            _DECIMAL_NUMBER, r"\1.\2", regex=True))
    return table


def _rows(text: str, separator: str) -> Iterator[list[str]]:
    """The file's rows as the csv module splits them, blank lines skipped as pandas skips
    them, so that row numbers agree with the table's."""
    return (row for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator)
            if row)


def _header_width(text: str, separator: str) -> int:
    return len(next(_rows(text, separator), []))


def _check_extra_values(text: str, separator: str, width: int, name: str) -> bool:
    """Whether any row holds more values than the header's ``width``; raises
    :class:`DxError` naming the first row whose extra values are not all empty, since
    which field they belong to is not known. Rows are numbered as validation numbers them
    (1 = the first case under the header; blank lines are skipped, as pandas skips them).
    """
    rows = _rows(text, separator)
    next(rows, None)  # the header
    longer = False
    for number, row in enumerate(rows, start=1):
        if len(row) <= width:
            continue
        longer = True
        if any(cell.strip() for cell in row[width:]):
            raise DxError(f"{name}: row {number} has {len(row)} values, but the header "
                          f"names {width} columns. Check the file's separators.")
    return longer


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not a JSON number")


def _read_json(text: str, name: str) -> pd.DataFrame:
    try:
        # NaN and Infinity are not JSON (Python's reader accepts them): a case must not
        # reach validation holding them, where NaN would read as "missing".
        content = json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as error:
        raise DxError(f"{name} is not valid JSON ({error.msg}, line {error.lineno}).") from None
    except RecursionError:  # nested thousands deep: no case file looks like that
        raise DxError(f"{name} is nested too deeply to be a file of cases.") from None
    except ValueError:  # NaN or Infinity, or an integer of thousands of digits
        raise DxError(f"{name} holds a value JSON does not allow as a number "
                      "(not-a-number, infinity, or thousands of digits). Write a missing "
                      "value as null.") from None
    cases = [content] if isinstance(content, dict) else content
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        raise DxError(f"{name}: expected one JSON object (a case) or a list of objects.")
    if len(cases) > MAX_CASES:  # before the table is built
        raise DxError(f"{name} holds {len(cases):,} cases; at most {MAX_CASES:,} can be "
                      "analysed at once. Split the file.")
    # dtype=object keeps JSON's own types (a string "63" stays a string) for validation
    return pd.DataFrame.from_records(cases).astype(object)
