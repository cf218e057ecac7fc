"""One case as its own page shows it, for the patient view and the worklist's drill-down:
the prediction with its probabilities and prediction set, and the explanation (the saliency
map of an image, an ECG record's summary and beats, a case's field attributions), drawn by
its modality's views (:mod:`dxui.views`) through the same cached path and renderers as the
chest X-ray, ECG and case-record pages (:func:`outcome_section`).

The patient view around them: which drops it opens (:func:`admitted`: one patient's files,
:meth:`~dxcore.intake.Intake.one_patient`, or any on request), a header naming the patient
(:func:`patient_label`: the patient ID the files agree on, else the inputs' case labels),
a summary of every input's answer and doubt in one table (:func:`summary_table`), and the
inputs side by side, two to a row (:func:`inputs_section`).

No model combines the cases: :data:`NOT_FUSED` says so on the patient view.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dxcore.errors import DxError
from dxcore.intake import PATIENT_INPUTS, Intake, Outcome
from dxcore.labels import InputLabels, stated_patients
from dxcore.registry import modality
from dxcore.wording import probability_text
from dxui import results, worklist
from dxui.common import plain, show_error
from dxui.views import views_of

NOT_FUSED = ("**Each file is read by its own model, on its own.** No model here combines "
             "an X-ray, an ECG and a case record into one answer: the answers are shown side "
             "by side, and weighing them together is the clinician's work.")
ANYWAY = "Open these as one patient anyway"
# Inputs stand side by side this many to a row: a case view (the verdict beside its
# probability bars, an ECG's charts, a record's attributions) reads at half a laptop
# screen's width, not at a third (tried: the verdict's sentence wrapped a word to a line).
SIDE_BY_SIDE = 2
SUMMARY_COLUMNS = ["Input", "Model", "Answer", "Doubt"]


def outcome_section(outcome: Outcome, item: int | None = None, compact: bool = False) -> None:
    """The case's answer and explanation, by its modality's views (:mod:`dxui.views`), or
    why it has none; ``item`` picks one item of an input the worklist gives a row per item
    (a case table's row: all of them otherwise); ``compact``: as a column of the patient
    view shows it."""
    case, result = outcome.case, outcome.result
    if isinstance(result, DxError):
        show_error(result)
        return
    upload = results.Upload(case.files)
    views = views_of(case.kind)
    if compact:
        views.patient_section(outcome, upload)
    else:
        views.case_view(outcome, upload, item)


def heading(outcome: Outcome, label: str) -> str:
    """The case's heading: what it is (its modality's ``input_label``, as the drop zone
    calls it), its ``label`` and its model (Markdown-escaped)."""
    case = outcome.case
    return plain(f"{modality(case.kind).input_label}: {label} — read by {case.model_id}")


def admitted(intake: Intake) -> bool:
    """Whether the patient view opens this drop: one patient's files
    (:meth:`~dxcore.intake.Intake.one_patient`), or any drop when the reader ticks
    :data:`ANYWAY` after being told why it looks like several patients."""
    if not intake.cases or intake.one_patient():
        return True
    st.warning(
        f"**This drop looks like more than one patient's files:** {intake.rows} cases from "
        f"{len(intake.cases)} inputs. One patient's files are at most {PATIENT_INPUTS} "
        "inputs, with at most one ECG record and one case record of one row. Open a batch "
        "as a worklist, where each case is read on its own.", icon=":material/groups:")
    return st.checkbox(ANYWAY, key="patient_anyway")


def patient_label(labels: list[InputLabels]) -> str:
    """What the patient view is headed by: the patient ID the inputs state when they agree
    on one, else their case labels.

    >>> from dxcore.labels import Identity
    >>> patient_label([InputLabels("a.dcm", (Identity("ACC-1", "P-17"),)), InputLabels("100")])
    'P-17'
    >>> patient_label([InputLabels("a.png"), InputLabels("100")])
    'a.png · 100'
    """
    patients = stated_patients(labels)
    if len(patients) == 1:
        return patients[0]
    return " · ".join(named.case() for named in labels)


def header_section(labels: list[InputLabels]) -> str:
    """The header naming the patient (:func:`patient_label`), what it comes from, and a
    warning when the files state different patients; returns the label."""
    label = patient_label(labels)
    patients = stated_patients(labels)
    st.header(f"Patient: {plain(label)}", anchor=False)
    if len(patients) == 1:
        stating = sum(bool(named.patients()) for named in labels)
        which = "all" if stating == len(labels) else f"{stating} of the {len(labels)}"
        st.caption(f"The patient ID that {which} inputs state (a DICOM's PatientID, a case "
                   "table's patient ID column). Patient data: shown here and in the PDF, "
                   "never written to the audit trail.")
    elif patients:
        st.warning(f"**The files state {len(patients)} different patient IDs:** "
                   f"{plain(', '.join(patients))}. Check that they are one patient's before "
                   "reading the answers together.", icon=":material/warning:")
    else:
        st.caption("The files state no patient ID: each input is named by its accession "
                   "number, its table's ID column or its file name.")
    return label


def summary_table(outcomes: list[Outcome], labels: list[InputLabels]) -> pd.DataFrame:
    """One row per input (per row of a table): its case label, its model, its answer (with
    the probability) and its doubt: what its prediction set says (two classes: the model
    cannot tell them apart; an ECG record: how many beats are uncertain), or why there is
    no answer."""
    table = worklist.rows(outcomes, labels)
    answers = [prediction if pd.isna(probability) else
               f"{prediction} ({probability_text(probability)})"
               for prediction, probability in zip(table["Prediction"], table["Probability"],
                                                  strict=True)]
    return pd.DataFrame({"Input": table["Case"], "Model": table["Model"], "Answer": answers,
                         "Doubt": table["doubt"]}, columns=SUMMARY_COLUMNS)


def summary_section(outcomes: list[Outcome], labels: list[InputLabels]) -> None:
    st.subheader("Summary", anchor=False)
    st.dataframe(summary_table(outcomes, labels), hide_index=True, key="patient_summary",
                 column_config={
                     "Input": st.column_config.TextColumn(width="medium"),
                     "Model": st.column_config.TextColumn(width="small"),
                     "Answer": st.column_config.TextColumn(width="medium"),
                     "Doubt": st.column_config.TextColumn(
                         width="large", help="What the prediction set at the model's "
                                             "coverage says (more than one class: "
                                             "uncertain), or why the model gave no answer")})


def inputs_section(outcomes: list[Outcome], labels: list[InputLabels]) -> None:
    """Each input with its answer and explanation: one patient's inputs (at most
    :data:`~dxcore.intake.PATIENT_INPUTS`) side by side, :data:`SIDE_BY_SIDE` to a row
    (Streamlit stacks columns on a narrow screen; a row's last input alone takes its whole
    width), a larger drop opened anyway in tabs, one input each."""
    headings = [heading(outcome, named.case())
                for outcome, named in zip(outcomes, labels, strict=True)]
    if len(outcomes) == 1:
        st.subheader(headings[0], anchor=False)
        outcome_section(outcomes[0])
        return
    if len(outcomes) <= PATIENT_INPUTS:
        places = [place for start in range(0, len(outcomes), SIDE_BY_SIDE)
                  for place in st.columns(min(SIDE_BY_SIDE, len(outcomes) - start),
                                          gap="large")]
    else:
        places = st.tabs([plain(named.case()) for named in labels])
    for place, outcome, title in zip(places, outcomes, headings, strict=True):
        with place:
            st.subheader(title, anchor=False)
            outcome_section(outcome, compact=True)
