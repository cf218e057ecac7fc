"""The ``cxr-pneumonia`` test measurement: the official test folder (624 images), once per
shipped model; its guards' measurements (the domain guard; the population guard with the
HELD-OUT adults); and the recipe's calibration cases (its validation split)."""

from __future__ import annotations

from pathlib import Path

from dxcore.images import chest_xray
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


def evaluate_population(model, data: str | None = None) -> dict:
    """The population guard's one measurement (issue 24), each share with a Wilson 95% CI:
    the HELD-OUT adult patients' films refused (:func:`dxcore.images.adult_cxr.adult_split`;
    target at least 0.90) and the 624 official test images answered (target at least 0.99),
    each also by refusal code. Every film goes through ``predict_many`` as an upload does,
    all guards on; nothing here is fitted or chosen. Run it once, after the guard is frozen
    (``python -m dxcore evaluate cxr-pneumonia --population``)."""
    from dxcore.errors import DxError, OutOfPopulation
    from dxcore.images import adult_cxr

    if model.population_guard is None or model.population_guard.image is None:
        raise DxError(f"The model '{model.card.id}' has no fitted population guard; run "
                      f"python -m dxcore calibrate {model.card.id} --population first.")
    _, held_out = adult_cxr.adult_split(data)
    test = chest_xray.official_split("test", data)

    def outcomes(paths: list[Path]) -> tuple[list, dict[str, int]]:
        answers = model.predict_many([path.read_bytes() for path in paths])
        codes: dict[str, int] = {}
        for answer in answers:
            if isinstance(answer, DxError):
                codes[answer.code] = codes.get(answer.code, 0) + 1
        return answers, codes

    adults, adult_codes = outcomes(held_out.paths)
    children, test_codes = outcomes(test.paths)
    refused = [isinstance(answer, DxError) for answer in adults]
    return {
        "held_out_adults_refused": {
            **share(sum(refused), len(adults)),
            "patients": len(set(held_out.patients)),
            "as_adult": sum(isinstance(answer, OutOfPopulation) for answer in adults),
            "by_code": adult_codes,
            "answered": [path.name for path, r in zip(held_out.paths, refused, strict=True)
                         if not r]},
        "test_answered": {
            **share(sum(not isinstance(answer, DxError) for answer in children),
                    len(children)),
            "refused_by_code": test_codes},
        "method": model.card["methods"].get("population_guard"),
    }
