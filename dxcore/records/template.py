"""The case-file template of a case-record model (:mod:`dxcore.templates`): its schema's
fields as the columns of a case file, each with what a clinic needs to fill it in.

Example:
    >>> allowed_values(Field("sex", "Sex", "categorical", categories={"0": "female", "1": "male"}))
    '0 = female; 1 = male'
    >>> allowed_values(Field("age", "Age", "numeric", unit="years", range=(0, 120)))
    '0 to 120'
    >>> allowed_values(Field("x", "X", "numeric"))
    'any number'
"""

from __future__ import annotations

from dxcore.cards import ModelCard
from dxcore.records.schema import Field, Schema
from dxcore.templates import TemplateColumn


def allowed_values(field: Field) -> str:
    """E.g. ``"0 = female; 1 = male"`` or ``"0 to 120"``."""
    if field.type == "categorical":
        return "; ".join(f"{code} = {label}" if label != code else code
                         for code, label in field.categories.items())
    if field.range is None:
        return "any number"
    low, high = field.range
    return f"{low:g} to {high:g}"


def template_columns(card: ModelCard) -> list[TemplateColumn]:
    """The columns of the model's case file, in the order of its card's schema."""
    symbols = card.gene_symbols
    return [TemplateColumn(field.name, field.label, field.unit, field.type,
                           allowed_values(field), field.missing_allowed,
                           symbols.get(field.name, ""), field.description)
            for field in Schema.from_json(card.input_spec).fields]
