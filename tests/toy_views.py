"""The dashboard views of the toy modality of ``tests/toy_modality.py``, which names this
module in its registration (``Modality(..., views="tests.toy_views")``): proof that a
modality shows on the worklist, the patient view and the Models page from outside ``dxui/``
(:class:`dxui.views.ModalityViews` lists what a views module provides; CONTRIBUTING.md,
"Adding a modality").

A file of beats is one input, and each beat its own answer: the worklist gives each beat a
row (as a case table's rows), and a beat's view is the shared verdict (the prediction, its
sentence and the probability bars under the card's rule).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dxcore.cards import ModelCard
from dxcore.contract import Result
from dxcore.intake import Outcome
from dxcore.labels import InputLabels
from dxui import results
from dxui.models import THUMBNAILS_PER_ROW, failure_caption
from dxui.worklist import answer_row
from tests import toy_modality as toy

ROW_PER_ITEM = True
NOUN = "beat"  # "The model reads this beat as ..."
CALIBRATED_ON = "a held-out quarter of ECG200_TRAIN"


def case_view(outcome: Outcome, upload: results.Upload, item: int | None = None) -> None:
    """Beat ``item``'s verdict, or every beat's."""
    result = outcome.result
    for beat in range(len(result)) if item is None else [item]:
        st.markdown(f"**Beat {beat + 1}**")
        results.verdict(result, beat, NOUN, CALIBRATED_ON)


def patient_section(outcome: Outcome, upload: results.Upload) -> None:
    """Every beat's verdict, stacked to fit a column."""
    result = outcome.result
    for beat in range(len(result)):
        st.markdown(f"**Beat {beat + 1}**")
        results.verdict(result, beat, NOUN, CALIBRATED_ON, stacked=True)


def row_label(labels: InputLabels, beat: int) -> str:
    """A beat's row in the worklist: its file's label and its number (from 1)."""
    return f"{labels.case()} beat {beat + 1}"


def worklist_rows(result: Result, card: ModelCard, base: dict[str, Any], labels: InputLabels,
                  signed: Callable[[int | None], str]) -> list[dict[str, Any]]:
    """A row per beat, with its own answer."""
    return [answer_row({**base, "Case": row_label(labels, beat), "item": beat}, result, beat,
                       card.positive_class) for beat in range(len(result))]


def failure_gallery(card: ModelCard, failures: list[dict[str, Any]]) -> None:
    """The failed test beats (case ids "beat N" of ECG200_TEST, from 1), each drawn from the
    dataset file; raises DxError when the dataset is not there."""
    beats, _ = toy.read_ucr(toy.ecg200_file("TEST"))
    for start in range(0, len(failures), THUMBNAILS_PER_ROW):
        row = failures[start:start + THUMBNAILS_PER_ROW]
        for column, failure in zip(st.columns(THUMBNAILS_PER_ROW), row, strict=False):
            number = int(failure["case_id"].removeprefix("beat "))
            column.line_chart(beats[number - 1], height=120)
            column.caption(failure_caption(failure))
