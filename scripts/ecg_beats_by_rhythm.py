"""The DS1 cross-validation of the beat model split by rhythm (no DS2 record is read): the
out-of-fold beat decisions of ``scripts/ecg_cv.py`` scored pooled, in sinus-rhythm
stretches and in atrial fibrillation/flutter stretches (by the reference rhythm notes),
with and without reading the beats with the rhythm
(:func:`dxcore.ecg.rhythm.conditioned_decisions`).

The AF stretches a conditioned decision uses are the rhythm detector's own out-of-fold
ones (``scripts/ecg_rhythm_cv.py``'s saved probabilities, on beats detected from the
signal), never the reference: what a new patient would get.

Usage:
    nice -n 10 python scripts/ecg_cv.py --tag recipe-s0
    nice -n 10 python scripts/ecg_rhythm_cv.py --models classical --threshold 0.7
    python scripts/ecg_beats_by_rhythm.py runs/ecg-cv/recipe-s0.npz \
        --rhythm runs/rhythm-cv/classical.npz --threshold 0.7
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from ecg_cv import summary  # noqa: E402
from scipy.special import softmax  # noqa: E402

from dxcore import calibration  # noqa: E402
from dxcore.ecg import mitdb, rhythm  # noqa: E402
from dxcore.ecg import training as recipe  # noqa: E402
from dxcore.ecg.record import MODEL_FS  # noqa: E402
from dxcore.ecg.rhythm_fit import AF_THRESHOLD, record_series  # noqa: E402
from dxcore.ecg.rhythm_labels import AF_LABELS  # noqa: E402


def af_of_beats(beats: mitdb.BeatSet, probability_file: Path, threshold: float,
                data: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Per reference beat: in AF by the reference rhythm, and by the detector (out of
    fold)."""
    saved = np.load(probability_file)
    reference = np.zeros(len(beats.labels), bool)
    detected = np.zeros(len(beats.labels), bool)
    for name in mitdb.DS1:
        rows = np.flatnonzero(beats.records == name)
        data_of = record_series(name, data)
        seconds = np.clip((beats.samples[rows] / MODEL_FS).astype(int), 0,
                          int(data_of["duration"]) - 1)
        codes = rhythm.per_second(data_of["reference"], data_of["duration"])
        reference[rows] = np.isin(codes[seconds], AF_LABELS)
        in_af = rhythm.af_beats(saved[name], data_of["times"], threshold)
        episodes = rhythm.rhythm_episodes(data_of["times"], np.full(len(in_af), "N"), in_af,
                                          data_of["duration"])
        detected[rows] = np.isin(rhythm.per_second(episodes, data_of["duration"])[seconds],
                                 AF_LABELS)
    return reference, detected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logits", type=Path)
    parser.add_argument("--rhythm", type=Path, required=True)
    parser.add_argument("--threshold", type=float, default=AF_THRESHOLD)
    parser.add_argument("--v-min-difference", type=float, nargs="+",
                        default=[0.0, 0.01, 0.02, 0.05])
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    beats, _ = recipe.ds1_folds(args.data)
    saved = np.load(args.logits)
    if not (np.array_equal(saved["records"], beats.records)
            and np.array_equal(saved["samples"], beats.samples)):
        raise SystemExit("the saved logits are not of these beats")
    y = recipe.class_indices(beats.labels)
    logits = saved["logits"]
    probabilities = softmax(logits / calibration.fit_temperature(logits, y), axis=1)
    names = list(recipe.CLASSES)
    plain = recipe.DECISION_RULE.decide(probabilities)
    reference_af, detected_af = af_of_beats(beats, args.rhythm, args.threshold, args.data)
    print(f"beats in reference AF/flutter: {reference_af.sum()}, in detected AF: "
          f"{detected_af.sum()}, both: {(reference_af & detected_af).sum()}")
    variants = {"recipe (argmax)": plain}
    for difference in args.v_min_difference:
        variants[f"read with the rhythm, V min QRS difference {difference}"] = (
            rhythm.conditioned_decisions(plain, probabilities, names, detected_af,
                                         beats.inputs["context"], difference))
    for name, decided in variants.items():
        predicted = np.array([names.index(d) for d in decided])
        print(f"\n== {name}")
        for part, mask in (("pooled", np.ones(len(y), bool)), ("sinus/other", ~reference_af),
                           ("AF/flutter", reference_af)):
            print(f"-- {part} ({mask.sum()} beats)\n{summary(y[mask], predicted[mask])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
