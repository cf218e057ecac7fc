"""The ``cxr-pneumonia`` test measurement: the official test folder (624 images), once per
shipped model; and the recipe's calibration cases (its validation split)."""

from __future__ import annotations

from pathlib import Path

from dxcore.datasets import chest_xray
from dxcore.predictions import Predictions


def split_predictions(model, split: chest_xray.Split, source: str,
                      data: str | None = None) -> Predictions:
    """The network's logits for every image of ``split``, decoded as an upload is."""
    spec = model.card.input_spec
    x = chest_xray.load_pixels(split.paths, int(spec["side"]), progress=True,
                               normalization=spec.get("normalization", "unit"))
    base = chest_xray.root(data)
    ids = [str(Path(p).relative_to(base)) for p in split.paths]
    return Predictions(ids, split.labels, model.forward(x)["logits"], source)


def test_predictions(model, data: str | None = None) -> Predictions:
    """The official test folder (624 images)."""
    return split_predictions(model, chest_xray.official_split("test", data),
                             "official test folder", data)


def calibration_predictions(model, data: str | None = None) -> Predictions:
    """The validation split the recipe held out by patient (seed of the card's training):
    the images that chose the epoch, the temperature and the threshold."""
    seed = int(model.card["training"]["seed"])
    _, validation = chest_xray.train_validation_split(
        chest_xray.official_split("train", data), seed=seed)
    return split_predictions(model, validation, f"validation split of the official train "
                             f"folder ({len(validation.paths)} images, held out by patient, "
                             f"seed {seed})", data)


def evaluate(model, data: str | None = None, resamples: int = 2000) -> dict:
    """AUC, accuracy, sensitivity, specificity (bootstrap 95% CIs over images) and ECE."""
    from dxcore.metrics import report_binary

    test = test_predictions(model, data)
    probability = test.probabilities(model.card.temperature)[:, 1]
    return report_binary(test.labels, probability, model.card.threshold, resamples)
