"""Case records: upload a table of cases (CSV or JSON) or fill in a form, see each case's
calibrated prediction, how unlike the training cohort it is, and which fields pushed the
prediction which way; for many cases, a sortable table, a drill-down and a CSV download."""

import streamlit as st

from dxcore.cards import ModelCard
from dxcore.records import CaseResult
from dxui import records
from dxui.common import (
    load_model,
    model_card_section,
    models_table,
    probability_bars,
    research_notice,
    show_error,
    target_warning,
)

st.title("Case records")
st.caption("A case's clinical findings and lab values, or a gene-expression profile (one "
           "case per row), read by a record model: heart disease, chronic kidney disease, or "
           "the type of acute leukaemia.")
research_notice()

try:
    cards = records.record_cards()
except Exception as error:
    show_error(error)
    st.stop()
if not cards:
    st.info(records.NO_MODELS, icon=":material/info:")
    st.stop()


def show_case(card: ModelCard, cases: records.Cases, case: CaseResult, title: str) -> None:
    """One predicted case: prediction, atypicality, field attributions and deviations."""
    model = load_model(card.id)
    st.subheader(title)
    with st.container(border=True):
        verdict_column, probability_column, atypical_column = st.columns(3, gap="large")
        with verdict_column:
            st.metric("Model prediction", case.prediction)
            st.markdown(records.decision_sentence(card, case))
        with probability_column:
            probability_bars(case.probabilities, card.positive_class,
                             card.threshold,
                             "cross-validation of the training data")
        with atypical_column:
            st.metric("Atypicality (percentile)", f"{case.atypicality:.1f}",
                      help="Where the autoencoder's reconstruction error of this case falls "
                           "among the training cohort's (out-of-fold) errors.")
            st.markdown(records.atypicality_sentence(case))
    note = records.imputed_note(model.schema, case)
    if note:
        st.info(note, icon=":material/info:")

    try:
        explanation = records.explain(card.id, cases, case.row)
    except Exception as error:
        show_error(error)
        return
    fields = records.top_fields(model.schema, explanation)
    probes = len(fields) < len(model.schema)
    st.markdown(f"**The {len(fields)} probes that moved the prediction most**" if probes
                else "**Which fields pushed the prediction which way**")
    chart_column, text_column = st.columns([4, 3], gap="large")
    with chart_column:
        st.altair_chart(records.attribution_chart(fields, explanation.positive_class),
                        width="stretch")
        st.caption(f"Red bars raised the probability of {explanation.positive_class}, blue "
                   "bars lowered it. Integrated gradients of the log-odds from the training "
                   "cohort's mean case: the bars add up to how far this case's log-odds are "
                   "from the mean case's. They show what moved the model, not what causes "
                   "disease.")
    with text_column:
        sentences = explanation.sentences()
        if sentences:
            st.markdown("\n".join(f"- {sentence}" for sentence in sentences))
        st.markdown("**Most unusual values**")
        st.table(records.unusual_table(explanation), hide_index=True, border="horizontal")
        st.caption("How far each value is from what the autoencoder, trained on the cohort's "
                   "patterns, expects for this case, in training standard deviations.")


# --- Input --------------------------------------------------------------------------------
state = st.session_state
mode = st.radio("Input", [records.UPLOAD, records.FORM], horizontal=True, key="records_mode")
model_id, cases = None, None
if mode == records.UPLOAD:
    choice_column, upload_column = st.columns([2, 3], gap="large")
    with choice_column:
        choice = st.selectbox(
            "Model", [records.MATCH, *cards], key="records_model_upload",
            format_func=lambda option: records.model_label(cards, option),
            help="By default the page picks the model whose fields the file's columns cover.")
    with upload_column:
        uploaded = st.file_uploader(
            "Upload cases", type=records.UPLOAD_TYPES, key="records_upload",
            help="CSV with a header row and one case per row, or JSON (one object or a list "
                 "of objects), columns named as in the model card. The file is analysed in "
                 "memory and never stored.")
    if choice != records.MATCH:
        model_id = choice
    if uploaded is None:
        st.info("Upload a CSV or JSON file of cases to see the model's reading of each.",
                icon=":material/upload_file:")
    else:
        cases = records.Cases.of(uploaded.getvalue(), uploaded.name)
        if model_id is None:
            try:
                model_id = records.matched_model(cases, cards)
            except Exception as error:
                show_error(error)
                cases = None
            else:
                st.info(f"Matched by the file's columns: **{cards[model_id]['name']}** "
                        f"(`{model_id}`).", icon=":material/join:")
else:
    model_id = st.selectbox("Model", list(cards), key="records_model_form",
                            format_func=lambda option: records.model_label(cards, option))
    try:
        schema = load_model(model_id).schema
    except Exception as error:
        show_error(error)
        st.stop()
    if not records.form_fits(schema):
        st.info(f"This model reads {len(schema):,} values per case (a gene-expression "
                "profile): upload them as a CSV or JSON file instead.", icon=":material/info:")
    else:
        submitted_key = f"records_form_cases_{model_id}"
        with st.form(f"records_form_{model_id}"):
            columns = st.columns(3, gap="medium")
            answers = {}
            for i, field in enumerate(schema.fields):
                with columns[i % len(columns)]:
                    answers[field.name] = records.field_input(
                        field, key=f"records_{model_id}_{field.name}")
            if st.form_submit_button("Predict", type="primary"):
                state[submitted_key] = records.Cases.from_answers(answers)
        # The last submitted answers stay on show until the form is submitted again.
        cases = state.get(submitted_key)
        if cases is None:
            st.info("Fill in what is known and press Predict. Fields left empty are imputed "
                    "from the training cohort.", icon=":material/edit_note:")

# --- Result -------------------------------------------------------------------------------
batch = None
if cases is not None and model_id is not None:
    try:
        batch = records.predict(model_id, cases)
    except Exception as error:
        show_error(error)

if batch is not None:
    card = cards[model_id]
    target_warning(card)
    for note in batch.notes:
        st.info(note, icon=":material/info:")
    predicted = {case.row: case for case in batch.results if case.error is None}
    if len(batch.results) == 1:
        [single] = batch.results
        if single.error:
            st.error(single.error, icon=":material/error:")
        else:
            show_case(card, cases, single, "Result")
    else:
        st.subheader("All cases")
        st.caption(f"{len(predicted)} of {len(batch.results)} cases predicted. Click a column "
                   "header to sort; atypicality is a percentile of the training cohort "
                   f"(from {records.ATYPICAL_FROM:.0f}: unlike the cohort).")
        positive = card.positive_class
        st.dataframe(records.results_table(card, batch), hide_index=True,
                     key=f"records_table_{cases.key}",
                     column_config={
                         f"P({positive})": st.column_config.NumberColumn(
                             format="%.3f", help="Calibrated probability"),
                         "Atypicality": st.column_config.NumberColumn(format="%.1f")})
        st.download_button("Download the results (CSV)", records.results_csv(batch),
                           file_name=f"{model_id}-results.csv", mime="text/csv",
                           icon=":material/download:")
        problems = records.errors_markdown(batch)
        if problems:
            st.error(problems, icon=":material/error:")
        if predicted:
            row = st.selectbox("Case to look at", list(predicted),
                               key=f"records_case_{model_id}_{cases.key}",
                               format_func=lambda r: records.case_option(card, predicted[r]))
            show_case(card, cases, predicted[row], f"Case: row {row}")

st.divider()
if model_id is None:
    st.subheader("Case-record models")
    st.table(models_table(list(cards.values())), hide_index=True, border="horizontal")
    st.caption("The page picks one of these from the uploaded file's columns; its model card "
               "is shown here once it has.")
else:
    model_card_section(cards[model_id])
