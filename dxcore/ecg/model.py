"""ECG records behind the one contract: one item per beat, the record's summary as the
detail, and per beat the saliency over time.

Steps: read (WFDB, EDF or CSV; :mod:`dxcore.ecg.reader`), pick the lead (MLII, else lead
II, else another limb lead; :meth:`dxcore.ecg.record.EcgRecord.lead`), resample to 360 Hz,
take the beat positions from the record's reference annotations or detect them (XQRS and a
search-back, with a second lead when the record has one; :mod:`dxcore.ecg.detection`),
build each beat's inputs (:mod:`dxcore.ecg.preprocessing`), classify all beats in one
batched pass, read the rhythm and the beats with it (:mod:`dxcore.ecg.rhythm`), summarise
(with detected beats, where the detection is unsure). Beat positions are reported at the
input's own sampling rate.

Example (needs the shipped model and the MIT-BIH data)::

    from dxcore import get_model
    model = get_model("ecg-beats")
    result = model.predict("mitdb/208")
    result.detail.summary["beats_per_class"]
    # -> {'N': 1586, 'S': 4, 'V': 990, 'F': 375}
    model.explain(result, "gradcam", item=10).detail.saliency.shape
    # -> (128,)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dxcore.contract import AskedOption, DxModel, Prepared, Result, is_upload
from dxcore.ecg import beats as beat_positions
from dxcore.ecg import mitdb, preprocessing, quality, rhythm
from dxcore.ecg.detection import find_beats
from dxcore.ecg.reader import load_record, load_uploads
from dxcore.ecg.record import (
    MAX_FS,
    MIN_FS,
    MODEL_FS,
    EcgRecord,
    bridge,
    check_record,
    resample,
    to_rate,
)
from dxcore.ecg.rhythm_labels import RHYTHM_LABELS
from dxcore.ecg.summary import MISSED, NOISY, PAUSE_S, UNCLASSIFIABLE, clock, summarise
from dxcore.errors import DxError, OutOfDomain
from dxcore.explain import Explanation

REFERENCE = "reference annotations"
DETECTED = "detected (XQRS and a search-back)"


@dataclass
class RecordAnalysis:
    """Every beat of one record: position, class and calibrated probabilities."""

    record: EcgRecord
    lead: str
    samples: np.ndarray            # at the record's own rate
    labels: np.ndarray             # predicted class per beat
    probabilities: np.ndarray      # (beats, classes)
    class_names: list[str]
    summary: dict[str, Any]
    reference_labels: np.ndarray | None = None  # AAMI class of each reference beat
    notes: list[str] = field(default_factory=list)
    prediction_sets: list[list[str]] | None = None  # per beat (dxcore.conformal)
    # Per beat why it is class Q ("noisy segment", "paced beat ..."), "" when classified.
    unclassifiable_reasons: np.ndarray | None = None
    paced: str | None = None  # the evidence of a paced rhythm, in words
    # Rhythm episodes covering the record (:mod:`dxcore.ecg.rhythm`): dicts with "label"
    # (MIT-BIH rhythm code without the bracket), "start_s" and "end_s".
    rhythm: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fs(self) -> float:
        return self.record.fs

    @property
    def times(self) -> np.ndarray:
        """Beat times in seconds from the start of the record."""
        return self.samples / self.fs

    def beats_json(self, explanations: dict[int, Explanation] | None = None,
                   decimals: int = 4) -> list[dict[str, Any]]:
        beats = [{"sample": int(s), "prediction": str(label),
                  "probabilities": {n: round(float(p), decimals)
                                    for n, p in zip(self.class_names, row, strict=True)}}
                 for s, label, row in zip(self.samples, self.labels, self.probabilities,
                                          strict=True)]
        for beat, reason in zip(beats, self.unclassifiable_reasons, strict=False):
            if reason:
                beat["reason"] = reason
        for beat, prediction_set in zip(beats, self.prediction_sets or [], strict=False):
            beat["prediction_set"] = prediction_set
        for item, explanation in (explanations or {}).items():
            beats[item]["explanation"] = explanation.as_json()
        return beats

    def as_json(self, result: Result, explanations: dict[int, Explanation]) -> list[dict]:
        line: dict[str, Any] = {"model": result.model_id, "fs": self.fs,
                                "beats": self.beats_json(explanations), "summary": self.summary,
                                "rhythm": self.rhythm}
        if self.notes:
            line["notes"] = self.notes
        return [line]

    def text(self, result: Result) -> list[str]:
        summary = self.summary
        counts = ", ".join(f"{k} {v}" for k, v in summary["beats_per_class"].items())
        flag = [f"PACED RHYTHM ({self.paced}): {quality.PACED_NOTE}"] if self.paced else []
        rhythm_line = []
        if self.rhythm:
            seconds: dict[str, float] = {}
            for episode in self.rhythm:
                seconds[episode["label"]] = (seconds.get(episode["label"], 0.0)
                                             + episode["end_s"] - episode["start_s"])
            shares = ", ".join(f"{RHYTHM_LABELS.get(code, code)} "
                               f"{100 * t / self.record.duration_s:.0f}%"
                               for code, t in sorted(seconds.items(), key=lambda kv: -kv[1]))
            rhythm_line = [f"rhythm: {shares}; AF burden {summary['af_burden_percent']}%"]
        return [*flag, *rhythm_line, f"{summary['beats']} beats ({counts}); mean heart rate "
                f"{summary['mean_heart_rate_bpm']} bpm; ectopic burden "
                f"{summary['ectopic_burden_percent']}%; longest V run "
                f"{summary['longest_v_run']}"]


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

    @property
    def peak_s(self) -> float:
        """Where the saliency peaks, in seconds from the R peak."""
        return round(float(self.times_s[int(np.argmax(self.saliency))]), 4)

    def as_json(self) -> dict[str, Any]:
        return {"peak_s": self.peak_s}

    def text(self) -> list[str]:
        return [f"beat at {self.start_s - self.times_s[0]:.2f} s ({self.predicted}): "
                f"{self.method} peaks {self.peak_s * 1000:+.0f} ms from the R peak"]


def detection_leads(record: EcgRecord, lead: str, signal: np.ndarray) -> np.ndarray:
    """The leads the beat detection reads (samples x leads at 360 Hz): the analysed lead
    ``lead`` (``signal``, at 360 Hz already), then the record's first other usable lead
    (gaps bridged as in :meth:`EcgRecord.lead`) when it has one."""
    for name in record.lead_names:
        if name.strip().lower() == lead.strip().lower():
            continue
        try:
            _, other, _ = record.lead(name)
        except DxError:  # all missing, mostly missing or flat (OutOfDomain is a DxError)
            continue
        return np.column_stack([signal, resample(other, record.fs, MODEL_FS)])
    return signal[:, None]


def beat_positions_of(record: EcgRecord, leads: np.ndarray,
                      use_reference: bool) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Beat samples at 360 Hz, their reference classes if any, and where they came from;
    ``leads`` (samples x leads at 360 Hz, the analysed lead first) are searched when the
    record has no reference beats or ``use_reference`` is False."""
    annotations = record.annotations
    if use_reference and annotations is not None:
        samples, labels = beat_positions.reference_beats(annotations.symbol, annotations.sample)
        inside = (samples >= 0) & (samples < len(record.signals))
        if inside.sum() >= 2:
            return to_rate(samples[inside], record.fs, MODEL_FS), labels[inside], REFERENCE
    return find_beats(leads, MODEL_FS), None, DETECTED


def doubt_note(doubts: list[dict], listed: int = 5) -> str:
    """The note that says where the beat detection is unsure (the summary's
    ``detection_doubts``), with the first ``listed`` places.

    >>> print(doubt_note([{"start_s": 61.2, "end_s": 63.0, "reason": MISSED},
    ...                   {"start_s": 600.0, "end_s": 620.0, "reason": NOISY}]))
    Beat detection is unsure in 2 places (1:01, 10:00): 1 long RR interval holds a
    beat-like deflection that was not counted as a beat, and 1 noisy stretch could not be
    read. Beats may be missing there, so the beat counts, rates and episodes may be off;
    check them on the strip.
    """
    missed = sum(d["reason"] == MISSED for d in doubts)
    noisy = sum(d["reason"] == NOISY for d in doubts)
    parts = ([f"{missed} long RR interval{'s' if missed > 1 else ''} "
              f"hold{'' if missed > 1 else 's'} a beat-like deflection that was not counted "
              "as a beat"] if missed else [])
    parts += [f"{noisy} noisy stretch{'es' if noisy > 1 else ''} could not be read"] if noisy \
        else []
    places = ", ".join(clock(d["start_s"], tenths=False) for d in doubts[:listed])
    more = ", ..." if len(doubts) > listed else ""
    return (f"Beat detection is unsure in {len(doubts)} place{'s' if len(doubts) > 1 else ''} "
            f"({places}{more}): {', and '.join(parts)}. Beats may be missing there, so the "
            "beat counts, rates and episodes may be off; check them on the strip.")


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


class EcgModel(DxModel):
    """Beat classifiers: every beat of a record goes through the network in one pass; each
    beat's class follows the card's decision rule (the highest calibrated log-probability
    plus a per-class offset; a class without one is never returned)."""

    modality = "ecg"
    # Beats per forward pass: 8,192 at once took 290 MB of activations on an hour-long
    # record, 1,024 take an eighth of that, at about the same speed on a CPU.
    batch_size = 1024
    # A CSV without a usable time column: its rate, within what the record's checks accept.
    asked_options = {"fs": AskedOption(
        "fs", "Sampling rate (Hz)", MIN_FS, MAX_FS,
        "The rate the ECG was recorded at, in samples per second (e.g. 250, 360 or 500): "
        "the file has no usable time column to read it from.")}

    def read(self, source: Any, fs: float | None = None, **options: Any) -> EcgRecord:
        """A record: an :class:`EcgRecord`, a path (CSV, ``.hea`` or a WFDB record name),
        or uploaded files ``{name: bytes}`` (one CSV, or a record's .hea/.dat(/.atr));
        ``fs`` is a CSV's sampling rate when it has no usable time column."""
        if isinstance(source, EcgRecord):
            return check_record(source)  # decoded elsewhere: the readers' checks all the same
        if is_upload(source):
            return load_uploads(source, fallback_fs=fs)
        if isinstance(source, str | Path):
            return load_record(source, fs=fs)
        raise DxError("This model reads ECG records (WFDB or CSV).")

    @staticmethod
    def network_input(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The network's two inputs in its order, from
        :func:`dxcore.ecg.preprocessing.model_inputs`."""
        return [np.asarray(inputs["beat"], np.float32), np.asarray(inputs["context"], np.float32)]

    def preprocess(self, decoded: EcgRecord, lead: str | None = None,
                   use_reference: bool = True, **options: Any) -> Prepared:
        """The lead at 360 Hz, the beat positions (reference or detected) and each beat's
        inputs; ``use_reference=False`` ignores the record's annotations."""
        lead_name, signal, notes = decoded.lead(lead)
        if abs(decoded.fs - MODEL_FS) > 1e-9:
            notes.append(f"The record was sampled at {decoded.fs:g} Hz; it was resampled to "
                         f"{MODEL_FS} Hz, the rate the model was trained on (polyphase "
                         "filter). Beat positions are given at the record's own rate.")
        signal = resample(signal, decoded.fs, MODEL_FS)
        leads = detection_leads(decoded, lead_name, signal)
        samples, reference_labels, source = beat_positions_of(decoded, leads, use_reference)
        samples = np.clip(samples, 0, len(signal) - 1)
        if len(samples) < 2:  # not an ECG the model can read: no answer (the guard's 2)
            raise OutOfDomain("No heartbeats could be found in this signal. Check that it is "
                              "an ECG lead and that the sampling rate is right.",
                              domain_score=2.0)
        x = self.network_input(preprocessing.model_inputs(signal, samples))
        own_samples = np.clip(to_rate(samples, MODEL_FS, decoded.fs), 0,
                              len(decoded.signals) - 1)
        context = {"lead": lead_name, "samples": own_samples,
                   "reference_labels": reference_labels, "source": source, "leads": leads}
        guard = self.card.domain_guard
        if guard is not None:  # a card without a fitted guard analyses every beat
            context["quality"] = self.assess(decoded, signal, samples, source, guard)
        training = mitdb.training_record_note(decoded)  # its classes are no test then
        return Prepared(x, decoded, context,
                        notes=[*decoded.notes, *notes, *([training] if training else [])])

    @staticmethod
    def assess(record: EcgRecord, signal: np.ndarray, samples: np.ndarray, source: str,
               guard: dict) -> quality.Assessment:
        """The lead's quality (:mod:`dxcore.ecg.quality`): reference annotations that do
        not fit the signal are refused here; the unreadable and paced beats are marked."""
        annotated_paced = None
        if source == REFERENCE:
            quality.check_annotations(signal, samples, guard)
            annotations = record.annotations
            is_beat = beat_positions.aami_labels(annotations.symbol) != ""
            inside = (annotations.sample >= 0) & (annotations.sample < len(record.signals))
            annotated_paced = np.isin(annotations.symbol[is_beat & inside],
                                      quality.PACED_SYMBOLS)
        # Every lead with a value, its gaps bridged before resampling (the filter would
        # spread a NaN or an infinity over its neighbours), as the analysed lead's are.
        leads = [resample(bridge(lead)[0], record.fs, MODEL_FS) for lead in record.signals.T
                 if np.isfinite(lead).any()]
        return quality.assess(signal, leads, samples, guard, annotated_paced)

    def check_domain(self, prepared: Prepared, outputs: dict[str, np.ndarray]) -> None:
        """Refuse a signal that is mostly unreadable as an ECG (:mod:`dxcore.ecg.quality`)."""
        if "quality" in prepared.context:
            quality.refuse_if_not_ecg(prepared.context["quality"])

    def describe(self, prepared: Prepared, result: Result) -> RecordAnalysis:
        """The record's analysis. Beats the quality check found unclassifiable (noisy or
        paced) become class Q here, in ``result.decisions`` and their prediction sets too
        (``["Q"]``), before anything is counted (see :mod:`dxcore.ecg.quality`)."""
        record, context = prepared.decoded, prepared.context
        names = self.card.class_names
        times = context["samples"] / record.fs
        in_af = self.read_rhythm(prepared, result, times)
        assessment: quality.Assessment | None = context.get("quality")
        reasons, paced = None, None
        if assessment is not None:
            reasons, paced = assessment.reasons, assessment.paced
            unclassifiable = reasons != ""
            result.decisions = np.where(unclassifiable, UNCLASSIFIABLE, result.decisions)
            if result.prediction_sets is not None:
                result.prediction_sets = [[UNCLASSIFIABLE] if q else s for s, q in
                                          zip(result.prediction_sets, unclassifiable,
                                              strict=True)]
            if paced:
                result.notes.insert(0, f"{quality.PACED_NOTE} (Evidence: {paced}.)")
        # Detected beats can miss some: their long RR intervals are checked in the leads
        # and the noisy stretches marked before anything is called a pause (reference
        # beats are taken as they are).
        detected = context["source"] == DETECTED
        noisy = assessment.noisy_s if assessment is not None and detected else []
        summary = summarise(context["samples"] / record.fs, result.decisions,
                            record.duration_s, [*names, UNCLASSIFIABLE],
                            signal=context["leads"] if detected else None, fs=MODEL_FS,
                            noisy=noisy)
        held = summary["pauses_with_a_beat"]
        if held:
            result.notes.append(
                f"{held} RR interval{'s' if held > 1 else ''} over {PAUSE_S:g} s "
                f"hold{'' if held > 1 else 's'} a beat-like deflection that the beat "
                "detection missed, so they are not listed as pauses; check them on the strip.")
        if summary["detection_doubts"]:
            result.notes.append(doubt_note(summary["detection_doubts"]))
        episodes = []
        if in_af is not None:
            episodes = rhythm.rhythm_episodes(times, result.decisions, in_af,
                                              record.duration_s)
            summary["af_burden_percent"] = rhythm.af_burden_percent(episodes,
                                                                    record.duration_s)
            notable = rhythm.notable_episodes(episodes, times)
            summary["episodes"] = sorted([*summary["episodes"], *notable],
                                         key=lambda e: (e["start_s"], e["kind"]))
            summary["episodes_total"] += len(notable)
        summary.update({"lead": context["lead"], "beat_positions": context["source"],
                        "paced_rhythm": paced})
        if result.prediction_sets is not None:
            summary["uncertain_beats"] = sum(len(s) > 1 for s in result.prediction_sets)
            summary["prediction_set_coverage"] = result.coverage
        reference = context["reference_labels"]
        if reference is not None:
            summary["reference_agreement"] = agreement(reference, result.decisions, names)
        return RecordAnalysis(record=record, lead=context["lead"], samples=context["samples"],
                              labels=result.decisions, probabilities=result.probabilities,
                              class_names=names, summary=summary,
                              reference_labels=reference, notes=result.notes,
                              prediction_sets=result.prediction_sets,
                              unclassifiable_reasons=reasons, paced=paced,
                              rhythm=episodes)

    def read_rhythm(self, prepared: Prepared, result: Result,
                    times: np.ndarray) -> np.ndarray | None:
        """Which beats are in atrial fibrillation or flutter (:mod:`dxcore.ecg.rhythm`),
        and the beat classes read with that rhythm (``result.decisions``, in place); None
        for a card without a rhythm analysis."""
        context_features = prepared.x[1]
        in_af = self.af_beats(times, context_features)
        if in_af is not None:
            result.decisions = self.read_with_rhythm(result.decisions, result.probabilities,
                                                     in_af, context_features)
        return in_af

    def af_beats(self, times: np.ndarray, context_features: np.ndarray) -> np.ndarray | None:
        """Per beat, whether it lies in atrial fibrillation or flutter (the card's AF
        model); None for a card without a rhythm analysis."""
        parameters = self.card.rhythm
        if parameters is None:
            return None
        series = rhythm.beat_series(times, context_features)
        probability = rhythm.classical_af_probability(series, parameters["af_parameters"])
        return rhythm.af_beats(probability, times, parameters["af_threshold"])

    def read_with_rhythm(self, decisions: np.ndarray, probabilities: np.ndarray,
                         in_af: np.ndarray, context_features: np.ndarray) -> np.ndarray:
        """The beat classes read with the rhythm (:func:`rhythm.conditioned_decisions`)."""
        return rhythm.conditioned_decisions(decisions, probabilities, self.card.class_names,
                                            in_af, context_features,
                                            self.card.rhythm["v_min_qrs_difference"])

    def describe_explanation(self, result: Result, explanation: Explanation) -> BeatSaliency:
        analysis: RecordAnalysis = result.detail
        times = preprocessing.window_times()
        item = explanation.item
        return BeatSaliency(times_s=times, waveform=result.model_input[0][item, :, 0],
                            saliency=explanation.values,
                            predicted=str(result.decisions[item]),
                            explained_class=explanation.class_name, method=explanation.method,
                            start_s=float(analysis.times[item] + times[0]))

    def explained_items(self, result: Result) -> list[int]:
        """The command line explains the beats not called N: the ones a reader checks."""
        return np.flatnonzero(~np.isin(result.decisions, ["N", UNCLASSIFIABLE])).tolist()
