"""One case as its own page shows it, for the patient view and the worklist's drill-down:
the prediction with its probabilities and prediction set, and the explanation (the saliency
map of an image, an ECG record's summary and beats, a case's field attributions), through the
same cached path and renderers as the chest X-ray, ECG and case-record pages.

No model combines the cases: :data:`NOT_FUSED` says so on the patient view.
"""

from __future__ import annotations

import streamlit as st

from dxcore.errors import DxError
from dxcore.intake import KINDS, Outcome
from dxui import ecg, imaging, records, results, signoff
from dxui.common import load_model, plain, show_error

NOT_FUSED = ("**Each file is read by its own model, on its own.** No model here combines "
             "an X-ray, an ECG and a case record into one answer: the answers are shown side "
             "by side, and weighing them together is the clinician's work.")


def outcome_section(outcome: Outcome, item: int | None = None, compact: bool = False) -> None:
    """The case's answer and explanation; ``item`` picks one row of a case table (all of
    them otherwise); ``compact`` draws an image's map without the method controls (several
    images on one page)."""
    case, result = outcome.case, outcome.result
    if isinstance(result, DxError):
        show_error(result)
        return
    upload = results.Upload(case.files)
    card = load_model(case.model_id).card
    if case.kind == "image":
        results.verdict(result, 0, "image", calibrated_on="validation data")
        signoff.section(case.model_id, upload, result)
        if compact:
            image = result.detail.image
            method = results.default_method(case.model_id)
            picture, overlay = st.columns(2, gap="medium")
            picture.image(imaging.display_pixels(image), width="stretch",
                          caption=plain(case.name))
            with overlay:
                imaging.method_map(case.model_id, upload, image, method,
                                   str(result.decisions[0]), imaging.DEFAULT_OPACITY)
        else:
            imaging.saliency_section(case.model_id, upload, plain(case.name), result)
    elif case.kind == "ecg":
        tag = upload.key[:12]
        ecg.summary_section(result)
        signoff.section(case.model_id, upload, result)
        ecg.reference_section(result.detail)
        ecg.record_section(result, tag)
        ecg.beats_section(case.model_id, upload, {}, {}, result, tag)
    elif item is None:
        records.cases_section(card, upload, result)
    else:
        chosen = next(c for c in result.detail.results if c.item == item)
        records.case_view(card, upload, result, chosen, f"Row {chosen.row}")


def heading(outcome: Outcome) -> str:
    case = outcome.case
    return plain(f"{KINDS[case.kind]}: {case.name} — read by {case.model_id}")
