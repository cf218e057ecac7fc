"""The formats of case tables, each with the one sniffer the drop zone and the reader ask
(:mod:`dxcore.formats`): a CSV or JSON table (text of values separated by commas,
semicolons or tabs, or a JSON object or list), and an Excel workbook (recognised by its
bytes, :func:`dxcore.workbook.workbook_format`; an old .xls or an encrypted workbook too,
which the reader refuses saying what to do).

Either is routed by its columns: to the case-record model whose fields they cover best
(:func:`dxcore.records.match_model`), with a row per case; a table whose columns match no
model declines, as a table a mapping of its columns could route (the Case records page
offers one).

Example:
    >>> looks_like_cases("x", b"age,sex\\n63,1\\n"), looks_like_cases("x", b'[{"age": 63}]')
    (True, True)
    >>> looks_like_cases("x", b"just a sentence"), looks_like_workbook("x", b"age,sex\\n")
    (False, False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dxcore.formats import (
    SIGNATURE,
    TABLE,
    Declined,
    FileFormat,
    Routed,
    looks_like_table,
    table_shape,
    text_head,
)
from dxcore.workbook import workbook_format

if TYPE_CHECKING:
    from dxcore.cards import ModelCard

# A decline's reason (``DxError.facts``) when a table was read but matches no model.
UNMATCHED = "columns_unmatched"


def looks_like_cases(name: str, data: bytes) -> bool:
    """The sniffer of a CSV or JSON table."""
    text = text_head(data)
    return text is not None and looks_like_table(text)


def looks_like_workbook(name: str, data: bytes) -> bool:
    """The sniffer of an Excel workbook: an .xlsx package, or an old binary Office file
    (.xls, or a password-protected workbook)."""
    return workbook_format(data) in ("xlsx", "ole2")


def by_columns(name: str, data: bytes, cards: list[ModelCard]) -> Routed:
    """The model among ``cards`` whose fields the table's columns cover best, with the
    table's rows; :class:`Declined` when none does (an unreadable workbook raises its
    own DxError)."""
    from dxcore.records import match_model
    from dxcore.records.reader import read_cases

    workbook = workbook_format(data) is not None
    if workbook:  # read as the model will read it, so that what routes it is what it reads
        table = read_cases(data, name=name)
        columns, rows = list(table.columns), len(table)
    else:
        columns, rows = table_shape(data)
    model_id = match_model(columns, cards) if columns else None
    if model_id is not None:
        return Routed((model_id,), rows)
    record_models = ", ".join(card.id for card in cards) or "none"
    raise Declined(
        f"The columns of {name} match no case-record model on this dashboard "
        f"({record_models})",
        "Check its header row against the fields on the model's card, or map its columns "
        "to a model's fields on the Case records page.", mappable=True, reason=UNMATCHED)


CASE_TABLE = FileFormat("CSV or JSON table", looks_like_cases, ("csv", "json"), TABLE,
                        route=by_columns)
WORKBOOK = FileFormat("Excel workbook", looks_like_workbook, ("xlsx",), SIGNATURE,
                      route=by_columns)
FORMATS = (CASE_TABLE, WORKBOOK)
