"""Fitting the population guard's image check (:mod:`dxcore.images.population`) on
training-side data only, with its figures.

- **Features**: the 32x32 z-scored thumbnail of each network input
  (:func:`dxcore.images.domain.thumbnails`), each pixel standardised over the fitting films
  (the network's penultimate features, tried first, let most left-out adults through:
  ``docs/population-guard.md``).
- **Model**: L2-penalised logistic regression (scikit-learn, lbfgs), children (the images the
  network was trained on) against the FIT adults (:func:`dxcore.images.adult_cxr.adult_split`),
  the two classes weighted equally (``class_weight="balanced"``: 15 adult films against
  4,564 children's). The standardisation is folded into the weights.
- **Threshold**: the :data:`QUANTILE` quantile of the validation children's scores (the
  recipe's validation split, held out by patient): about 0.1% of films like them refused,
  leaving room under the 1% budget for the shift between the dataset's training and test
  sessions (see ``docs/cxr-recipe-v3.md``).
- **Choice of the penalty** ``C`` (in :data:`C_GRID`) by leave-one-patient-out
  cross-validation over the FIT adults: each adult patient in turn is left out, the model
  refitted on the children and the other adults, its threshold set again on the validation
  children, and the left-out patient's films scored. The ``C`` that refuses the most
  left-out films wins; ties go to the largest smallest margin (how far the least adult-like
  left-out film lies past its threshold, in standard deviations of the validation
  children's scores).

Figures (training-side only, stored in the card's ``validation_metrics.population_guard``):
the left-out adults refused under the chosen ``C``; the validation children refused by the
final guard (about 1 - :data:`QUANTILE` by construction) and, cross-fitted, with the
threshold set on one half of the validation patients and counted on the other half (both
ways), which is not so by construction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dxcore.cards import sha256_of
from dxcore.datasets import patient_half
from dxcore.images.adult_cxr import AdultFilms
from dxcore.images.domain import THUMBNAIL_SIDE, decode_for_guard, thumbnails
from dxcore.images.population import ADULT_AGE_YEARS, PARAMETERS_FILE
from dxcore.metrics import share

C_GRID = (0.001, 0.01, 0.1)
QUANTILE = 0.999
CROSS_FIT_SEED = 0


def thumbnail_features(paths: list[Path], side: int, normalization: str) -> np.ndarray:
    """(N, THUMBNAIL_SIDE ** 2) thumbnails of image files, decoded as an upload is."""
    x, _ = decode_for_guard(paths, side, normalization)
    return thumbnails(x, THUMBNAIL_SIDE)


def fit_scorer(children: np.ndarray, adults: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """(weights, intercept) of the logistic regression of adult (1) against child (0) on
    standardised features, the standardisation folded in: score = x @ weights + intercept."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([children, adults])
    y = np.r_[np.zeros(len(children)), np.ones(len(adults))]
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    model.fit((x - mean) / scale, y)
    weights = model.coef_[0] / scale
    return weights, float(model.intercept_[0] - weights @ mean)


def leave_one_patient_out(children: np.ndarray, validation: np.ndarray, adults: np.ndarray,
                          patients: np.ndarray, c: float) -> np.ndarray:
    """Each adult film's margin past its fold's threshold, in standard deviations of that
    fold's validation-children scores (refused when positive), its patient left out."""
    margins = np.empty(len(adults))
    for patient in np.unique(patients):
        out = patients == patient
        weights, intercept = fit_scorer(children, adults[~out], c)
        reference = validation @ weights + intercept
        threshold = np.quantile(reference, QUANTILE)
        margins[out] = (adults[out] @ weights + intercept - threshold) / reference.std()
    return margins


def cross_fitted_refusals(scores: np.ndarray, patients: np.ndarray) -> int:
    """Validation children refused when each half of the patients (drawn with
    ``CROSS_FIT_SEED``) is counted against the threshold set on the other half."""
    first = patient_half(patients, CROSS_FIT_SEED)
    return sum(int((scores[~half] > np.quantile(scores[half], QUANTILE)).sum())
               for half in (first, ~first))


def fit_image_check(children_paths: list[Path], validation_paths: list[Path],
                    validation_patients: np.ndarray, adults: AdultFilms, side: int,
                    normalization: str, folder: Path) -> dict[str, Any]:
    """Choose ``C``, fit the image check on the children and every FIT adult, set its
    threshold on the validation children, write the weights into ``folder`` and return
    ``{"runtime": runtime.population.image_guard, "figures": ...}``."""
    children = thumbnail_features(children_paths, side, normalization)
    validation = thumbnail_features(validation_paths, side, normalization)
    adult = thumbnail_features(adults.paths, side, normalization)

    margins = {c: leave_one_patient_out(children, validation, adult, adults.patients, c)
               for c in C_GRID}
    chosen = max(C_GRID, key=lambda c: (int((margins[c] > 0).sum()), float(margins[c].min())))
    weights, intercept = fit_scorer(children, adult, chosen)

    path = folder / PARAMETERS_FILE
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(path, weights=weights)
    scores = {name: features @ weights + intercept for name, features in
              (("children", children), ("validation", validation))}
    threshold = float(np.quantile(scores["validation"], QUANTILE))
    patients = len(np.unique(adults.patients))
    runtime = {
        "parameters_file": PARAMETERS_FILE,
        "parameters_sha256": sha256_of(path),
        "thumbnail_side": THUMBNAIL_SIDE,
        "intercept": intercept,
        "threshold": threshold,
        "quantile": QUANTILE,
        "penalty_c": chosen,
        "fitted_on": f"{len(children_paths)} training children against {len(adult)} films "
                     f"of {patients} FIT adult patients; threshold at the {QUANTILE:g} "
                     f"quantile of {len(validation_paths)} validation children; C by "
                     "leave-one-patient-out over the FIT adults",
    }
    figures = {
        "fit_adults_refused_cv": {**share(int((margins[chosen] > 0).sum()), len(adult)),
                                  "patients": patients},
        "validation_children_refused": share(int((scores["validation"] > threshold).sum()),
                                             len(validation)),
        "validation_children_refused_cross_fitted": share(
            cross_fitted_refusals(scores["validation"], validation_patients),
            len(validation)),
        "training_children_refused": share(int((scores["children"] > threshold).sum()),
                                           len(children)),
        "choice_of_c": {f"{c:g}": {"refused": int((m > 0).sum()),
                                   "smallest_margin_sd": round(float(m.min()), 3)}
                        for c, m in margins.items()},
    }
    return {"runtime": runtime, "figures": figures}


METHOD = (
    "population guard (dxcore.images.population; issue 24): a paediatric model gives no answer "
    "for an adult's film. (1) A DICOM stating an age (PatientAge, else PatientBirthDate to "
    f"StudyDate or AcquisitionDate) of {ADULT_AGE_YEARS} or more is refused; the age is never "
    "logged. (2) An adult-likeness score, L2 logistic regression on the 32x32 z-scored "
    "thumbnail of the network input, fitted on the training children against the FIT half of "
    "the adult patients of ood_adult_cxr (split by patient, dxcore.images.adult_cxr), is "
    f"refused above its {QUANTILE:g} quantile on the validation children; the penalty chosen "
    "by leave-one-patient-out cross-validation over the FIT adults. The HELD-OUT adults and "
    "the test split were not used for any choice")
