"""Case records: clinical findings or gene-expression profiles, one case per row.

A page or a script needs a few calls::

    from dxcore import get_model
    from dxcore.records import explain_case, predict_cases, read_cases

    model = get_model("heart-disease")
    batch = predict_cases(model, read_cases(uploaded_bytes, name="cases.csv"))
    batch.notes, batch.table()                    # table-level notices; one line per case
    case = batch.results[0]                       # .probabilities, .prediction, .atypicality
    explanation = explain_case(model, case)       # .sentences(), .top(20), .most_unusual()

The form for one case comes from ``model.schema`` (each field's label, unit, type, range or
categories, and whether it may be missing); its answers go through the same checks as a
file: ``predict_cases(model, pandas.DataFrame([answers]))``. :func:`match_model` picks the
model whose fields an uploaded table covers best.

Example:
    >>> table = read_cases(b"age,sex\\n430,1\\n", name="cases.csv")
    >>> from dxcore.records.schema import Schema
    >>> schema = Schema.from_json({"fields": [{"name": "age", "label": "Age", "unit": "years",
    ...     "type": "numeric", "range": [0, 120]}]})
    >>> from dxcore.records.validation import validate
    >>> validate(table, schema).errors[1]
    'Row 1, Age (years): 430 is outside the plausible range 0 to 120 years.'
"""

from __future__ import annotations

from dxcore.records.cases import CaseBatch, CaseResult, predict_cases
from dxcore.records.explain import CaseExplanation, FieldExplanation, explain_case
from dxcore.records.readers import read_cases
from dxcore.records.schema import Field, Schema
from dxcore.records.validation import Validation, validate

__all__ = ["CaseBatch", "CaseExplanation", "CaseResult", "Field", "FieldExplanation",
           "Schema", "Validation", "explain_case", "match_model", "predict_cases",
           "read_cases", "validate"]


def match_model(columns: list[str], cards: list | None = None) -> str | None:
    """The id of the record model whose fields ``columns`` cover best (at least half of
    them), or None."""
    from dxcore.registry import list_cards

    best, best_share = None, 0.5
    for card in cards if cards is not None else list_cards():
        if card["modality"] != "record":
            continue
        share = Schema.from_json(card["input"]).coverage(list(columns))
        if share >= best_share:
            best, best_share = card.id, share
    return best
