"""Adapting ``cxr-pneumonia``'s answers to a site's prevalence, checked on its validation
split only (never the test split): the EM estimate of the prior and its bootstrap interval,
and the coverage of the label-shift-weighted prediction sets, at simulated sites.

    python scripts/label_shift_check.py                       # 62% and 40% pneumonia
    python scripts/label_shift_check.py --prevalences 0.62 0.4 0.742 --json shift.json

First, on the whole split, the card's own calibration: the mean P(pneumonia) and EM's
estimate from the temperature-scaled probabilities and from the bias-corrected ones.

Then each repetition splits the validation split's patients in two halves: one is the
calibration half (bias-corrected temperature scaling, the training prior and the calibration
cases' scores of :mod:`dxcore.adaptation`, fitted there as ``python -m dxcore calibrate
--label-shift`` fits them on the whole split), the other the site: ``--batch`` of its images
drawn with replacement so that a share ``--prevalence`` has pneumonia. The site's answers go
through the shipped code (:meth:`dxcore.adaptation.LabelShift.adapt` on one
:class:`~dxcore.contract.Result` holding the batch), with the prior EM estimates from the
batch itself. Reported, as means over the repetitions: the estimate and how often its 95%
interval holds the true prevalence, and the estimate EM makes from the temperature-scaled
probabilities without the bias correction; per coverage level, the share of images whose
adapted set holds their class (before and after empty sets are shown as both classes), the
share of sets holding both classes and of sets the weighted rule left empty; the
class-conditional sets of the card, fitted on the calibration half, unadapted, for
comparison; and whether the moved decision rule gives the card's decisions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from dxcore.adaptation import LabelShift  # noqa: E402
from dxcore.calibration import (  # noqa: E402
    calibrated_probabilities,
    fit_bias_corrected_temperature,
)
from dxcore.conformal import ConformalSets, label_shift_thresholds  # noqa: E402
from dxcore.contract import Result  # noqa: E402
from dxcore.images.chest_xray import patient_of  # noqa: E402
from dxcore.label_shift import em_prior  # noqa: E402
from dxcore.registry import get_model, recipe_for  # noqa: E402

MODEL_ID = "cxr-pneumonia"
LEVELS = (0.9, 0.95)


def halves(patients: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Case indices of a random half of the patients, and of the others."""
    unique = np.unique(patients)
    chosen = rng.choice(unique, len(unique) // 2, replace=False)
    inside = np.isin(patients, chosen)
    return np.flatnonzero(inside), np.flatnonzero(~inside)


def site_batch(labels: np.ndarray, cases: np.ndarray, prevalence: float, size: int,
               rng: np.random.Generator) -> np.ndarray:
    """``size`` of ``cases`` drawn with replacement, a share ``prevalence`` of class 1."""
    positives = round(size * prevalence)
    return np.concatenate([rng.choice(cases[labels[cases] == 0], size - positives),
                           rng.choice(cases[labels[cases] == 1], positives)])


def one_site(model, logits: np.ndarray, labels: np.ndarray, patients: np.ndarray,
             prevalence: float, size: int, resamples: int,
             rng: np.random.Generator) -> dict[str, float]:
    card = model.card
    calibration, site = halves(patients, rng)
    temperature, bias = fit_bias_corrected_temperature(logits[calibration], labels[calibration])
    probabilities = calibrated_probabilities(logits, card.temperature)
    shift = LabelShift(card.class_names,
                       np.bincount(labels[calibration], minlength=2) / len(calibration),
                       card.temperature, temperature, bias, probabilities[calibration],
                       labels[calibration])
    batch = site_batch(labels, site, prevalence, size, rng)
    truth = labels[batch]
    prior = shift.estimate(probabilities[batch], resamples=resamples)
    low, high = prior.ci95[card.class_names[1]]
    figures = {"estimate": prior.shares[card.class_names[1]],
               "interval holds the prevalence": float(low <= prevalence <= high),
               "estimate by temperature scaling alone": float(em_prior(
                   probabilities[batch], shift.training_prior)[1])}
    decisions = model.rule.decide(probabilities[batch])
    mondrian = ConformalSets.fit(probabilities[calibration], labels[calibration],
                                 card.class_names, list(LEVELS))
    for level in LEVELS:
        result = Result(card.id, model.rule, probabilities[batch], decisions, {}, None,
                        detail=None, prediction_sets=mondrian.sets(probabilities[batch],
                                                                   decisions, level),
                        coverage=level)
        adapted = shift.adapt(result, prior)
        names = np.asarray(card.class_names)
        holds = [names[y] in s for s, y in zip(adapted.prediction_sets, truth, strict=True)]
        weights = prior.vector(card.class_names) / shift.training_prior
        calibrated = shift.adapted(shift.calibration_probabilities, prior)
        scores = 1 - calibrated[np.arange(len(calibration)), labels[calibration]]
        thresholds = label_shift_thresholds(scores, labels[calibration], weights, level)
        member = 1 - adapted.probabilities <= thresholds
        empty = ~member.any(axis=1)
        unadapted = [names[y] in s for s, y in zip(result.prediction_sets, truth, strict=True)]
        figures |= {
            f"{level:g} coverage": float(np.mean(holds)),
            f"{level:g} coverage before empty sets are filled": float(
                member[np.arange(len(truth)), truth].mean()),
            f"{level:g} both classes": float(np.mean([len(s) == 2
                                                      for s in adapted.prediction_sets])),
            f"{level:g} left empty": float(empty.mean()),
            f"{level:g} unadapted class-conditional coverage": float(np.mean(unadapted)),
            f"{level:g} unadapted both classes": float(np.mean(
                [len(s) == 2 for s in result.prediction_sets])),
        }
    figures["decisions kept"] = float(np.mean(adapted.rule.decide(adapted.probabilities)
                                              == decisions))
    figures["accuracy"] = float(np.mean(decisions == names[truth]))
    return figures


def whole_split(model, cases) -> dict[str, float]:
    """The card's calibration on the whole validation split: the mean temperature-scaled
    P(pneumonia) against the share of pneumonia, what EM makes of the split from those and
    from the card's bias-corrected ones, and both negative log-likelihoods."""
    shift = model.label_shift
    scaled = cases.probabilities(model.card.temperature)
    corrected = shift.calibrated(scaled)
    rows = np.arange(len(cases.labels))
    return {"share of pneumonia": float(cases.labels.mean()),
            "mean P(pneumonia), temperature scaling": float(scaled[:, 1].mean()),
            "mean P(pneumonia), bias-corrected": float(corrected[:, 1].mean()),
            "EM estimate, temperature scaling": float(em_prior(scaled,
                                                               shift.training_prior)[1]),
            "EM estimate, bias-corrected": float(em_prior(corrected, shift.training_prior)[1]),
            "NLL, temperature scaling": float(-np.log(scaled[rows, cases.labels]).mean()),
            "NLL, bias-corrected": float(-np.log(corrected[rows, cases.labels]).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prevalences", type=float, nargs="+", default=[0.62, 0.40])
    parser.add_argument("--repetitions", type=int, default=200)
    parser.add_argument("--batch", type=int, default=300, help="images per simulated site")
    parser.add_argument("--resamples", type=int, default=500,
                        help="bootstrap resamples of each estimate's interval")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()

    model = get_model(MODEL_ID).load()
    cases = recipe_for(MODEL_ID).calibration_predictions(model)  # the validation split only
    patients = np.array([patient_of(Path(case)) for case in cases.case_ids])
    rng = np.random.default_rng(args.seed)
    report = {"model": MODEL_ID, "cases": cases.source, "repetitions": args.repetitions,
              "batch": args.batch, "whole split": whole_split(model, cases), "sites": {}}
    for name, value in report["whole split"].items():
        print(f"{name:52}{value:>8.3f}")
    for prevalence in args.prevalences:
        runs = [one_site(model, cases.logits, cases.labels, patients, prevalence, args.batch,
                         args.resamples, rng) for _ in range(args.repetitions)]
        report["sites"][f"{prevalence:g}"] = {
            name: {"mean": round(float(np.mean([r[name] for r in runs])), 4),
                   "5th percentile": round(float(np.percentile([r[name] for r in runs], 5)), 4)}
            for name in runs[0]}
    sites = list(report["sites"])
    print(f"{cases.source}; {args.repetitions} repetitions of {args.batch} images per site")
    print(f"{'pneumonia share at the site':52}" + "".join(f"{site:>16}" for site in sites))
    for name in report["sites"][sites[0]]:
        cells = [report["sites"][site][name] for site in sites]
        print(f"{name:52}" + "".join(f"{cell['mean']:>8.3f} ({cell['5th percentile']:.3f})"
                                     for cell in cells))
    print("(mean over repetitions, 5th percentile in brackets)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
