"""Fitting the population guard's image check (dxcore.images.population_fit), on films made
here: "children" whose bright blob sits high in the frame, "adults" whose blob sits low."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dxcore.cards import sha256_of
from dxcore.images.adult_cxr import AdultFilms
from dxcore.images.domain import THUMBNAIL_SIDE
from dxcore.images.population import PARAMETERS_FILE, AdultLikeness
from dxcore.images.population_fit import (
    C_GRID,
    QUANTILE,
    cross_fitted_refusals,
    fit_image_check,
    fit_scorer,
    leave_one_patient_out,
)

SEED = 11


def film(rng: np.random.Generator, row: int) -> np.ndarray:
    """A 64x64 gray film: a blob centred on ``row`` over noise."""
    ys, xs = np.mgrid[0:64, 0:64]
    blob = np.exp(-((ys - row) ** 2 + (xs - 32) ** 2) / 120.0)
    return (np.clip(blob + rng.normal(0.2, 0.05, (64, 64)), 0, 1) * 255).astype(np.uint8)


def write(folder: Path, name: str, pixels: np.ndarray) -> Path:
    path = folder / name
    Image.fromarray(pixels).save(path)
    return path


def test_the_folded_scorer_is_the_standardised_regression():
    rng = np.random.default_rng(SEED)
    children, adults = rng.normal(0, 1, (80, 6)), rng.normal(1, 2, (8, 6))
    weights, intercept = fit_scorer(children, adults, 0.1)
    x = np.vstack([children, adults])
    reference = make_pipeline(StandardScaler(), LogisticRegression(
        C=0.1, class_weight="balanced", max_iter=5000)).fit(
        x, np.r_[np.zeros(80), np.ones(8)])
    np.testing.assert_allclose(x @ weights + intercept, reference.decision_function(x),
                               rtol=1e-6, atol=1e-6)


def test_separable_left_out_patients_lie_past_their_thresholds():
    rng = np.random.default_rng(SEED)
    children = rng.normal(0, 1, (200, 4))
    validation = rng.normal(0, 1, (100, 4))
    adults = rng.normal(0, 1, (6, 4)) + [6, 0, 0, 0]
    margins = leave_one_patient_out(children, validation, adults,
                                    np.array(["a", "a", "b", "c", "d", "e"]), 1.0)
    assert margins.shape == (6,) and (margins > 0).all()


def test_cross_fitting_counts_each_half_against_the_others_threshold():
    scores = np.r_[np.zeros(100), 50.0]  # one outlying child
    patients = np.array([f"p{i}" for i in range(101)])
    assert cross_fitted_refusals(scores, patients) == 1
    assert cross_fitted_refusals(np.zeros(101), patients) == 0


def test_the_fitted_guard_refuses_adults_and_answers_children(tmp_path):
    rng = np.random.default_rng(SEED)
    children = [write(tmp_path, f"child{i}.png", film(rng, 20)) for i in range(60)]
    validation = [write(tmp_path, f"val{i}.png", film(rng, 20)) for i in range(30)]
    adult_paths = [write(tmp_path, f"A{i}_01.png", film(rng, 44)) for i in range(5)]
    adults = AdultFilms(adult_paths, np.array([f"A{i}" for i in range(5)]))
    folder = tmp_path / "model"

    fitted = fit_image_check(children, validation, np.array([f"v{i}" for i in range(30)]),
                             adults, 64, "unit", folder)
    runtime, figures = fitted["runtime"], fitted["figures"]
    assert runtime["parameters_sha256"] == sha256_of(folder / PARAMETERS_FILE)
    assert runtime["penalty_c"] in C_GRID and runtime["quantile"] == QUANTILE
    assert figures["fit_adults_refused_cv"]["value"] == 1.0
    assert figures["fit_adults_refused_cv"]["patients"] == 5
    assert set(figures["choice_of_c"]) == {f"{c:g}" for c in C_GRID}

    with np.load(folder / PARAMETERS_FILE) as arrays:
        check = AdultLikeness(arrays["weights"], runtime["intercept"], runtime["threshold"],
                              THUMBNAIL_SIDE)
    rng = np.random.default_rng(SEED + 1)  # new films, not the fitted ones
    child, adult = (film(rng, row)[None, ..., None] / 255.0 for row in (20, 44))
    assert check.scores(adult)[0] > check.threshold > check.scores(child)[0]

