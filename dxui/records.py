"""Case-record page views: the record models in the registry, the input (an uploaded table,
or the form generated from a model's schema, whose answers become a one-case JSON upload),
the model matched from a table's columns (or the columns mapped to a model's fields,
:mod:`dxui.mapping`), and the results as tables, the single-case view
and an Altair chart of per-field attributions. Tables go through :mod:`dxui.results` like
every upload. The record modality's views of the shared pages (:mod:`dxui.views`): a row per
case in the worklist, the cases in the patient view, the failed cases' values on the Models
page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from dxcore import list_cards, templates
from dxcore.cards import ModelCard
from dxcore.contract import Result
from dxcore.datasets import data_dir
from dxcore.intake import Outcome
from dxcore.labels import InputLabels
from dxcore.records import (
    CaseBatch,
    CaseExplanation,
    CaseResult,
    Field,
    FieldExplanation,
    RecordModel,
    Schema,
    match_model,
)
from dxcore.records.atypicality import ATYPICAL_FROM
from dxcore.registry import recipe_for
from dxcore.wording import is_refusal, probability_is, probability_text
from dxui import mapping, results, signoff, uploads
from dxui.common import load_model, plain, show_error, show_notes
from dxui.models import failures_table, site_table
from dxui.worklist import set_doubt

UPLOAD_TYPES = ["csv", "json", "xlsx"]
# Workbooks the reader refuses with what to do instead (save as .xlsx or CSV): let through.
SAID_BY_READER = ["xls", "xlsm", "xlsb"]
UPLOAD, FORM = "Upload a CSV, Excel or JSON file", "Fill in a form"
MATCH = "match"  # the model picker's "match it from the file's columns" option
FORM_FILE = "form.json"
CALIBRATED_ON = "cross-validation of the training data"
FORM_FIELDS_MAX = 60  # wider schemas (gene profiles) are uploaded, not typed in
TOP_PROBES = 20
ERRORS_SHOWN = 20  # rows listed by message; the table's Error column has every one
CHART_ROW_PX = 24
NO_MODELS = (
    "No case-record model is installed on this dashboard yet. Whoever runs the dashboard "
    "can add one with `python -m dxcore train heart-disease` (or `ckd`)."
)


def templates_section(cards: dict[str, ModelCard]) -> None:
    """Each record model's case-file template (:mod:`dxcore.templates`), folded away: the
    field guide (columns, units, allowed values, which may be empty) and the blank header."""
    with st.expander("Case-file templates: the columns each model reads",
                     icon=":material/table_view:"):
        for card in cards.values():
            st.markdown(f"**{card['name']}** (`{card.id}`)")
            guide, blank = st.columns(2)
            guide.download_button(
                "Field guide (CSV)", templates.field_guide_csv(card),
                file_name=f"{card.id}-field-guide.csv", mime="text/csv",
                key=f"records_guide_{card.id}", on_click="ignore",
                help="One row per column: its name, label, unit, type, allowed values, "
                     "whether it may be left empty" + (", and the probe's gene symbol"
                                                       if card.gene_symbols else "") + ".")
            blank.download_button(
                "Blank case file (CSV header)", templates.blank_cases_csv(card),
                file_name=f"{card.id}-cases.csv", mime="text/csv",
                key=f"records_blank_{card.id}", on_click="ignore",
                help="The header row; fill in one case per row below it.")


def record_cards() -> dict[str, ModelCard]:
    """The registry's record models (this modality's, :class:`RecordModel`'s) by id."""
    return {card.id: card for card in list_cards() if card["modality"] == RecordModel.modality}


def site_performance(card: ModelCard) -> None:
    """The model's test AUC at each hospital its card measured it at (heart-disease:
    Cleveland, Hungary, Switzerland): a case from another centre than the training one may
    fare differently, and the page says how much."""
    table = site_table(card)
    if table is None:
        return
    st.markdown("**Performance at each hospital** (test AUC, 95% bootstrap CI; the first "
                "row is this model)")
    st.table(table, hide_index=True, border="horizontal")


def answers_upload(answers: dict[str, Any]) -> dict[str, bytes]:
    """The form's answers (None where left empty) as an upload of one JSON case, so that
    they go through the same path, reading and checks as a file."""
    return {FORM_FILE: json.dumps(answers).encode()}


# --- Views -------------------------------------------------------------------------------


def upload_input(cards: dict[str, ModelCard]) -> tuple[str | None, results.Upload | None]:
    """The model (chosen, matched from the file's columns, or given by a column mapping)
    and the uploaded table (mapped to the model's fields when the user mapped it)."""
    choice_column, upload_column = st.columns([2, 3], gap="large")
    with choice_column:
        choice = st.selectbox(
            "Model", [MATCH, *cards], key="records_model_upload",
            format_func=lambda option: model_label(cards, option),
            help="By default the page picks the model whose fields the file's columns cover.")
    with upload_column:
        uploaded = st.file_uploader(
            "Upload cases", type=None, key="records_upload",  # checked below
            help="CSV with a header row and one case per row, an Excel workbook (.xlsx, its "
                 "first sheet with data), or JSON (one object or a list of objects), columns "
                 "named as in the model card or mapped to its fields. The file is analysed "
                 "in memory and never stored.")
    model_id = None if choice == MATCH else choice
    # An old or macro-enabled workbook passes to the reader, which says what to do with it.
    if uploaded is not None and uploads.extension(uploaded.name) not in SAID_BY_READER \
            and not uploads.keep_allowed([uploaded], UPLOAD_TYPES, "a table of cases"):
        return model_id, None
    if uploaded is not None:
        st.session_state.pop(mapping.HANDOFF, None)  # a new upload replaces the drop's table
        upload = results.Upload({uploaded.name: uploaded.getvalue()})
    elif st.session_state.get(mapping.HANDOFF):
        upload = results.Upload(st.session_state[mapping.HANDOFF])
        [name] = upload.files
        st.info(f"**{plain(name)}**, from the drop on the home page. Upload a file to read "
                "another.", icon=":material/move_to_inbox:")
    else:
        st.info("Upload a CSV, Excel or JSON file of cases to see the model's reading of "
                "each.", icon=":material/upload_file:")
        return model_id, None
    try:
        # Every record model reads a table the same way (and the read is cached by modality).
        columns = list(results.read(next(iter(cards)), upload).columns)
    except Exception as error:
        show_error(error)
        return None, None
    if model_id is None:
        model_id = match_model(columns, list(cards.values()))
        if model_id is not None:
            st.info(f"Matched by the file's columns: **{cards[model_id]['name']}** "
                    f"(`{model_id}`).", icon=":material/join:")
    chosen = mapping.mapping_step(cards, upload, columns, model_id)
    if chosen is None:
        return (model_id, upload) if model_id is not None else (None, None)
    try:
        return chosen.model, mapping.mapped(upload, chosen)
    except Exception as error:
        show_error(error)
        return None, None


def form_input(cards: dict[str, ModelCard]) -> tuple[str | None, results.Upload | None]:
    """The model chosen and, once the form is submitted, its answers as an upload (the
    last submitted answers stay on show until the form is submitted again).

    No model is chosen until the user picks one: the models answer different questions
    (heart disease, kidney disease, leukaemia type), and a preselected one (the registry's
    first, CKD) had users filling in a form for a disease they were not asking about."""
    model_id = st.selectbox("Model", list(cards), index=None, key="records_model_form",
                            placeholder="Choose the model for this case",
                            format_func=lambda option: model_label(cards, option))
    if model_id is None:
        st.info("Choose a model: the form asks for the findings that model reads.",
                icon=":material/edit_note:")
        return None, None
    try:
        schema = load_model(model_id).schema
    except Exception as error:
        show_error(error)
        st.stop()
    if not form_fits(schema):
        st.info(f"This model reads {len(schema):,} values per case (a gene-expression "
                "profile): upload them as a CSV or JSON file instead.", icon=":material/info:")
        return model_id, None
    submitted_key = f"records_form_cases_{model_id}"
    with st.form(f"records_form_{model_id}"):
        columns = st.columns(3, gap="medium")
        answers = {}
        for i, field in enumerate(schema.fields):
            with columns[i % len(columns)]:
                answers[field.name] = field_input(field, key=f"records_{model_id}_{field.name}")
        if st.form_submit_button("Predict", type="primary"):
            st.session_state[submitted_key] = answers_upload(answers)
    files = st.session_state.get(submitted_key)
    if files is None:
        st.info("Fill in what is known and press Predict. " + (
            "Leave a finding empty if it was not recorded: the model answers without it, "
            "less certainly." if schema.missing_indicators else
            "Fields left empty are imputed from the training cohort."),
            icon=":material/edit_note:")
        return model_id, None
    return model_id, results.Upload(files)


def cases_section(card: ModelCard, upload: results.Upload, result: Result) -> None:
    """One case: its view; several: the table of all, the download, the rows that could
    not be predicted, and the view of the case picked."""
    batch: CaseBatch = result.detail
    show_notes(batch.notes)
    predicted = {case.row: case for case in batch.results if case.error is None}
    if len(batch.results) == 1:
        [single] = batch.results
        if single.error:
            st.error(plain(single.error), icon=":material/error:")
        else:
            one_case(card, upload, result, single, "Result")
        return
    key = upload.key
    st.subheader("All cases")
    st.caption(f"{len(predicted)} of {len(batch.results)} cases predicted. Click a column "
               "header to sort; atypicality is a percentile of the training cohort "
               f"(from {ATYPICAL_FROM:.0f}: unlike the cohort).")
    positive = card.class_label(card.positive_class)  # as results_table names its column
    # The probabilities stay numbers (the column sorts by them) and are shown as text.
    table = results_table(card, batch).style.format(
        lambda p: "—" if pd.isna(p) else probability_text(p, 3),
        subset=[f"P({positive})"])
    st.dataframe(table, hide_index=True, key=f"records_table_{key}",
                 column_config={
                     f"P({positive})": st.column_config.Column(help="Calibrated probability"),
                     "Atypicality": st.column_config.NumberColumn(format="%.1f")})
    st.download_button("Download the results (CSV)", results_csv(batch),
                       file_name=f"{card.id}-results.csv", mime="text/csv",
                       icon=":material/download:")
    problems = errors_markdown(batch)
    if problems:
        st.error(problems, icon=":material/error:")
    if predicted:
        row = st.selectbox("Case to look at", list(predicted),
                           key=f"records_case_{card.id}_{key}",
                           format_func=lambda r: case_option(card, predicted[r]))
        one_case(card, upload, result, predicted[row], f"Case: row {row}")


def one_case(card: ModelCard, upload: results.Upload, result: Result, case: CaseResult,
             title: str) -> None:
    """One predicted case: prediction, atypicality, field attributions and deviations."""
    schema = load_model(card.id).schema
    st.subheader(title)

    def atypicality() -> None:
        st.metric("Atypicality (percentile)", f"{case.atypicality:.1f}",
                  help="Where the autoencoder's reconstruction error of this case falls "
                       "among the training cohort's (out-of-fold) errors.")
        st.markdown(atypicality_sentence(case))

    results.verdict(result, case.item, "case", CALIBRATED_ON, beside=atypicality)
    signoff.section(card.id, upload, result, row=case.row)
    note = imputed_note(schema, case)
    if note:
        st.info(note, icon=":material/info:")
    try:
        explanation: CaseExplanation = results.explain(
            card.id, upload, results.default_method(card.id), case.item).detail
    except Exception as error:
        show_error(error)
        return
    explanation = with_gene_symbols(card, explanation)
    fields = top_fields(schema, explanation)
    probes = len(fields) < len(schema)
    st.markdown(f"**The {len(fields)} probes that moved the prediction most**" if probes
                else "**Which fields pushed the prediction which way**")
    chart_column, text_column = st.columns([4, 3], gap="large")
    with chart_column:
        st.altair_chart(attribution_chart(fields, explanation.positive_class), width="stretch")
        st.caption(f"Red bars raised the probability of {explanation.positive_class}, blue "
                   "bars lowered it (the legend above the bars). They show what moved the "
                   "model, not what causes disease.")
        results.how_to_read(card.id, results.default_method(card.id))
    with text_column:
        sentences = explanation.sentences()
        if sentences:
            st.markdown("\n".join(f"- {sentence}" for sentence in sentences))
        st.markdown("**Most unusual values**")
        st.table(unusual_table(explanation), hide_index=True, border="horizontal")
        st.caption("How far each value is from what the autoencoder, trained on the cohort's "
                   "patterns, expects for this case, in training standard deviations.")


# --- The views of the worklist, the patient view and the Models page (dxui.views) --------

ROW_PER_ITEM = True  # a table's cases, a row each
ROW_COLUMNS_SHOWN = 14  # a gene profile's first probes; a clinical record in full


def case_view(outcome: Outcome, upload: results.Upload, item: int | None = None) -> None:
    """The table's cases (:func:`cases_section`), or the case of row item ``item``."""
    card = load_model(outcome.model_id).card
    if item is None:
        cases_section(card, upload, outcome.result)
    else:
        chosen = next(c for c in outcome.result.detail.results if c.item == item)
        one_case(card, upload, outcome.result, chosen, f"Row {chosen.row}")


def patient_section(outcome: Outcome, upload: results.Upload) -> None:
    case_view(outcome, upload)


def worklist_rows(result: Result, card: ModelCard, base: dict[str, Any], labels: InputLabels,
                  signed: Callable[[int | None], str]) -> list[dict[str, Any]]:
    """A row per case of the table, named and signed off by its row."""
    return [_case_row({**base, "Case": labels.case(case_result.row),
                       "Sign-off": "—" if case_result.error else signed(case_result.row)},
                      card.positive_class, case_result)
            for case_result in result.detail.results]


def _case_row(base: dict, positive_class: str | None, case: CaseResult) -> dict:
    row = {**base, "item": case.item,
           "Atypicality": np.nan if case.atypicality is None else case.atypicality}
    if case.error is not None:
        refused = is_refusal(case.code)
        return {**row, "Prediction": "no answer" if refused else f"not read: {case.error}",
                "Domain guard": f"refused: {case.error}" if refused else "",
                "answered": False,
                "doubt": f"{'refused' if refused else 'not read'}: {case.error}"}
    chosen = case.prediction_set.get("prediction_set", [case.prediction])
    return {**row, "Prediction": case.prediction if len(chosen) == 1
            else f"uncertain: {' or '.join(chosen)}",
            "Probability": case.probabilities[case.prediction],
            "Prediction set": " or ".join(chosen), "uncertain": len(chosen) > 1,
            "positive": case.prediction == positive_class, "doubt": set_doubt(chosen)}


def failure_gallery(card: ModelCard, failures: list[dict[str, Any]]) -> None:
    """The failed cases' values, as in the dataset file (the first columns of a wide
    one)."""
    rows = tuple(_row_key(f["case_id"]) for f in failures)
    values = _record_rows(card.id, rows, str(data_dir()))
    shown = values.iloc[:, :ROW_COLUMNS_SHOWN]
    table = pd.concat([failures_table(failures)[["Case", "True class", "Decided"]]
                       .set_index(values.index), shown.astype(str)], axis=1)
    st.markdown("**Their values, as in the dataset file**")
    st.dataframe(table, hide_index=True)
    if values.shape[1] > ROW_COLUMNS_SHOWN:
        st.caption(f"The first {ROW_COLUMNS_SHOWN} of {values.shape[1]:,} columns.")


def record_test_table(model_id: str) -> pd.DataFrame:
    """The record model's test table as its recipe splits it, indexed by dataset row."""
    return recipe_for(model_id).split()[2]  # every record recipe: (train, y, test, y_test)


@st.cache_data(ttl=results.CACHE_SECONDS, show_spinner="Reading the rows from the dataset…")
def _record_rows(model_id: str, rows: tuple[int | str, ...], folder: str) -> pd.DataFrame:
    # ``folder`` keys the cache on where the dataset is read from.
    table = record_test_table(model_id)
    return table.loc[list(rows)]


def _row_key(case_id: str) -> int | str:
    """A failure's row in its recipe's test table: "row 17" is row 17; "row hungary row
    17" is the row labelled "hungary row 17" (a table joined from several sites).

    >>> _row_key("row 17"), _row_key("row hungary row 17")
    (17, 'hungary row 17')
    """
    key = case_id.removeprefix("row ")
    return int(key) if key.isdigit() else key


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
    if case.indicated:
        return (f"Not recorded: {labels}. The model answers without them; its prediction "
                "set is calibrated on cases missing as many findings, so it is wider when "
                "they matter.")
    return f"Missing, so imputed from the training cohort (median or most frequent): {labels}."


def results_table(card: ModelCard, batch: CaseBatch) -> pd.DataFrame:
    """One row per case for the page: row, prediction, the positive class's probability,
    atypicality and the error, if any."""
    positive = card.positive_class
    return pd.DataFrame({
        "Row": [r.row for r in batch.results],
        "Prediction": [card.class_label(r.prediction) if r.prediction else "—"
                       for r in batch.results],
        f"P({card.class_label(positive)})": [r.probabilities.get(positive)
                                            for r in batch.results],
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
    lines = [f"- {plain(r.error)}" for r in failed[:ERRORS_SHOWN]]
    if len(failed) > ERRORS_SHOWN:
        lines.append(f"- and {len(failed) - ERRORS_SHOWN} more: see the Error column of the "
                     "table.")
    return (f"**{len(failed)} of {len(batch.results)} cases could not be predicted:**\n"
            + "\n".join(lines))


def case_option(card: ModelCard, case: CaseResult) -> str:
    positive = card.positive_class
    return (f"Row {case.row}: {card.class_label(case.prediction)} "
            f"(P({card.class_label(positive)}) "
            f"{probability_is(case.probabilities[positive])}, atypicality "
            f"{case.atypicality:.0f})")


def with_gene_symbols(card: ModelCard, explanation: CaseExplanation) -> CaseExplanation:
    """The explanation with each probe's gene symbol beside its id in the field labels
    ("S68616_at (SLC9A1) expression"), from the card's ``gene_symbols``; as it is for
    models without them."""
    symbols = card.gene_symbols
    if not symbols:
        return explanation
    return replace(explanation, fields=[
        replace(f, label=f.label.replace(f.name, f"{f.name} ({symbols[f.name]})", 1))
        if f.name in symbols else f for f in explanation.fields])


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
                        legend=alt.Legend(orient="top", title=None, columns=1)),
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
