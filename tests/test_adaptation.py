"""The chest X-ray model's answers adapted to a site's prevalence: its card's label-shift
calibration (pinned, bias-corrected), adapted results (the same decisions, a moved threshold,
weighted sets, the JSON and audit keys), and the check on its validation split resampled to
other prevalences (never the test split)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dxcore.adaptation import LabelShift
from dxcore.audit import output_of
from dxcore.calibration import calibrated_probabilities
from dxcore.cards import ModelCard
from dxcore.contract import Result
from dxcore.errors import DxError
from dxcore.label_shift import SitePrior
from tests.test_cli import IMAGE_KEYS


@pytest.fixture(scope="module")
def shift(cxr_model) -> LabelShift:
    return cxr_model.label_shift


@pytest.fixture(scope="module")
def training_image(dataset) -> Path:
    """One image of the official train folder, read in place."""
    return next(iter(sorted((dataset("chest_xray") / "train" / "NORMAL").glob("*.jpeg"))))


def batch_result(model, probabilities: np.ndarray) -> Result:
    """A Result of many items, as the shared postprocess makes one, without a network."""
    decisions = model.rule.decide(probabilities)
    return Result(model.card.id, model.rule, probabilities, decisions, {}, None, detail=None,
                  prediction_sets=model.conformal.sets(probabilities, decisions),
                  coverage=model.conformal.coverage)


def test_the_calibration_makes_the_validation_probabilities_match_the_prior(shift):
    """Temperature scaling alone leaves the probabilities leaning to NORMAL (the network was
    trained with balanced class weights); BCTS brings their mean to the training prior."""
    scaled = shift.calibration_probabilities
    assert shift.training_prior.sum() == pytest.approx(1.0)
    assert np.bincount(shift.calibration_labels) / len(scaled) == pytest.approx(
        shift.training_prior, abs=1e-6)
    assert scaled[:, 1].mean() < shift.training_prior[1] - 0.03
    assert shift.calibrated(scaled)[:, 1].mean() == pytest.approx(shift.training_prior[1],
                                                                 abs=0.01)


def test_a_changed_cases_file_is_refused(cxr_model, tmp_path):
    spec = cxr_model.card.label_shift
    content = json.loads((cxr_model.card.folder / spec["cases_file"]).read_text())
    content["labels"][0] = 1 - content["labels"][0]
    (tmp_path / spec["cases_file"]).write_text(json.dumps(content))
    with pytest.raises(DxError, match="does not match its model card"):
        LabelShift.from_card(ModelCard(cxr_model.card.fields, tmp_path))


def test_adapting_keeps_the_decisions_and_moves_the_threshold(cxr_model):
    rng = np.random.default_rng(0)
    probabilities = calibrated_probabilities(rng.normal(0, 3, (400, 2)),
                                             cxr_model.card.temperature)
    result = batch_result(cxr_model, probabilities)
    fewer = SitePrior({"NORMAL": 0.6, "PNEUMONIA": 0.4}, "configured")
    adapted = cxr_model.adapt(result, fewer)
    assert (adapted.decisions == result.decisions).all()
    assert (adapted.rule.decide(adapted.probabilities) == result.decisions).all()
    assert adapted.rule.threshold != result.rule.threshold
    assert np.allclose(adapted.probabilities.sum(axis=1), 1.0)
    assert (adapted.unadapted_probabilities == probabilities).all()
    assert all(str(d) in s for d, s in zip(adapted.decisions, adapted.prediction_sets,
                                           strict=True))
    # a borderline image gets both classes; adapting to fewer pneumonias lowers P(pneumonia)
    borderline = np.abs(adapted.probabilities[:, 1] - 0.5) < 0.2
    assert borderline.any() and all(len(adapted.prediction_sets[i]) == 2
                                    for i in np.flatnonzero(borderline))
    more = cxr_model.adapt(result, SitePrior({"NORMAL": 0.2, "PNEUMONIA": 0.8}, "configured"))
    assert (more.probabilities[:, 1] > adapted.probabilities[:, 1]).all()


def test_the_training_prior_leaves_the_answers_as_they_are(cxr_model, shift):
    result = batch_result(cxr_model, np.array([[0.3, 0.7], [0.9, 0.1]]))
    same = cxr_model.adapt(result, SitePrior(shift.prior, "training"))
    assert same.probabilities is result.probabilities and same.rule == result.rule
    assert same.prediction_sets == result.prediction_sets
    assert same.adaptation_json(0) == {"site_prior": {
        "shares": {k: round(v, 4) for k, v in shift.prior.items()}, "source": "training"}}


def test_an_adapted_image_says_so_in_its_json_and_the_audit_trail(cxr_model, training_image):
    result = cxr_model.predict(training_image)
    adapted = cxr_model.adapt(result, SitePrior({"NORMAL": 0.6, "PNEUMONIA": 0.4},
                                                "configured"))
    [line] = adapted.as_json()
    assert set(line) == IMAGE_KEYS - {"input"} | {"site_prior", "unadapted_probabilities"}
    assert line["unadapted_probabilities"] == result.as_json()[0]["probabilities"]
    assert line["site_prior"] == {"shares": {"NORMAL": 0.6, "PNEUMONIA": 0.4},
                                  "source": "configured"}
    [logged] = output_of(adapted)
    assert {"site_prior", "unadapted_probabilities"} <= set(logged)


def test_a_model_without_the_calibration_cannot_adapt(heart_model):
    assert heart_model.label_shift is None
    with pytest.raises(DxError, match="no label-shift calibration"):
        heart_model.adapt(None, SitePrior({"a": 1.0}, "configured"))


@pytest.fixture(scope="module")
def validation_cases(shipped_calibration_predictions):
    """The recipe's calibration cases: its validation split (652 images, read in place)."""
    return shipped_calibration_predictions("cxr-pneumonia")


@pytest.mark.slow
@pytest.mark.parametrize("prevalence", [0.62, 0.40])
def test_validation_split_resampled_to_another_prevalence(cxr_model, validation_cases,
                                                          prevalence):
    """As scripts/label_shift_check.py, shorter: the validation split's patients halved
    (calibration half / site half), the site half resampled to ``prevalence``; EM finds it
    and the adapted 90% sets cover at least 0.88 of the images."""
    from dxcore.calibration import fit_bias_corrected_temperature
    from dxcore.images.chest_xray import patient_of

    cases = validation_cases
    patients = np.array([patient_of(Path(case)) for case in cases.case_ids])
    scaled = cases.probabilities(cxr_model.card.temperature)
    names = np.asarray(cxr_model.card.class_names)
    rng = np.random.default_rng(0)
    estimates, coverages = [], []
    for _ in range(20):
        inside = np.isin(patients, rng.choice(np.unique(patients), len(np.unique(patients)) // 2,
                                              replace=False))
        calibration, site = np.flatnonzero(inside), np.flatnonzero(~inside)
        temperature, bias = fit_bias_corrected_temperature(cases.logits[calibration],
                                                           cases.labels[calibration])
        shift = LabelShift(list(names), np.bincount(cases.labels[calibration]) / inside.sum(),
                           cxr_model.card.temperature, temperature, bias, scaled[calibration],
                           cases.labels[calibration])
        positives = round(300 * prevalence)
        batch = np.concatenate([rng.choice(site[cases.labels[site] == 0], 300 - positives),
                                rng.choice(site[cases.labels[site] == 1], positives)])
        prior = shift.estimate(scaled[batch], resamples=50)
        adapted = shift.adapt(batch_result(cxr_model, scaled[batch]), prior)
        estimates.append(prior.shares["PNEUMONIA"])
        coverages.append(np.mean([names[y] in s for s, y in
                                  zip(adapted.prediction_sets, cases.labels[batch], strict=True)]))
    assert np.mean(estimates) == pytest.approx(prevalence, abs=0.02)
    assert np.mean(coverages) >= 0.88
