"""The case-record modality's part of a PDF report (:class:`dxcore.pdf_report.Sections`):
a case per row of the table (a row the model declined is a refused case, as the pages call
it), the row's values of the model's own fields only (never the file's other columns), the
record checks' atypicality, and the fields that pushed the prediction most.

Example (needs the shipped weights)::

    from dxcore import get_model
    from dxcore.pdf_report import cases_for, worklist_report
    worklist_report(cases_for(get_model("heart-disease").load(), {"cases.csv": csv_bytes}))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dxcore.errors import DxError, OutOfDomain
from dxcore.labels import InputLabels
from dxcore.pdf_report import Case, Report, Sections
from dxcore.wording import is_refusal

if TYPE_CHECKING:
    from dxcore.contract import DxModel, Result

FIELDS_SHOWN = 40  # a gene profile's 7,129 probes: the first ones and "... more"


def _row_of(case: Case):
    return next(row for row in case.result.detail.results if row.item == case.item)


class RecordSections(Sections):
    def cases(self, model: DxModel, files: dict[str, bytes], result: Result,
              method: str | None, labels: InputLabels) -> list[Case]:
        """One case per row of the table, each row's explanation by ``method``."""
        items = [case.item for case in result.detail.results if case.item is not None]
        explained = model.explain_all(result, method, items) if method and items else {}
        return [Case(model, files, result, case.item, explained.get(case.item), row=case.row,
                     label=labels.case(case.row))
                if case.error is None else
                Case(model, files, row=case.row, label=labels.case(case.row), error=(
                    OutOfDomain if is_refusal(case.code) else DxError)(case.error))
                for case in result.detail.results]

    def input(self, pdf: Report, case: Case) -> None:
        row = _row_of(case)
        schema = case.model.schema
        symbols = case.card.gene_symbols
        shown = [name for name in schema.names if name in row.values][:FIELDS_SHOWN]
        lines = []
        for name in shown:
            field, value = schema[name], row.values[name]
            symbol = f" [{symbols[name]}]" if name in symbols else ""
            text = (field.describe(value) if value is not None else "not recorded"
                    if schema.missing_indicators else "missing (imputed)")
            lines.append(f"{field.label}{symbol}: {text}")
        more = len(schema) - len(shown)
        pdf.line_of(f"Case record, row {case.row}: the model's {len(schema):,} fields "
                    "(other columns of the file are not read nor shown).", 8)
        pdf.mono("\n".join(lines) + (f"\n... and {more:,} more fields" if more > 0 else ""))

    def domain(self, case: Case) -> str:
        row = _row_of(case)
        flag = "atypical for the training cohort" if row.atypical else "typical enough"
        return (f"Accepted by the record checks; atypicality {row.atypicality:.0f}th "
                f"percentile of the training cohort ({flag}).")


SECTIONS = RecordSections()
