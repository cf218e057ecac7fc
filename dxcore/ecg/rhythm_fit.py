"""Fitting the rhythm analysis on MIT-BIH DS1 (:mod:`dxcore.ecg.rhythm`): each record read
as a new patient's would be (beats detected from the signal as a prediction detects them,
:func:`dxcore.ecg.detection.find_beats`; no ``.atr``), its reference
rhythm per beat, and the logistic AF/flutter model the card's ``runtime.rhythm`` keeps.

``scripts/ecg_rhythm_cv.py`` cross-validates it (record-grouped) against a recurrent
network; :func:`runtime_section` is what training writes into the card.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dxcore.ecg import mitdb, rhythm
from dxcore.ecg.detection import find_beats
from dxcore.ecg.preprocessing import model_inputs
from dxcore.ecg.record import MODEL_FS
from dxcore.ecg.rhythm_labels import AF_LABELS

# Chosen by scripts/ecg_rhythm_cv.py on DS1 (leave-one-record-out), with the window and
# dominant-beat constants of dxcore.ecg.rhythm: the AF threshold on the smoothed
# probability, and the QRS difference a V call needs.
AF_THRESHOLD = 0.8
V_MIN_QRS_DIFFERENCE = 0.05
CHOSEN_BY = ("leave-one-record-out cross-validation on MIT-BIH DS1, beats detected from "
             "the signal (scripts/ecg_rhythm_cv.py, scripts/ecg_beats_by_rhythm.py)")


def record_series(name: str, data: str | None = None) -> dict[str, Any]:
    """One DS1 record's detected beats: times, rhythm series, reference AF per beat, the
    reference rhythm episodes and the record's duration."""
    from dxcore.ecg.model import detection_leads

    record = mitdb.read_record(name, data)
    lead, signal, _ = record.lead(mitdb.LEAD)
    samples = find_beats(detection_leads(record, lead, signal), MODEL_FS)
    context = model_inputs(signal, samples)["context"]
    times = samples / MODEL_FS
    reference = mitdb.reference_rhythm(name, data)
    codes = rhythm.per_second(reference, record.duration_s)
    beat_codes = codes[np.clip(times.astype(int), 0, len(codes) - 1)]
    return {"times": times, "series": rhythm.beat_series(times, context),
            "af": np.isin(beat_codes, AF_LABELS), "reference": reference,
            "duration": record.duration_s}


def fit_classical(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The logistic AF model of the window statistics, balanced between AF and not."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([rhythm.window_statistics(r["series"]) for r in records])
    y = np.concatenate([r["af"] for r in records])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    model.fit((x - mean) / scale, y)
    return {"statistics": list(rhythm.STATISTICS), "mean": mean.round(6).tolist(),
            "scale": scale.round(6).tolist(), "coefficients": model.coef_[0].round(6).tolist(),
            "intercept": round(float(model.intercept_[0]), 6)}


def runtime_section(data: str | None = None) -> dict[str, Any]:
    """The card's ``runtime.rhythm``: the AF model fitted on every DS1 record."""
    records = [record_series(name, data) for name in mitdb.DS1]
    return {"af_threshold": AF_THRESHOLD, "af_parameters": fit_classical(records),
            "v_min_qrs_difference": V_MIN_QRS_DIFFERENCE, "chosen_by": CHOSEN_BY}
