"""The ``cxr-pneumonia`` test measurement: the official test folder (624 images), once per
shipped model; and the recipe's calibration cases (its validation split)."""

from __future__ import annotations

from pathlib import Path

from dxcore.datasets import chest_xray
from dxcore.metrics import share
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


def evaluate(model, data: str | None = None, resamples: int = 2000,
             cases: Predictions | None = None) -> dict:
    """AUC, accuracy, sensitivity, specificity (bootstrap 95% CIs over images) and ECE;
    ``cases``: the test predictions when the caller has them already."""
    from dxcore.metrics import report_binary

    test = cases or test_predictions(model, data)
    probability = test.probabilities(model.card.temperature)[:, 1]
    return report_binary(test.labels, probability, model.card.threshold, resamples)


def evaluate_domain(model, data: str | None = None) -> dict:
    """The domain guard measured, each share with a Wilson 95% CI: the share of the 624
    official test images it accepts, and the share of the out-of-domain evaluation set
    (:func:`dxcore.images.ood.out_of_domain_set`) refused, overall and per source. Every
    input goes through ``predict_many`` as an upload does; an input the reader itself
    cannot read counts as refused too (``unreadable``)."""
    from dxcore.errors import DxError, OutOfDomain
    from dxcore.images.ood import out_of_domain_set

    if model.domain_guard is None:
        raise DxError(f"The model '{model.card.id}' has no domain guard; run python -m "
                      f"dxcore calibrate {model.card.id} first.")
    test = chest_xray.official_split("test", data)
    answers = model.predict_many([path.read_bytes() for path in test.paths])
    accepted = sum(not isinstance(answer, DxError) for answer in answers)
    report = {"test_accepted": share(accepted, len(answers)),
              "out_of_domain_refused": {}}
    samples = out_of_domain_set(data)
    outcomes = model.predict_many([data_bytes for _, _, data_bytes in samples])
    by_source: dict[str, list] = {"all": list(zip(samples, outcomes, strict=True))}
    for sample, outcome in by_source["all"]:
        by_source.setdefault(sample[0], []).append((sample, outcome))
    for source, pairs in by_source.items():
        refused = [isinstance(outcome, DxError) for _, outcome in pairs]
        entry = share(sum(refused), len(pairs))
        entry["unreadable"] = sum(isinstance(outcome, DxError) and
                                  not isinstance(outcome, OutOfDomain) for _, outcome in pairs)
        if source != "all":
            entry["answered"] = [sample[1] for (sample, _), r in zip(pairs, refused,
                                                                      strict=True) if not r]
        report["out_of_domain_refused"][source] = entry
    report["method"] = model.card["methods"].get("domain_guard")
    return report
