"""Excel workbooks built in the tests, in memory (never committed files): a table written as a
spreadsheet program writes it (numbers as numbers, text as text), and a package with one of
its parts rewritten, for the hostile ones."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable

import openpyxl
import pandas as pd


def cell(text: object) -> object:
    """A CSV cell as a spreadsheet holds it: a number where it reads as one (``"63.0"`` is
    63.0), else the text; empty stays empty."""
    if text is None or (isinstance(text, float) and text != text) or text == "":
        return None
    try:
        return float(str(text))
    except ValueError:
        return str(text)


def workbook_of(table: pd.DataFrame | Iterable[Iterable[object]], title: str = "Cases",
                before: Iterable[str] = (), after: Iterable[str] = (),
                as_typed: bool = False) -> bytes:
    """A workbook whose sheet ``title`` holds the table (a DataFrame: its header, then its
    rows; or rows as given), with empty sheets ``before`` it and ``after`` it. Cells are
    numbers where they read as one, unless ``as_typed``."""
    rows = ([list(table.columns), *table.itertuples(index=False)]
            if isinstance(table, pd.DataFrame) else table)
    book = openpyxl.Workbook()
    book.active.title = title
    for name in before:
        book.create_sheet(name, 0)
    for name in after:
        book.create_sheet(name)
    sheet = book[title]
    for number, row in enumerate(rows):
        sheet.append(list(row) if as_typed or number == 0 else [cell(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewritten(data: bytes, part: str | None = None,
              change: Callable[[bytes], bytes] = lambda content: content,
              added: dict[str, bytes] | None = None) -> bytes:
    """The package ``data`` with ``part`` changed by ``change`` and the parts ``added``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info)
            archive.writestr(info.filename, change(content) if info.filename == part
                             else content)
        for name, content in (added or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def lying_dimension(xml: bytes) -> bytes:
    """A sheet that states it spans every cell Excel allows (A1:XFD1048576)."""
    stated, count = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>',
                            xml)
    assert count == 1, "the sheet states no dimension to change"
    return stated
