"""Case records: clinical findings or gene-expression profiles, one case per row.

Modules, as in every modality package: ``formats`` (CSV, JSON and Excel tables, and their
sniffers), ``reader`` (CSV, JSON or Excel -> a table; ``mapping``: a clinic's columns
renamed to a model's fields), ``preprocessing`` (imputation and encoding; ``schema`` and
``validation`` check each cell), ``network`` (the supervised autoencoder), ``model``
(:class:`RecordModel`, the contract), ``explainers`` (integrated gradients per field),
``report`` (its PDF sections), ``template`` (each model's case-file template),
``commands`` (``python -m dxcore federate``), ``training`` (shared by the recipes in
``recipes/``) and ``evaluation``.

A page or a script needs a few calls::

    from dxcore import get_model

    model = get_model("heart-disease")
    result = model.predict({"cases.csv": uploaded_bytes})   # or a path, or a DataFrame
    batch = result.detail                          # .notes, .table(), .results (one per row)
    case = batch.results[0]                        # .probabilities, .prediction, .atypicality
    explanation = model.explain(result, "ig", item=case.item).detail
    explanation.sentences(), explanation.top(20), explanation.most_unusual()

The form for one case comes from ``model.schema`` (each field's label, unit, type, range or
categories, and whether it may be missing); its answers go through the same checks as a
file: ``model.predict(pandas.DataFrame([answers]))``. :func:`match_model` picks the model
whose fields an uploaded table covers best.

Example:
    >>> table = read_cases(b"age,sex\\n430,1\\n40,0\\n", name="cases.csv")
    >>> from dxcore.records.schema import Schema
    >>> schema = Schema.from_json({"fields": [{"name": "age", "label": "Age", "unit": "years",
    ...     "type": "numeric", "range": [0, 120]}]})
    >>> from dxcore.records.validation import validate
    >>> validate(table, schema).errors[1]
    'Row 1, Age (years): 430 is outside the plausible range 0 to 120 years.'
"""

# The explainers register the method; expression registers the gene-expression model's own
# layer (ArrayStandardization) with Keras, so that its saved network loads (without it the
# shipped leukemia-golub model loaded only in a process that had imported its recipe).
from dxcore.records import explainers as _explainers  # noqa: F401
from dxcore.records import expression as _expression  # noqa: F401
from dxcore.records.explainers import CaseExplanation, FieldExplanation
from dxcore.records.formats import FORMATS
from dxcore.records.model import CaseBatch, CaseResult, RecordModel
from dxcore.records.reader import read_cases
from dxcore.records.schema import Field, Schema
from dxcore.records.template import template_columns
from dxcore.records.validation import Validation, validate
from dxcore.registry import Modality, register_modality

__all__ = ["CaseBatch", "CaseExplanation", "CaseResult", "Field", "FieldExplanation",
           "RecordModel", "Schema", "Validation", "match_model", "read_cases", "validate"]

register_modality(Modality("record", RecordModel, {
    "heart-disease": "dxcore.records.recipes.heart_disease",
    "ckd": "dxcore.records.recipes.ckd",
    "leukemia-golub": "dxcore.records.recipes.leukemia_golub",
}, label="Record", formats=FORMATS, input_label="Case records",
    input_text="a case table (CSV, JSON or Excel .xlsx)", report="dxcore.records.report",
    datasets=("dxcore.datasets.heart_disease", "dxcore.datasets.ckd", "dxcore.datasets.golub"),
    commands="dxcore.records.commands", case_file=template_columns, views="dxui.records"))


def match_model(columns: list[str], cards: list | None = None) -> str | None:
    """The id of the record model whose fields ``columns`` cover best (at least half of
    them), or None."""
    from dxcore.registry import list_cards

    best, best_share = None, 0.5
    for card in cards if cards is not None else list_cards():
        if card["modality"] != "record":
            continue
        share = Schema.from_json(card.input_spec).coverage(list(columns))
        if share >= best_share:
            best, best_share = card.id, share
    return best
