"""The worklist: every case of a drop through its model (batched, with a progress bar), one
table of all of them, orderings and filters for triage, a CSV download, and the full view of
the case picked.

:func:`run` returns the drop's :class:`Run`: its :class:`~dxcore.intake.Outcome` list (case,
model, Result or DxError) as the models answered, which the worklist's PDF report reads, and
the same adapted to each model's site prevalence (:func:`adapted`: estimated from the drop's
own answers when they are enough, :mod:`dxcore.adaptation`), which the pages show and the
audit trail logs (each answer, as a case page's), and each input's case labels
(:mod:`dxcore.labels`: the file name, a DICOM's accession number, a table's ID column),
which the pages show and the audit trail never holds. The run is kept in the session's
memory for the latest drop only, so that sorting or picking a case reruns no model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dxcore.audit import input_sha256
from dxcore.contract import Result
from dxcore.errors import DxError
from dxcore.intake import Intake, Outcome, group_files, predict_cases
from dxcore.label_shift import SitePrior
from dxcore.labels import InputLabels, input_labels
from dxcore.signoff import sign_offs
from dxcore.site_prior import MIN_BATCH
from dxcore.wording import is_refusal, probability_text
from dxui import signoff
from dxui.common import load_model, plain
from dxui.results import (
    Upload,
    audit,
    standing_prior,
    upload_key,
    verdict_label,
)
from dxui.views import views_of

RUNS = "dx_worklist_run"
COLUMNS = ["Case", "Model", "Prediction", "Probability", "Prediction set", "Domain guard",
           "Atypicality", "Input SHA-256", "Sign-off"]
# Hidden columns the orderings read: which outcome and item a row is, whether it is uncertain
# (its prediction set holds more than one class), positive, or has no answer; and the
# doubt in words, for the patient view's summary.
HIDDEN = ["outcome", "item", "uncertain", "positive", "answered", "doubt"]
ORDERS = ("As dropped", "Uncertain first", "Positives first", "Highest probability first",
          "Lowest probability first")
SHOWN = ("All cases", "Uncertain only", "Positives only", "No answer only")


@dataclass
class Run:
    """A drop read by its models: the answers as the models give them, the same adapted to
    each model's site prior (:func:`adapted`), those priors by model id, and each input's
    labels and SHA-256 (in the order of the outcomes; hashed once, not at every rerun)."""

    intake: Intake
    outcomes: list[Outcome]
    adapted: list[Outcome]
    priors: dict[str, SitePrior]
    labels: list[InputLabels]
    hashes: list[str]


def run(files: dict[str, bytes], options: dict[str, dict[str, Any]] | None = None) -> Run:
    """The drop sorted out, each case read with its reader ``options`` (``{case name:
    options}``, what the user gave: :func:`dxui.drop.asked_section`), predicted (with a
    progress bar while it runs) and adapted; kept in the session for the latest drop and
    options."""
    key = (upload_key(files), json.dumps(options or {}, sort_keys=True))
    kept = st.session_state.get(RUNS)
    if kept is not None and kept[0] == key:
        return kept[1]
    intake = group_files(files).with_options(options or {})
    bar = st.progress(0.0, text=f"Reading {len(intake.cases)} cases…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{done} of {total} cases read")

    outcomes = predict_cases(intake.cases, model_of=load_model, progress=progress)
    bar.empty()
    shown, priors = adapted(outcomes)
    for outcome in shown:  # the audit trail: as for a case page's prediction
        if isinstance(outcome.result, Result):
            audit(outcome.model_id, Upload(outcome.case.files), outcome.case.options,
                  outcome.result)
    done = Run(intake, outcomes, shown, priors, [labels_of(outcome) for outcome in outcomes],
               [input_sha256(outcome.case.files) for outcome in outcomes])
    st.session_state[RUNS] = (key, done)
    return done


def labels_of(outcome: Outcome) -> InputLabels:
    """The input's labels, from what its model's modality reads in it (by its name when the
    model cannot be loaded: the outcome says why)."""
    try:
        model = load_model(outcome.model_id)
    except DxError:
        return InputLabels(outcome.case.name)
    return input_labels(model, outcome.case.name, outcome.case.files)


def adapted(outcomes: list[Outcome]) -> tuple[list[Outcome], dict[str, SitePrior]]:
    """The outcomes with each answer adapted to its model's site prior, and those priors:
    estimated from the drop's own answers of the model when they are at least
    :data:`~dxcore.site_prior.MIN_BATCH`, else the site's standing prior
    (:func:`dxui.results.standing_prior`). Models whose answers cannot be adapted are left
    as they are."""
    priors: dict[str, SitePrior] = {}
    for model_id in dict.fromkeys(outcome.model_id for outcome in outcomes):
        answers = [o.result for o in outcomes
                   if o.model_id == model_id and isinstance(o.result, Result)]
        if not answers:
            continue
        try:
            shift = load_model(model_id).label_shift
        except DxError as error:  # a damaged calibration file: say so, answer unadapted
            st.warning(f"Answers of {model_id} are not adapted to this site's prevalence: "
                       f"{plain(error)}", icon=":material/tune:")
            continue
        if shift is None:
            continue
        probabilities = np.concatenate([answer.probabilities for answer in answers])
        prior = (shift.estimate(probabilities) if len(probabilities) >= MIN_BATCH
                 else standing_prior(model_id))
        if prior is not None:
            priors[model_id] = prior
    return [Outcome(o.case, load_model(o.model_id).adapt(o.result, priors[o.model_id]))
            if o.model_id in priors and isinstance(o.result, Result) else o
            for o in outcomes], priors


def prior_section(run: Run) -> bool:
    """Each model's site prevalence that the worklist's answers are adapted to, and the
    switch to the models' unadapted answers; whether they are to be shown."""
    for model_id, prior in run.priors.items():
        card = load_model(model_id).card
        name = card.positive_class
        text = prior.describe(name, card.class_label(name).lower(),
                              load_model(model_id).label_shift.prior)
        where = ("This worklist" if prior.source == "batch" else
                 f"Too few answers of {model_id} here to estimate it (fewer than "
                 f"{MIN_BATCH}); this site")
        st.info(f"**{card['name']}.** {where}: {text}." + (
            " Probabilities and prediction sets below are adapted to it; the predictions "
            "are the model's own." if prior.adapts else ""), icon=":material/tune:")
    if not any(prior.adapts for prior in run.priors.values()):
        return False
    return st.toggle("Show the models' unadapted answers", key="worklist_unadapted",
                     help="The probabilities and prediction sets as the models give them, "
                          "for the prevalence they were trained on. The PDF report gives "
                          "these.")


def rows(outcomes: list[Outcome], labels: list[InputLabels],
         hashes: list[str] | None = None) -> pd.DataFrame:
    """One row per input (per item of an input whose modality's views give each its own
    row, as a table's cases), in the order dropped, each named by its case label and its
    input's SHA-256 (what the audit trail knows it by; ``hashes``: the run's, else hashed
    here), with its latest sign-off in the audit trail."""
    if hashes is None:
        hashes = [input_sha256(outcome.case.files) for outcome in outcomes]
    table: list[dict] = []
    signed = sign_offs()  # read once for every row
    for index, (outcome, named, sha256) in enumerate(zip(outcomes, labels, hashes,
                                                         strict=True)):
        status = signoff.status_of(outcome.model_id, sha256, signed)
        for row in _rows_of(outcome, named, status):
            table.append({**row, "Input SHA-256": sha256, "outcome": index})
    return pd.DataFrame(table, columns=COLUMNS + HIDDEN)


def _rows_of(outcome: Outcome, labels: InputLabels,
             signed: Callable[[int | None], str]) -> list[dict]:
    """The outcome's rows: why it has no answer, or what its modality's views make of its
    answer (:meth:`~dxui.views.ModalityViews.worklist_rows`) from the columns every row
    has."""
    case, result = outcome.case, outcome.result
    base = {"Case": labels.case(), "Model": case.model_id, "Probability": np.nan,
            "Prediction set": "", "Domain guard": "accepted", "Atypicality": np.nan,
            "Sign-off": "—" if isinstance(result, DxError) else signed(None),
            "item": 0, "uncertain": False, "positive": False, "answered": True}
    if isinstance(result, DxError):
        refused = is_refusal(result)
        return [{**base, "Prediction": "no answer" if refused else f"not read: {result}",
                 "Domain guard": f"refused: {result}" if refused else "",
                 "answered": False,
                 "doubt": f"refused: {result}" if refused else f"not read: {result}"}]
    card = load_model(case.model_id).card
    return views_of(card["modality"]).worklist_rows(result, card, base, labels, signed)


def answer_row(base: dict, result: Result, item: int, positive_class: str | None) -> dict:
    """The row of item ``item``'s answer (an image's, a beat's): its prediction as the
    verdict words it, the probability shown for it and its prediction set, from ``base``
    (:func:`_rows_of`)."""
    return {**base, "Prediction": verdict_label(result, item),
            "Probability": _shown_probability(result, item),
            "Prediction set": " or ".join(result.set_of(item)),
            "uncertain": result.uncertain(item),
            "positive": str(result.decisions[item]) == positive_class,
            "doubt": set_doubt(result.set_of(item))}


def set_doubt(chosen: list[str]) -> str:
    """The doubt a prediction set says, in words.

    >>> set_doubt(["PNEUMONIA"]), set_doubt(["NORMAL", "PNEUMONIA"])
    ('none: PNEUMONIA alone in the set', 'uncertain: the set holds NORMAL and PNEUMONIA')
    """
    if len(chosen) == 1:
        return f"none: {chosen[0]} alone in the set"
    return f"uncertain: the set holds {' and '.join(chosen)}"


def _shown_probability(result: Result, item: int) -> float:
    return float(result.rule.shown_probability(result.probabilities[item:item + 1],
                                               result.decisions[item:item + 1])[0])


def ordered(table: pd.DataFrame, order: str, shown: str = SHOWN[0]) -> pd.DataFrame:
    """The rows filtered by ``shown`` and sorted by ``order`` (stable: ties keep the order
    dropped); positives and uncertain rows come most probable first.

    >>> t = pd.DataFrame({"Probability": [0.2, 0.9, 0.6], "uncertain": [True, False, True],
    ...                   "positive": [False, True, True], "answered": [True] * 3})
    >>> ordered(t, "Uncertain first").index.tolist(), ordered(t, "Positives first").index.tolist()
    ([2, 0, 1], [1, 2, 0])
    >>> ordered(t, "As dropped", "Uncertain only").index.tolist()
    [0, 2]
    """
    keep = {"All cases": pd.Series(True, index=table.index),
            "Uncertain only": table["uncertain"].astype(bool),
            "Positives only": table["positive"].astype(bool),
            "No answer only": ~table["answered"].astype(bool)}[shown]
    table = table[keep]
    if order == "As dropped":
        return table
    if order in ("Highest probability first", "Lowest probability first"):
        return table.sort_values("Probability", ascending=order.startswith("Lowest"),
                                 kind="stable", na_position="last")
    flag = "uncertain" if order == "Uncertain first" else "positive"
    return table.sort_values([flag, "Probability"], ascending=[False, False], kind="stable",
                             na_position="last")


def export_csv(table: pd.DataFrame) -> bytes:
    """The table as shown (its columns, its order) as CSV, probabilities unrounded."""
    return table[COLUMNS].to_csv(index=False).encode()


def row_label(table: pd.DataFrame, index: int) -> str:
    """A row as the case picker lists it. Plain text, not :func:`~dxui.common.plain`:
    a selectbox shows its options as they are, so Markdown escapes would show as
    backslashes."""
    row = table.loc[index]
    probability = ("" if pd.isna(row["Probability"])
                   else f" ({probability_text(row['Probability'])})")
    return f"{row['Case']}: {row['Prediction']}{probability}"


def shown_table(view: pd.DataFrame) -> pd.DataFrame:
    """The rows as the table shows them: probabilities as every page writes them
    (:func:`~dxcore.wording.probability_text`, never 1.00 nor 0.00), and an empty cell
    (no probability, no atypicality) as "—" rather than the "None" Streamlit shows for a
    missing number. The numbers themselves stay in ``view`` for the orderings and the
    CSV."""
    return view[COLUMNS].assign(
        Probability=view["Probability"].map(probability_text),
        **{"Prediction set": view["Prediction set"].replace("", "—"),
           "Domain guard": view["Domain guard"].replace("", "—"),
           "Atypicality": view["Atypicality"].map(
               lambda a: "—" if pd.isna(a) else f"{a:.1f}")})


def table_section(table: pd.DataFrame) -> pd.DataFrame:
    """The orderings and filters, the table, the CSV download; returns the rows shown."""
    order_column, shown_column = st.columns(2)
    order = order_column.selectbox("Order", ORDERS, key="worklist_order",
                                   help="Uncertain: the prediction set holds more than one "
                                        "class. Positive: the model's positive class (for an "
                                        "ECG record, any beat not N).")
    shown = shown_column.selectbox("Show", SHOWN, key="worklist_shown")
    view = ordered(table, order, shown)
    # Widths so that the columns a reader triages by are not cut: the case, the prediction
    # and a refusal's reason are long; the model, probability and atypicality are short.
    st.dataframe(shown_table(view), hide_index=True,
                 key="worklist_table",
                 column_config={
                     "Case": st.column_config.TextColumn(
                         width="medium", help="The case's label: a DICOM's accession number "
                                              "(else study ID), a case table's ID column, "
                                              "else the file name (row N: a table's Nth "
                                              "case under its header)"),
                     "Model": st.column_config.TextColumn(width="small"),
                     "Prediction": st.column_config.TextColumn(width="medium"),
                     "Probability": st.column_config.TextColumn(
                         width="small", help="Calibrated probability of the prediction "
                                             "(adapted to the site's prevalence where said "
                                             "above); order by it with Order above"),
                     "Prediction set": st.column_config.TextColumn(width="small"),
                     "Domain guard": st.column_config.TextColumn(width="medium"),
                     "Atypicality": st.column_config.TextColumn(
                         width="small", help="Case records: percentile of the training "
                                             "cohort's reconstruction error"),
                     "Input SHA-256": st.column_config.TextColumn(
                         width="small", help="What the audit trail knows the input by "
                                             "(it never holds the case label)"),
                     "Sign-off": st.column_config.TextColumn(
                         width="medium", help="The latest clinician's sign-off in the audit "
                                              "trail: open the case to sign it off")})
    st.caption(f"{len(view)} of {len(table)} rows. Click a column header to sort by it. "
               "The cases are named by their labels, which identify patients: the table and "
               "its CSV are clinical data.")
    st.download_button("Download the worklist (CSV)", export_csv(view),
                       file_name="worklist.csv", mime="text/csv", icon=":material/download:")
    return view
