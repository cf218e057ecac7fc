"""One call from an ECG record to every beat's class, the record summary and, per beat, the
saliency over time: what the ECG page and ``python -m dxcore predict ecg-beats`` show.

Steps: pick the lead (MLII by default), resample to 360 Hz, take the beat positions from
the record's reference annotations or detect them (XQRS), build each beat's inputs, classify
all beats in one batched model call, summarise. Beat positions are reported at the input's
own sampling rate.

Example (needs the shipped model and the MIT-BIH data):
    >>> from dxcore import get_model                                   # doctest: +SKIP
    >>> from dxcore.ecg import load_record, analyse_record, beat_saliency  # doctest: +SKIP
    >>> model = get_model("ecg-beats")                                  # doctest: +SKIP
    >>> analysis = analyse_record(model, load_record("mitdb/208"))      # doctest: +SKIP
    >>> analysis.summary["beats_per_class"]                             # doctest: +SKIP
    {'N': 1586, 'S': 4, 'V': 990, 'F': 375}
    >>> beat_saliency(model, analysis, 10).saliency.shape               # doctest: +SKIP
    (128,)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dxcore.ecg import beats as beat_positions
from dxcore.ecg import features
from dxcore.ecg.record import MODEL_FS, EcgRecord, resample, to_rate
from dxcore.ecg.summary import summarise
from dxcore.errors import DxError

REFERENCE = "reference annotations"
DETECTED = "detected (XQRS)"


@dataclass
class RecordAnalysis:
    """Every beat of one record: position, class and calibrated probabilities."""

    record: EcgRecord
    lead: str
    samples: np.ndarray            # at the record's own rate
    labels: np.ndarray             # predicted class per beat
    probabilities: np.ndarray      # (beats, classes)
    class_names: list[str]
    inputs: dict[str, np.ndarray]  # the model inputs, kept for the saliency of any beat
    summary: dict[str, Any]
    reference_labels: np.ndarray | None = None  # AAMI class of each reference beat
    notes: list[str] = field(default_factory=list)

    @property
    def fs(self) -> float:
        return self.record.fs

    @property
    def times(self) -> np.ndarray:
        """Beat times in seconds from the start of the record."""
        return self.samples / self.fs

    def beats_json(self, decimals: int = 4) -> list[dict[str, Any]]:
        return [{"sample": int(s), "prediction": str(label),
                 "probabilities": {n: round(float(p), decimals)
                                   for n, p in zip(self.class_names, row, strict=True)}}
                for s, label, row in zip(self.samples, self.labels, self.probabilities,
                                         strict=True)]

    def as_json(self) -> dict[str, Any]:
        return {"fs": self.fs, "beats": self.beats_json(), "summary": self.summary}


@dataclass
class BeatSaliency:
    """One beat's model input and its saliency, both over ``times_s`` (seconds from the R
    peak); ``start_s`` places the window on the record."""

    times_s: np.ndarray
    waveform: np.ndarray
    saliency: np.ndarray
    predicted: str
    explained_class: str
    method: str
    start_s: float


def beat_positions_of(record: EcgRecord, signal: np.ndarray,
                      use_reference: bool) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Beat samples at 360 Hz, their reference classes if any, and where they came from."""
    annotations = record.annotations
    if use_reference and annotations is not None:
        samples, labels = beat_positions.reference_beats(annotations.symbol, annotations.sample)
        inside = (samples >= 0) & (samples < len(record.signals))
        if inside.sum() >= 2:
            return to_rate(samples[inside], record.fs, MODEL_FS), labels[inside], REFERENCE
    return beat_positions.detect_beats(signal, MODEL_FS), None, DETECTED


def analyse_record(model, record: EcgRecord, lead: str | None = None,
                   use_reference: bool = True) -> RecordAnalysis:
    """Classify every beat of ``record`` with ``model`` (an ``EcgModel``)."""
    lead_name, signal = record.lead(lead)
    signal = resample(signal, record.fs, MODEL_FS)
    samples, reference_labels, source = beat_positions_of(record, signal, use_reference)
    samples = np.clip(samples, 0, len(signal) - 1)
    if len(samples) < 2:
        raise DxError("No heartbeats could be found in this signal. Check that it is an ECG "
                      "lead and that the sampling rate is right.")
    inputs = features.model_inputs(signal, samples)
    probabilities = model.probabilities_batch(model.prepare(inputs))
    labels = model.decide(probabilities)
    own_samples = np.clip(to_rate(samples, MODEL_FS, record.fs), 0, len(record.signals) - 1)
    summary = summarise(own_samples / record.fs, labels, record.duration_s,
                        model.card.class_names)
    summary.update({"lead": lead_name, "beat_positions": source})
    if reference_labels is not None:
        summary["reference_agreement"] = agreement(reference_labels, labels,
                                                   model.card.class_names)
    return RecordAnalysis(record=record, lead=lead_name, samples=own_samples, labels=labels,
                          probabilities=probabilities, class_names=model.card.class_names,
                          inputs=inputs, summary=summary,
                          reference_labels=reference_labels, notes=list(record.notes))


def agreement(reference: np.ndarray, predicted: np.ndarray, classes: list[str]) -> dict:
    """How far the predictions agree with the reference classes, over beats of the model's
    classes (reference Q beats are left out)."""
    scored = np.isin(reference, classes)
    agreed = (reference == predicted) & scored
    return {
        "beats": int(scored.sum()),
        "agreement_percent": round(100.0 * agreed.sum() / max(scored.sum(), 1), 2),
        "per_class": {name: {"reference": int((reference == name).sum()),
                             "agreed": int((agreed & (reference == name)).sum())}
                      for name in classes},
    }


def beat_saliency(model, analysis: RecordAnalysis, index: int, method: str = "gradcam",
                  class_name: str | None = None) -> BeatSaliency:
    """The saliency of beat ``index`` for its predicted class (or ``class_name``):
    ``gradcam`` (Grad-CAM on the last convolution) or ``saliency`` (gradient)."""
    from dxcore.explain import SIGNAL_EXPLAINERS, get_explainer

    if not 0 <= index < len(analysis.labels):
        raise DxError(f"There is no beat {index}; the record has {len(analysis.labels)}.")
    explained = class_name or str(analysis.labels[index])
    if explained not in analysis.class_names:
        raise DxError(f"Unknown class '{explained}'. Choose one of: "
                      f"{', '.join(analysis.class_names)}.")
    x = model.prepare({k: v[index:index + 1] for k, v in analysis.inputs.items()})
    saliency = get_explainer(method, SIGNAL_EXPLAINERS)(
        model.keras_model, x, analysis.class_names.index(explained),
        model.card.get("explainer_layer", "last_conv"))
    times = features.window_times()
    return BeatSaliency(times_s=times, waveform=x[0][0, :, 0], saliency=saliency,
                        predicted=str(analysis.labels[index]), explained_class=explained,
                        method=method, start_s=float(analysis.times[index] + times[0]))
