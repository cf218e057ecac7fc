"""The ``ecg-beats`` test measurement on MIT-BIH DS2 (22 records, never used for a
choice): at the reference beat positions and end to end with detected beats, the beat
detector's own figures, and the rhythm found from the signal alone (AF/flutter second by
second against the reference rhythm notes, each record's AF burden); 95% CIs by
bootstrapping records. Beats are read with the rhythm as a prediction reads them
(:meth:`dxcore.ecg.model.EcgModel.read_with_rhythm`). ``test_predictions`` gives the DS2
reference beats' logits for the coverage of the prediction sets."""

from __future__ import annotations

import numpy as np

from dxcore.ecg import mitdb, rhythm
from dxcore.ecg.beats import MODEL_CLASSES as CLASSES
from dxcore.ecg.record import MODEL_FS
from dxcore.ecg.rhythm_labels import AF_LABELS
from dxcore.predictions import Predictions


def beat_ids(beats: mitdb.BeatSet) -> list[str]:
    """A case id per beat: ``"record 100 sample 1234"`` (the sample at 360 Hz)."""
    return [f"record {r} sample {int(s)}"
            for r, s in zip(beats.records, beats.samples, strict=True)]


def class_indices(labels: np.ndarray) -> np.ndarray:
    """Each AAMI label's index in the model's classes (N, S, V, F)."""
    return (np.asarray(labels)[:, None] == np.asarray(CLASSES)).argmax(axis=1)


def test_predictions(model, data: str | None = None) -> Predictions:
    """DS2 reference beats of the four classes (Q left out, as in the metrics) with the
    network's logits, for the test coverage of the prediction sets."""
    beats = mitdb.load_beats(mitdb.DS2, data)
    beats = beats.subset(np.flatnonzero(np.isin(beats.labels, CLASSES)))
    logits = model.forward(model.network_input(beats.inputs))["logits"]
    return Predictions(beat_ids(beats), class_indices(beats.labels), logits,
                       f"DS2 reference beats ({len(beats.labels):,} beats of N, S, V, F, "
                       "22 records)", groups=beats.records.astype(str).tolist())


def end_to_end(model, data: str | None = None) -> dict[str, np.ndarray]:
    """DS2 with detected beats (XQRS and the search-back of :mod:`dxcore.ecg.detection`,
    MLII and the second lead), as an upload without annotations is analysed.

    Returns per-beat ``labels``/``predicted``/``records`` for the classification (reference
    N, S, V, F beats; ``-`` marks a missed beat or a false detection) and per-record
    detection counts against every reference beat (Q included) within 150 ms.
    """
    from dxcore.ecg.beats import match_beats, reference_beats

    labels, predicted, records, detection, rhythms = [], [], [], [], {}
    for name in mitdb.DS2:
        record = mitdb.read_record(name, data)
        reference, reference_labels = reference_beats(record.annotations.symbol,
                                                      record.annotations.sample)
        analysis = model.predict(record, lead=mitdb.LEAD, use_reference=False).detail
        rhythms[name] = analysis.rhythm
        matched_reference, matched_detected = match_beats(reference, analysis.samples,
                                                          record.fs)
        detection.append((len(matched_reference), len(reference), len(analysis.samples)))
        called = np.full(len(reference), "-", dtype="<U1")
        called[matched_reference] = analysis.labels[matched_detected]
        scored = np.isin(reference_labels, CLASSES)
        false = np.setdiff1d(np.arange(len(analysis.samples)), matched_detected)
        labels += [reference_labels[scored], np.full(len(false), "-")]
        predicted += [called[scored], analysis.labels[false]]
        records += [np.full(scored.sum() + len(false), name)]
    return {"labels": np.concatenate(labels), "predicted": np.concatenate(predicted),
            "records": np.concatenate(records), "detection": np.array(detection),
            "detection_records": np.array(mitdb.DS2), "rhythm": rhythms}


def read_with_rhythm(model, beats: mitdb.BeatSet, decisions: np.ndarray,
                     probabilities: np.ndarray) -> np.ndarray:
    """Each record's decisions at the reference positions read with the rhythm found on
    those beats, as a prediction from a record with its annotations reads them."""
    decisions = np.asarray(decisions).copy()
    for name in np.unique(beats.records):
        rows = np.flatnonzero(beats.records == name)
        context = beats.inputs["context"][rows]
        in_af = model.af_beats(beats.samples[rows] / MODEL_FS, context)
        if in_af is not None:
            decisions[rows] = model.read_with_rhythm(decisions[rows], probabilities[rows],
                                                     in_af, context)
    return decisions


def test_decisions(model, cases: Predictions, data: str | None = None) -> np.ndarray:
    """The classes of the DS2 reference beats (``cases``, :func:`test_predictions`) as a
    prediction gives them: the card's rule, then read with each record's rhythm."""
    probabilities = cases.probabilities(model.card.temperature)
    beats = mitdb.load_beats(mitdb.DS2, data)
    beats = beats.subset(np.flatnonzero(np.isin(beats.labels, CLASSES)))
    if beat_ids(beats) != list(cases.case_ids):
        raise ValueError("the test cases are not the DS2 reference beats")
    return read_with_rhythm(model, beats, model.rule.decide(probabilities), probabilities)


def rhythm_report(found: dict[str, list[dict]], data: str | None, resamples: int,
                  seed: int = 0) -> dict:
    """AF/flutter found from the signal against the reference rhythm notes, second by
    second: sensitivity and PPV pooled over the records (CIs by bootstrapping records),
    and each record's AF burden, found and reference."""
    from dxcore.metrics import bootstrap_intervals

    duration = mitdb.RECORD_SECONDS
    counts, burdens = [], {}
    for name, episodes in found.items():
        got = np.isin(rhythm.per_second(episodes, duration), AF_LABELS)
        reference = np.isin(rhythm.per_second(mitdb.reference_rhythm(name, data), duration),
                            AF_LABELS)
        counts.append(((got & reference).sum(), reference.sum(), got.sum()))
        burdens[name] = {"reference": round(100 * float(reference.mean()), 2),
                         "found": round(100 * float(got.mean()), 2)}
    counts_array = np.array(counts, dtype=np.float64)

    def metric(index: np.ndarray) -> dict[str, float]:
        both, reference, got = counts_array[index].sum(axis=0)
        return {"sensitivity": both / max(reference, 1.0), "ppv": both / max(got, 1.0)}

    point = metric(np.arange(len(counts_array)))
    intervals = bootstrap_intervals(metric, len(counts_array), resamples, seed)
    errors = {name: round(abs(b["found"] - b["reference"]), 2) for name, b in burdens.items()}
    both, reference, got = counts_array.sum(axis=0)
    return {"af_sensitivity": {"value": float(point["sensitivity"]),
                               "ci95": intervals["sensitivity"]},
            "af_ppv": {"value": float(point["ppv"]), "ci95": intervals["ppv"]},
            "af_burden_max_error_points": {"value": max(errors.values())},
            "af_burden_records_over_5_points": {
                "value": sorted(n for n, e in errors.items() if e > 5)},
            "af_burden_percent": {"value": burdens},
            "seconds": {"value": int(reference), "found": int(got), "both": int(both)},
            "what": {"value": "AF or flutter (AFIB, AFL) second by second from records read "
                              "without their annotations, against the reference rhythm "
                              "notes"}}


def detection_report(counts: np.ndarray, resamples: int, seed: int = 0) -> dict:
    """Gross sensitivity and positive predictivity with CIs by bootstrapping records."""
    from dxcore.metrics import bootstrap_intervals

    def metric(index: np.ndarray) -> dict[str, float]:
        matched, reference, detected = counts[index].sum(axis=0)
        return {"sensitivity": matched / reference, "positive_predictivity": matched / detected}

    point = metric(np.arange(len(counts)))
    intervals = bootstrap_intervals(metric, len(counts), resamples, seed)
    matched, reference, detected = counts.sum(axis=0)
    return {**{k: {"value": float(v), "ci95": intervals[k]} for k, v in point.items()},
            "n": {"value": int(reference), "matched": int(matched), "detected": int(detected),
                  "missed": int(reference - matched), "false": int(detected - matched)},
            "window_ms": 150,
            "detector": "wfdb XQRS on MLII and a search-back on MLII and the second lead "
                        "(dxcore.ecg.detection), 360 Hz",
            "reference": "all beat annotations (N, S, V, F, Q classes)"}


def evaluate(model, data: str | None = None, resamples: int = 2000,
             cases: Predictions | None = None) -> dict:
    """DS2: per-class sensitivity, PPV, F1, accuracy, macro F1 and the confusion matrix with
    95% CIs from bootstrapping records, at the reference beat positions (``cases``: their
    :func:`test_predictions`, when the caller has them already) and end to end with
    detected beats; and the detector's sensitivity and positive predictivity."""
    from dxcore.metrics import report_multiclass

    cases = cases or test_predictions(model, data)
    predicted = test_decisions(model, cases, data)
    metrics = report_multiclass(cases.label_names(list(CLASSES)), predicted, list(CLASSES),
                                groups=np.asarray(cases.groups), resamples=resamples)
    metrics["beat_positions"] = {"value": "reference annotations of the 22 DS2 records"}
    e2e = end_to_end(model, data)
    metrics["end_to_end"] = report_multiclass(
        e2e["labels"], e2e["predicted"], [*CLASSES, "-"], groups=e2e["records"],
        resamples=resamples, scored=list(CLASSES))
    metrics["end_to_end"]["beat_positions"] = {
        "value": "Detected beats matched to reference beats within 150 ms; '-' row: false "
                 "detections, '-' column: missed reference beats (counted as errors)"}
    metrics["detection"] = detection_report(e2e["detection"], resamples)
    if model.card.rhythm is not None:
        metrics["rhythm"] = rhythm_report(e2e["rhythm"], data, resamples)
    return metrics


def _class_rows(metrics: dict) -> list[str]:
    def cell(name: str) -> str:
        metric = metrics[name]
        ci = metric.get("ci95")
        return f"{metric['value']:.3f} ({ci[0]:.3f}-{ci[1]:.3f})" if ci else \
            f"{metric['value']:.3f}"

    rows = [f"{'class':6}{'sensitivity':>24}{'PPV':>24}{'F1':>24}"]
    rows += [f"{c:6}{cell(f'{c}_sensitivity'):>24}{cell(f'{c}_ppv'):>24}{cell(f'{c}_f1'):>24}"
             for c in CLASSES]
    rows.append(f"accuracy {cell('accuracy')}   macro F1 {cell('macro_f1')}")
    matrix = metrics["confusion_matrix"]
    names = matrix["classes"]
    rows.append("confusion matrix (rows: reference, columns: predicted)")
    rows.append(" " * 6 + "".join(f"{n:>8}" for n in names))
    rows += [f"{n:6}" + "".join(f"{v:>8}" for v in row)
             for n, row in zip(names, matrix["value"], strict=True)]
    return rows


def table(metrics: dict) -> str:
    """The DS2 results as plain text (``python -m dxcore evaluate ecg-beats``)."""
    detection = metrics["detection"]
    lines = ["ecg-beats on MIT-BIH DS2 (22 records), 95% CIs by bootstrapping records",
             "", "At the reference beat positions:", *_class_rows(metrics), "",
             "End to end (detected beats; '-' = missed beat / false detection):",
             *_class_rows(metrics["end_to_end"]), "",
             "Beat detection (XQRS and a search-back, 150 ms window, all reference beats):"]
    for name in ("sensitivity", "positive_predictivity"):
        low, high = detection[name]["ci95"]
        lines.append(f"  {name:22} {detection[name]['value']:.4f} ({low:.4f}-{high:.4f})")
    n = detection["n"]
    lines.append(f"  reference {n['value']}, detected {n['detected']}, missed {n['missed']}, "
                 f"false {n['false']}")
    if "rhythm" in metrics:
        found = metrics["rhythm"]
        lines += ["", "Rhythm from the signal alone (AF/flutter, second by second):"]
        for name in ("af_sensitivity", "af_ppv"):
            low, high = found[name]["ci95"]
            lines.append(f"  {name:22} {found[name]['value']:.4f} ({low:.4f}-{high:.4f})")
        lines.append(f"  AF burden: largest error "
                     f"{found['af_burden_max_error_points']['value']:.1f} points; records "
                     f"over 5 points: {found['af_burden_records_over_5_points']['value']}")
        lines += [f"    {name}: found {b['found']:.1f} %, reference {b['reference']:.1f} %"
                  for name, b in found["af_burden_percent"]["value"].items()
                  if b["found"] or b["reference"]]
    return "\n".join(lines)
