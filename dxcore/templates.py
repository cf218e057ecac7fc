"""Input guidance for models that read tables of cases: which columns a case file needs,
from the card.

Two CSV files per such model: :func:`field_guide_csv`, one row per column (its name, what
it is, its unit, its type, the values allowed, whether it may be left empty, and for a gene
profile the probe's gene symbol), and :func:`blank_cases_csv`, the header row of a case file
to fill in (one case per row below it). The columns come from the model's modality
(``case_file`` of :class:`dxcore.registry.Modality`); a model of a modality without them has
no template.

Example (needs the shipped card)::

    from dxcore import get_card
    print(field_guide_csv(get_card("heart-disease")))
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from dxcore.cards import ModelCard
from dxcore.errors import DxError

GUIDE_COLUMNS = ["column", "label", "unit", "type", "allowed values", "may be empty",
                 "gene symbol", "description"]


@dataclass(frozen=True)
class TemplateColumn:
    """One column of a case file, as the field guide describes it."""

    name: str
    label: str
    unit: str
    type: str
    allowed: str
    may_be_empty: bool
    gene_symbol: str = ""
    description: str = ""

    def row(self) -> list[str]:
        return [self.name, self.label, self.unit, self.type, self.allowed,
                "yes" if self.may_be_empty else "no", self.gene_symbol, self.description]


def columns_of(card: ModelCard) -> list[TemplateColumn]:
    """The columns the model reads, in the order of the card; a clear DxError for a model
    that reads no table."""
    from dxcore.registry import modality

    columns = modality(card["modality"]).case_file
    if columns is None:
        raise DxError(f"The model '{card.id}' reads {card['modality']} input, not case "
                      "records: it has no case-file template.")
    return columns(card)


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def field_guide_csv(card: ModelCard) -> str:
    """One row per column the model reads, in the order of the card."""
    return _csv([GUIDE_COLUMNS, *(column.row() for column in columns_of(card))])


def blank_cases_csv(card: ModelCard) -> str:
    """The header row of a case file for the model (fill in one case per row)."""
    return _csv([[column.name for column in columns_of(card)]])
