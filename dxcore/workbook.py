"""Excel workbooks (.xlsx), as clinics export their case tables: recognised by content and
read in memory into the same table of text cells a CSV of the same rows gives.

What a file is comes from its bytes (:func:`workbook_format`): an Office Open XML package (a
ZIP holding ``[Content_Types].xml``) with an ``xl/`` folder is a workbook, which the drop zone
must read as a table and never expand as a ZIP; an OLE2 compound file is an old ``.xls``
workbook or a password-protected (encrypted) one, both refused with what to do instead.

:func:`read_workbook` reads one sheet with openpyxl, which parses XML through defusedxml
(no entity expansion) and, with ``data_only``, gives each formula's result as the workbook
last saved it: nothing in the file is ever calculated or run. Its own loop replaces
``pandas.read_excel`` so that every bound holds while reading: the package's parts and their
size are checked on the ZIP's directory before anything is decompressed (a "zip bomb" is
refused unread), and rows and columns are counted as they stream, whatever the sheet's
stated dimension says. Cells become text as a CSV export writes them (``63``, ``2.3``), so
that validation sees what it sees in a CSV. A text cell is kept as typed: ``"2,3"`` may be a
decimal comma or ``"150,000"`` a thousands separator, and only validation's "must be a
number" is safe to say about either.

Example:
    >>> import io, openpyxl
    >>> book = openpyxl.Workbook()
    >>> book.active.append(["age", "chol"]); book.active.append([63, 2.5])
    >>> buffer = io.BytesIO(); book.save(buffer)
    >>> workbook_format(buffer.getvalue())
    'xlsx'
    >>> read_workbook(buffer.getvalue(), "cases.xlsx", max_cases=10).table.to_dict("records")
    [{'age': '63', 'chol': '2.5'}]
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dxcore.errors import DxError

if TYPE_CHECKING:  # the drop zone recognises a workbook without loading pandas (or numpy)
    import pandas as pd

ZIP_SIGNATURE = b"PK\x03\x04"
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and encrypted .xlsx
CONTENT_TYPES = "[Content_Types].xml"
# Bounds checked on the ZIP's directory before any part is decompressed: a workbook of one
# sheet of cases has a dozen parts, and its XML is 5 to 10 times the CSV of the same rows
# (the reader's 30 MB limit on a CSV).
MAX_PARTS = 1_000
MAX_XML_BYTES = 300 * 2 ** 20
MAX_SHEETS = 100
# A gene profile has 7,129 probes a case; no case table is wider than this.
MAX_COLUMNS = 10_000
# The stream of a sheet counts its cells as it reads them: 20,000 cases of 500 fields.
MAX_CELLS = 10_000_000
SAVE_AS = "Save it as an Excel Workbook (.xlsx) or as CSV and drop that file."
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
# A ZIP local file header (30 bytes, the name last) of a workbook's part.
_WORKBOOK_PART = re.compile(rb"PK\x03\x04[\s\S]{26}xl/")

Format = Literal["xlsx", "ole2", "office"]


@dataclass
class Sheet:
    """The sheet read: its cells as text (``""`` where empty), its title, and notes about
    how it was read (which sheet, when the workbook has several)."""

    table: pd.DataFrame
    title: str
    notes: list[str] = field(default_factory=list)


def workbook_format(data: bytes) -> Format | None:
    """What kind of Office file ``data`` is, from its bytes: ``"xlsx"`` (a workbook
    package, readable or damaged), ``"ole2"`` (an old binary Office file: ``.xls``, or any
    password-protected Office file), ``"office"`` (a Word or PowerPoint package), or None
    (no Office file: a plain ZIP, anything else)."""
    if data.startswith(OLE2_SIGNATURE):
        return "ole2"
    if not data.startswith(ZIP_SIGNATURE):
        return None
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        # A damaged or cut package has no readable directory, but the local header of each
        # part it still holds names the part.
        return "xlsx" if _WORKBOOK_PART.search(data) else None
    if CONTENT_TYPES not in names:
        return None
    return "xlsx" if any(name.startswith("xl/") for name in names) else "office"


def read_workbook(data: bytes, name: str, max_cases: int) -> Sheet:
    """The cases of workbook ``data`` (called ``name`` in messages): the first sheet that
    holds any value, its first non-empty row the header, at most ``max_cases`` rows under
    it. Raises one :class:`DxError` for what cannot be read safely or at all (damaged,
    encrypted, old .xls, macros, over the bounds, a value outside the header's columns, a
    formula with no saved result)."""
    kind = workbook_format(data)
    if kind == "ole2":
        raise DxError(_ole2_message(data, name))
    if kind != "xlsx":
        raise DxError(f"{name} is not an Excel workbook (.xlsx). {SAVE_AS}")
    archive = _checked_archive(data, name)
    workbook = _open(data, name, data_only=True)
    try:
        sheets = workbook.worksheets
        if len(sheets) > MAX_SHEETS:
            raise DxError(f"{name} holds {len(sheets):,} sheets; at most {MAX_SHEETS} can be "
                          "opened. Save the sheet of cases on its own (as CSV, or as a "
                          "workbook of that one sheet).")
        for sheet in sheets:
            rows = _rows(sheet, name, max_cases)
            if rows:
                break
        else:
            raise DxError(f"{name} holds no cases: every sheet is empty.")
        if _has_formulas(archive):
            _check_formula_results(data, name, sheet.title, rows, max_cases)
        table = _table(list(rows.values()), name, sheet.title)
    finally:
        workbook.close()
    notes = []
    if len(sheets) > 1:
        notes.append(f"Read the sheet '{sheet.title}' of {name}, the first of its "
                     f"{len(sheets)} sheets that holds data; the other sheets were not read.")
    return Sheet(table, sheet.title, notes)


def _ole2_message(data: bytes, name: str) -> str:
    if "EncryptedPackage".encode("utf-16-le") in data:
        return (f"{name} is protected by a password (encrypted), so it cannot be read. Save "
                "a copy without the password (in Excel: File > Info > Protect Workbook > "
                "Encrypt with Password, cleared), or as CSV, and drop that file.")
    if any(stream.encode("utf-16-le") in data for stream in ("Workbook", "Book")):
        return f"{name} is an Excel 97-2003 workbook (.xls), which is not read here. {SAVE_AS}"
    return f"{name} is an old Microsoft Office file, not a table of cases. {SAVE_AS}"


def _checked_archive(data: bytes, name: str) -> zipfile.ZipFile:
    """The package, once its directory is within the bounds and it holds no macros."""
    damaged = DxError(f"{name} cannot be opened as an Excel workbook: it is damaged or "
                      f"incomplete. Open it in a spreadsheet program and save it again, or "
                      f"save it as CSV.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise damaged from None
    if len(parts) > MAX_PARTS:
        raise DxError(f"{name} holds {len(parts):,} parts; a workbook of cases holds far "
                      f"fewer (at most {MAX_PARTS:,} are opened). {SAVE_AS}")
    expanded = sum(part.file_size for part in parts)
    if expanded > MAX_XML_BYTES:
        raise DxError(f"{name} expands to {expanded / 2 ** 20:,.0f} MB; at most "
                      f"{MAX_XML_BYTES // 2 ** 20} MB of workbook can be opened. Split the "
                      "cases into smaller files.")
    names = {part.filename for part in parts}
    if "xl/vbaProject.bin" in names or _content_types(archive, damaged).find(
            b"macroEnabled") >= 0:
        raise DxError(f"{name} is a macro-enabled workbook (.xlsm); such files are never "
                      f"opened here, so that nothing in them can run. {SAVE_AS}")
    if "xl/workbook.bin" in names:
        raise DxError(f"{name} is an Excel binary workbook (.xlsb), which is not read here. "
                      f"{SAVE_AS}")
    return archive


def _content_types(archive: zipfile.ZipFile, damaged: DxError) -> bytes:
    try:
        return archive.read(CONTENT_TYPES)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError):
        raise damaged from None


def _open(data: bytes, name: str, data_only: bool) -> Any:
    """The workbook, read-only (streamed) and without external links or macros."""
    import openpyxl
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:  # openpyxl would parse XML entities: a crafted file could exhaust memory
        raise DxError("Excel workbooks cannot be opened safely on this server (the "
                      "defusedxml package is missing or turned off). Save the file as CSV, "
                      "or tell whoever runs the dashboard.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style" and the like: not the user's
            return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only,
                                          keep_vba=False, keep_links=False)
    except DxError:
        raise
    except Exception:  # a damaged package fails anywhere in openpyxl, with any error
        raise DxError(f"{name} cannot be opened as an Excel workbook: it is damaged, or "
                      f"holds something other than a workbook. {SAVE_AS}") from None


def _rows(sheet: Any, name: str, max_cases: int) -> dict[int, tuple[Any, ...]]:
    """The sheet's rows that hold any value, by their number in the sheet (trailing empty
    cells dropped), counted against the bounds as they stream: the stated dimension is
    ignored, since a file can state any."""
    sheet.reset_dimensions()
    rows: dict[int, tuple[Any, ...]] = {}
    cells = 0
    try:
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            width = len(row)
            while width and _empty(row[width - 1]):
                width -= 1
            if not width:
                continue
            if width > MAX_COLUMNS:
                raise DxError(f"{name}: the sheet '{sheet.title}' has values in column "
                              f"{width:,}; at most {MAX_COLUMNS:,} columns are read.")
            rows[number] = row[:width]
            cells += width
            if len(rows) > max_cases + 1 or cells > MAX_CELLS:  # + 1: the header
                raise DxError(f"{name}: the sheet '{sheet.title}' holds more than "
                              f"{max_cases:,} cases or {MAX_CELLS:,} values; at most that "
                              "many can be analysed at once. Split the file.")
    except DxError:
        raise
    except Exception:
        raise DxError(f"{name}: the sheet '{sheet.title}' cannot be read (the workbook is "
                      f"damaged). {SAVE_AS}") from None
    return rows


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _has_formulas(archive: zipfile.ZipFile) -> bool:
    """Whether any worksheet holds a formula (its parts are within the bounds already)."""
    return any(_FORMULA.search(archive.read(part))
               for part in archive.namelist()
               if part.startswith("xl/worksheets/") and part.endswith(".xml"))


def _check_formula_results(data: bytes, name: str, title: str,
                           rows: dict[int, tuple[Any, ...]], max_cases: int) -> None:
    """Refuse a formula whose result was never saved (a file written by a program that
    does not calculate): read as empty, it would silently become a missing value."""
    from openpyxl.utils import get_column_letter

    workbook = _open(data, name, data_only=False)
    try:
        formulas = _rows(workbook[title], name, max_cases)
    finally:
        workbook.close()
    for number, row in formulas.items():
        values = rows.get(number, ())
        for column, cell in enumerate(row, start=1):
            if (isinstance(cell, str) and cell.startswith("=")
                    and (column > len(values) or values[column - 1] is None)):
                raise DxError(f"{name}: cell {get_column_letter(column)}{number} of the sheet "
                              f"'{title}' holds a formula whose result was never saved. Open "
                              "the file in a spreadsheet program, save it, and drop it again "
                              "(or save it as CSV).")


def _text(value: Any) -> str:
    """A cell as a CSV export writes it: ``63``, ``2.3``, ``TRUE``, a date in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    return str(value)


def _table(rows: list[tuple[Any, ...]], name: str, title: str) -> pd.DataFrame:
    """The header row and the cases under it as text, every row as wide as the header; a
    value outside the header's columns is refused (which field it belongs to is not known),
    as the CSV reader refuses it, rows numbered as validation numbers them."""
    import pandas as pd

    header = [_text(cell) for cell in rows[0]]
    width = len(header)
    named = [column for column, cell in enumerate(header) if cell]
    for number, row in enumerate(rows[1:], start=1):
        if len(row) > width:
            raise DxError(f"{name}: row {number} has values beyond the {width} columns the "
                          f"header names (sheet '{title}'). Give every column a name in the "
                          "header row, or remove the stray values.")
        unnamed = [column for column in range(len(row))
                   if not header[column] and not _empty(row[column])]
        if unnamed:
            raise DxError(f"{name}: row {number} has a value in a column with no name in the "
                          f"header row (sheet '{title}'). Name the column, or remove it.")
    names = [header[column] for column in named]
    repeated = sorted({cell for cell in names if names.count(cell) > 1})
    if repeated:
        raise DxError(f"{name}: the column {repeated[0]} appears more than once in the "
                      "header. Keep one column per field.")
    cases = [[_text(row[column]) if column < len(row) else "" for column in named]
             for row in rows[1:]]
    if not cases:
        raise DxError(f"{name} holds no cases: expected a header row and at least one row "
                      f"(sheet '{title}').")
    return pd.DataFrame(cases, columns=names, dtype=object)
