"""The ``cxr-pneumonia`` test measurement: the official test folder (624 images), once per
shipped model."""

from __future__ import annotations

import numpy as np

from dxcore.datasets import chest_xray


def test_predictions(model, data: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Labels and calibrated positive-class probabilities on the official test set."""
    test = chest_xray.official_split("test", data)
    spec = model.card.input_spec
    x = chest_xray.load_pixels(test.paths, int(spec["side"]), progress=True,
                               normalization=spec.get("normalization", "unit"))
    return test.labels, model.probabilities(x)[:, 1]


def evaluate(model, data: str | None = None, resamples: int = 2000) -> dict:
    """AUC, accuracy, sensitivity, specificity (bootstrap 95% CIs over images) and ECE."""
    from dxcore.metrics import report_binary

    labels, probability = test_predictions(model, data)
    return report_binary(labels, probability, model.card.threshold, resamples)
