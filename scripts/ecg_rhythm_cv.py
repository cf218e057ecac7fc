"""Record-grouped cross-validation of the AF/flutter detectors on MIT-BIH DS1 (no DS2 record
is read): the figures the rhythm detector was chosen on.

Every DS1 record is read as a new patient's would be: its beats detected from the signal
(no ``.atr``), each beat's context computed as for the beat model. Each record is held
out once (leave-one-record-out: only 201 and 203 hold AF or flutter, so every fold keeps
one of them in training, or both); the held-out record's AF is scored second by second
against its reference rhythm annotations (AFIB and AFL are AF), pooled and per record:

- ``classical``: a logistic model of the RR-irregularity window statistics
  (:func:`dxcore.ecg.rhythm.window_statistics`);
- ``gru``: a bidirectional GRU reading the per-beat series
  (:func:`dxcore.ecg.rhythm.beat_series`) and giving each beat a probability of AF,
  with ``--seeds`` seeds.

Both go through the same smoothing and minimum episode length (:func:`af_beats`) at the
threshold given by ``--threshold``. Out-of-fold probabilities are saved
(``runs/rhythm-cv/TAG.npz``). ``--fit`` prints the classical model fitted on all of DS1,
as the card's ``runtime.rhythm`` keeps it.

Usage:
    nice -n 10 python scripts/ecg_rhythm_cv.py --models classical gru --seeds 0 1 2
    nice -n 10 python scripts/ecg_rhythm_cv.py --models classical --fit
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from dxcore.ecg import mitdb, rhythm  # noqa: E402
from dxcore.ecg.rhythm_fit import AF_THRESHOLD, fit_classical, record_series  # noqa: E402
from dxcore.ecg.rhythm_labels import AF_LABELS  # noqa: E402

OUT = Path("runs/rhythm-cv")


def scores(records: dict[str, dict], probability: dict[str, np.ndarray],
           threshold: float) -> dict:
    """Second-by-second AF sensitivity and PPV pooled, and each record's AF burden."""
    true_positive = reference_total = predicted_total = 0
    per_record = {}
    for name, data in records.items():
        in_af = rhythm.af_beats(probability[name], data["times"], threshold)
        labels = np.full(len(in_af), "N")
        predicted = rhythm.per_second(rhythm.rhythm_episodes(data["times"], labels, in_af,
                                                             data["duration"]),
                                      data["duration"])
        reference = rhythm.per_second(data["reference"], data["duration"])
        p, r = np.isin(predicted, AF_LABELS), np.isin(reference, AF_LABELS)
        true_positive += int((p & r).sum())
        reference_total += int(r.sum())
        predicted_total += int(p.sum())
        per_record[name] = {"reference_burden": round(100 * r.mean(), 1),
                            "burden": round(100 * p.mean(), 1)}
    errors = [abs(v["burden"] - v["reference_burden"]) for v in per_record.values()]
    return {"sensitivity": round(true_positive / max(reference_total, 1), 4),
            "ppv": round(true_positive / max(predicted_total, 1), 4),
            "max_burden_error": round(max(errors), 1),
            "records_over_5_points": [n for n, v in per_record.items()
                                      if abs(v["burden"] - v["reference_burden"]) > 5],
            "per_record": per_record}


SEQUENCE = 128


def fit_gru(records: list[dict], seed: int, epochs: int = 12):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    xs, ys = [], []
    for r in records:
        for start in range(0, max(len(r["times"]) - SEQUENCE, 1), SEQUENCE // 4):
            window = slice(start, start + SEQUENCE)
            if len(r["times"][window]) == SEQUENCE:
                xs.append(r["series"][window])
                ys.append(r["af"][window])
    x, y = np.stack(xs), np.stack(ys).astype(np.float32)[..., None]
    positive = y.mean()
    weight = np.where(y[..., 0] > 0, 0.5 / positive, 0.5 / (1 - positive))
    inputs = keras.Input((None, x.shape[-1]), name="series")
    h = layers.Bidirectional(layers.GRU(16, return_sequences=True), name="bigru")(inputs)
    h = layers.Dropout(0.2)(h)
    outputs = layers.Dense(1, activation="sigmoid", name="af")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    model.fit(x, y, sample_weight=weight, batch_size=32, epochs=epochs, verbose=0,
              shuffle=True)
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["classical"],
                        choices=["classical", "gru"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threshold", type=float, default=AF_THRESHOLD)
    parser.add_argument("--fit", action="store_true",
                        help="print the classical model fitted on all DS1 records")
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.time()
    records = {name: record_series(name, args.data) for name in mitdb.DS1}
    print(f"DS1 read, beats detected: {time.time() - started:.0f} s", flush=True)
    results = {}
    if "classical" in args.models:
        probability = {}
        for name in records:
            parameters = fit_classical([r for n, r in records.items() if n != name])
            probability[name] = rhythm.classical_af_probability(records[name]["series"],
                                                                parameters)
        np.savez(OUT / "classical.npz", **probability)
        results["classical"] = scores(records, probability, args.threshold)
    if "gru" in args.models:
        for seed in args.seeds:
            probability = {}
            for name in records:
                model = fit_gru([r for n, r in records.items() if n != name], seed)
                probability[name] = model(records[name]["series"][None], training=False)
                probability[name] = np.asarray(probability[name])[0, :, 0]
            np.savez(OUT / f"gru-seed{seed}.npz", **probability)
            results[f"gru seed {seed}"] = scores(records, probability, args.threshold)
            print(f"gru seed {seed}: {time.time() - started:.0f} s", flush=True)
    for name, result in results.items():
        brief = {k: v for k, v in result.items() if k != "per_record"}
        print(f"{name} (threshold {args.threshold}): {json.dumps(brief)}")
        af_records = {k: v for k, v in result["per_record"].items()
                      if v["reference_burden"] > 0 or v["burden"] > 0}
        print(f"  records with AF either side: {json.dumps(af_records)}")
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    if args.fit:
        print("classical model fitted on all DS1 records (runtime.rhythm.parameters):")
        print(json.dumps(fit_classical(list(records.values()))))
    print(f"{time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
