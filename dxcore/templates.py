"""Input guidance for record models: which columns a case file needs, from the card.

Two CSV files per record model: :func:`field_guide_csv`, one row per column (its name, what
it is, its unit, its type, the values allowed, whether it may be left empty, and for a gene
profile the probe's gene symbol), and :func:`blank_cases_csv`, the header row of a case file
to fill in (one case per row below it).

Example (needs the shipped card)::

    from dxcore import get_card
    print(field_guide_csv(get_card("heart-disease")))
"""

from __future__ import annotations

import csv
import io

from dxcore.cards import ModelCard
from dxcore.errors import DxError
from dxcore.records.schema import Field, Schema

GUIDE_COLUMNS = ["column", "label", "unit", "type", "allowed values", "may be empty",
                 "gene symbol", "description"]


def schema_of(card: ModelCard) -> Schema:
    """The record model's input schema; a clear DxError for a model that reads no table."""
    if card["modality"] != "record":
        raise DxError(f"The model '{card.id}' reads {card['modality']} input, not case "
                      "records: it has no case-file template.")
    return Schema.from_json(card.input_spec)


def allowed_values(field: Field) -> str:
    """E.g. ``"0 = female; 1 = male"`` or ``"0 to 120"``.

    >>> allowed_values(Field("sex", "Sex", "categorical", categories={"0": "female", "1": "male"}))
    '0 = female; 1 = male'
    >>> allowed_values(Field("age", "Age", "numeric", unit="years", range=(0, 120)))
    '0 to 120'
    >>> allowed_values(Field("x", "X", "numeric"))
    'any number'
    """
    if field.type == "categorical":
        return "; ".join(f"{code} = {label}" if label != code else code
                         for code, label in field.categories.items())
    if field.range is None:
        return "any number"
    low, high = field.range
    return f"{low:g} to {high:g}"


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def field_guide_csv(card: ModelCard) -> str:
    """One row per column the model reads, in the order of the card."""
    symbols = card.gene_symbols
    rows = [GUIDE_COLUMNS]
    for field in schema_of(card).fields:
        rows.append([field.name, field.label, field.unit, field.type, allowed_values(field),
                     "yes" if field.missing_allowed else "no", symbols.get(field.name, ""),
                     field.description])
    return _csv(rows)


def blank_cases_csv(card: ModelCard) -> str:
    """The header row of a case file for the model (fill in one case per row)."""
    return _csv([schema_of(card).names])
