"""Case-record page helpers: the record models in the registry, uploaded tables (or form
answers) read and predicted in memory (cached by content hash), the model matched from a
table's columns, the form generated from a model's schema, and the results as tables and
an Altair chart of per-field attributions.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dxcore import DxError, list_cards
from dxcore.cards import ModelCard
from dxcore.records import (
    CaseBatch,
    CaseExplanation,
    CaseResult,
    Field,
    FieldExplanation,
    Schema,
    explain_case,
    match_model,
    predict_cases,
    read_cases,
)
from dxcore.records.atypicality import ATYPICAL_FROM
from dxui.common import load_model, threshold_sentence

# As on the other pages: results stay in Streamlit's in-memory cache (never on disk) for a
# few minutes, so that picking another case in the table recomputes nothing.
CACHE_SECONDS = 600
UPLOAD_TYPES = ["csv", "json"]
UPLOAD, FORM = "Upload a CSV or JSON file", "Fill in a form"
MATCH = "match"  # the model picker's "match it from the file's columns" option
FORM_FIELDS_MAX = 60  # wider schemas (gene profiles) are uploaded, not typed in
TOP_PROBES = 20
ERRORS_SHOWN = 20  # rows listed by message; the table's Error column has every one
CHART_ROW_PX = 24
NO_MODELS = (
    "No case-record model is installed on this dashboard yet. Whoever runs the dashboard "
    "can add one with `python -m dxcore train heart-disease` (or `ckd`)."
)


@dataclass(frozen=True)
class Cases:
    """The bytes of an uploaded table (or of the form's answers as JSON), its file name and
    its content hash."""

    data: bytes
    name: str
    key: str

    @classmethod
    def of(cls, data: bytes, name: str) -> Cases:
        return cls(data, name, hashlib.sha256(name.encode() + b"\0" + data).hexdigest())

    @classmethod
    def from_answers(cls, answers: dict[str, Any]) -> Cases:
        """The form's answers (None where left empty) as one JSON case, so that they go
        through the same reading and checks as an upload."""
        return cls.of(json.dumps(answers).encode(), "form.json")


def record_cards() -> dict[str, ModelCard]:
    """The registry's record models (modality ``record``) by id."""
    return {card.id: card for card in list_cards() if card["modality"] == "record"}


@st.cache_data(max_entries=32, ttl=CACHE_SECONDS, show_spinner=False)
def _read(key: str, name: str, _data: bytes) -> pd.DataFrame:
    return read_cases(_data, name=name)


@st.cache_data(max_entries=32, ttl=CACHE_SECONDS, show_spinner="Running the model…")
def _predict(model_id: str, key: str, name: str, _data: bytes) -> CaseBatch:
    return predict_cases(load_model(model_id), _read(key, name, _data))


@st.cache_data(max_entries=64, ttl=CACHE_SECONDS, show_spinner="Explaining the case…")
def _explain(model_id: str, key: str, name: str, row: int, _data: bytes) -> CaseExplanation:
    batch = _predict(model_id, key, name, _data)
    return explain_case(load_model(model_id), batch.results[row - 1])


def matched_model(cases: Cases, cards: dict[str, ModelCard]) -> str:
    """The id of the record model whose fields the table's columns cover best; raises
    :class:`DxError` when none covers at least half of its fields."""
    columns = list(_read(cases.key, cases.name, cases.data).columns)
    model_id = match_model(columns, list(cards.values()))
    if model_id is None:
        raise DxError(f"The columns of {cases.name} match no case-record model on this "
                      f"dashboard ({', '.join(cards)}). Choose the model above, or check the "
                      "file's header row.")
    return model_id


def predict(model_id: str, cases: Cases) -> CaseBatch:
    """Every case of the table checked and predicted; raises :class:`DxError` when the
    file itself cannot be read."""
    return _predict(model_id, cases.key, cases.name, cases.data)


def explain(model_id: str, cases: Cases, row: int) -> CaseExplanation:
    """Per-field attributions and deviations of case ``row`` (1 = the first case)."""
    return _explain(model_id, cases.key, cases.name, row, cases.data)


# --- The form -----------------------------------------------------------------------------


def form_fits(schema: Schema) -> bool:
    """Whether the schema is small enough to type in (a gene profile is not)."""
    return len(schema) <= FORM_FIELDS_MAX


def number_step(field: Field) -> float:
    """A step a hundredth of the range's order of magnitude: 0.1 for an age, 0.0001 for a
    specific gravity of 1.000-1.040.

    >>> number_step(Field("age", "Age", "numeric", range=(18, 110)))
    0.1
    """
    low, high = field.range or (0.0, 100.0)
    return 10.0 ** (math.floor(math.log10(max(high - low, 1e-9))) - 2)


def field_input(field: Field, key: str) -> Any:
    """One form widget for ``field``: a number within the plausible range, or a category;
    left empty it is missing (imputed where the model allows that)."""
    empty = "missing" if field.missing_allowed else "required"
    detail = [field.description.capitalize()] if field.description else []
    if field.type == "categorical":
        codes = list(field.categories)
        return st.selectbox(field.title, codes, index=None, key=key, placeholder=empty,
                            format_func=lambda code: field.categories[code],
                            help=" ".join(detail) or None)
    step = number_step(field)
    # Streamlit wants the bounds, the step and the value all of one type: floats here.
    low, high = (float(bound) for bound in field.range) if field.range else (None, None)
    detail.append(f"Plausible range: {field.allowed()}.")
    return st.number_input(field.title, min_value=low, max_value=high, value=None,
                           step=step, format=f"%.{max(0, -round(math.log10(step)))}f",
                           key=key, placeholder=empty, help=" ".join(detail))


# --- Text, tables and charts --------------------------------------------------------------


def model_label(cards: dict[str, ModelCard], choice: str) -> str:
    if choice == MATCH:
        return "Match it from the file's columns"
    return f"{cards[choice]['name']} ({choice})"


def decision_sentence(card: ModelCard, case: CaseResult) -> str:
    """E.g. "The model reads this case as **heart disease**: P(heart disease) = 0.81, at
    or above the decision threshold 0.45." (:func:`dxui.common.threshold_sentence`)."""
    return threshold_sentence("case", case.prediction, case.probabilities,
                              card.positive_class, card.threshold)


def atypicality_sentence(case: CaseResult) -> str:
    """The atypicality score in plain words.

    >>> atypicality_sentence(CaseResult(1, {}, atypicality=97.5)).startswith("**Unlike")
    True
    """
    score = case.atypicality
    where = (f"its reconstruction error is at percentile {score:.0f} of the training "
             f"patients' (flagged from percentile {ATYPICAL_FROM:.0f})")
    if case.atypical:
        return (f"**Unlike the training cohort.** The autoencoder reproduces this case "
                f"poorly: {where}. The prediction is less reliable.")
    return f"**Within the training cohort's range:** {where}."


def imputed_note(schema: Schema, case: CaseResult) -> str | None:
    if not case.imputed:
        return None
    labels = ", ".join(schema[name].label for name in case.imputed)
    return f"Missing, so imputed from the training cohort (median or most frequent): {labels}."


def results_table(card: ModelCard, batch: CaseBatch) -> pd.DataFrame:
    """One row per case for the page: row, prediction, the positive class's probability,
    atypicality and the error, if any."""
    positive = card.positive_class
    return pd.DataFrame({
        "Row": [r.row for r in batch.results],
        "Prediction": [r.prediction or "—" for r in batch.results],
        f"P({positive})": [r.probabilities.get(positive) for r in batch.results],
        "Atypicality": [r.atypicality for r in batch.results],
        "Unlike the cohort": [r.atypical for r in batch.results],
        "Error": [r.error or "" for r in batch.results],
    })


def results_csv(batch: CaseBatch) -> bytes:
    """The results as CSV, one line per case (what ``predict --json`` gives, as a table)."""
    return batch.table().to_csv(index=False).encode()


def errors_markdown(batch: CaseBatch) -> str | None:
    """The rows that could not be predicted, each with its message, or None."""
    failed = [r for r in batch.results if r.error]
    if not failed:
        return None
    lines = [f"- {r.error}" for r in failed[:ERRORS_SHOWN]]
    if len(failed) > ERRORS_SHOWN:
        lines.append(f"- and {len(failed) - ERRORS_SHOWN} more: see the Error column of the "
                     "table.")
    return (f"**{len(failed)} of {len(batch.results)} cases could not be predicted:**\n"
            + "\n".join(lines))


def case_option(card: ModelCard, case: CaseResult) -> str:
    positive = card.positive_class
    return (f"Row {case.row}: {case.prediction} (P({positive}) = "
            f"{case.probabilities[positive]:.2f}, atypicality {case.atypicality:.0f})")


def top_fields(schema: Schema, explanation: CaseExplanation) -> list[FieldExplanation]:
    """Every field of a clinical record, the :data:`TOP_PROBES` strongest of a profile."""
    return explanation.top(None if form_fits(schema) else TOP_PROBES)


def attribution_chart(fields: list[FieldExplanation], positive: str) -> alt.Chart:
    """A signed bar per field (value in clinical words), largest first: right raised the
    probability of ``positive``, left lowered it."""
    frame = pd.DataFrame({
        "Field": [f"{f.label}: {f.value}" + (" (imputed)" if f.imputed else "")
                  for f in fields],
        "Attribution": [round(f.attribution, 4) for f in fields],
        "Effect": [f"raised P({positive})" if f.attribution > 0 else f"lowered P({positive})"
                   for f in fields],
    })
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("Attribution:Q", title=f"Attribution (log-odds of {positive})"),
        y=alt.Y("Field:N", title=None, sort=None,
                axis=alt.Axis(labelLimit=360, labelOverlap=False)),
        color=alt.Color("Effect:N", title=None,
                        scale=alt.Scale(domain=[f"raised P({positive})",
                                                f"lowered P({positive})"],
                                        range=["#d62728", "#1f77b4"]),
                        legend=None),  # the page's caption says red raised, blue lowered
        tooltip=["Field", "Attribution", "Effect"],
    ).properties(height=alt.Step(CHART_ROW_PX))


def unusual_table(explanation: CaseExplanation, k: int = 5) -> pd.DataFrame:
    """The values the training cohort's pattern reproduces worst, in training SDs (signed
    for numbers: above or below what the autoencoder expects)."""
    return pd.DataFrame(
        [{"Field": f.label, "Value": f.value + (" (imputed)" if f.imputed else ""),
          "Deviation (SD)": f"{f.deviation:+.2f}" if not f.categorical else f"{f.deviation:.2f}"}
         for f in explanation.most_unusual(k)],
        columns=["Field", "Value", "Deviation (SD)"])
