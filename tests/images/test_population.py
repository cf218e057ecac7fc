"""The population guard (dxcore.images.population): adults' films refused by what the file
says (a DICOM's stated age) and by what the image shows, children's films answered.

Only training-side films are read here, in place: children of the official train folder and
adults of the FIT patients of ``ood_adult_cxr``; the DICOM files are built in the tests
from a training image. The HELD-OUT adults and the test split are for the one measurement
(:func:`dxcore.images.evaluation.evaluate_population`) and are never read here.
"""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from PIL import Image

from dxcore.audit import OUTPUT_KEYS, AuditLog
from dxcore.contract import Result
from dxcore.errors import DxError, OutOfDomain, OutOfPopulation
from dxcore.images.population import (
    PARAMETERS_FILE,
    AdultLikeness,
    PopulationGuard,
    age_refusal_message,
    image_refusal_message,
    with_article,
)
from tests.images.test_reader import dicom_bytes

GUARD = PopulationGuard(18, (1, 5))


@pytest.fixture(scope="module")
def guarded_model(cxr_model):
    guard = cxr_model.population_guard
    if guard is None or guard.image is None:
        pytest.skip("the shipped cxr-pneumonia card has no fitted population guard; run "
                    "python -m dxcore calibrate cxr-pneumonia --population")
    return cxr_model


@pytest.fixture(scope="module")
def child_pixels(train_xray_path) -> np.ndarray:
    """A training child's film as 8-bit gray pixels (read in place, never copied)."""
    return np.asarray(Image.open(train_xray_path).convert("L"))


@pytest.fixture(scope="module")
def fit_adults(dataset):
    from dxcore.images.adult_cxr import adult_split

    fit, _ = adult_split(dataset("ood_adult_cxr").parent)
    return fit


# --- the messages and the age check --------------------------------------------------------


@pytest.mark.parametrize(("years", "words"), [
    (45, "a 45-year-old"), (18, "an 18-year-old"), (80, "an 80-year-old"),
    (89, "an 89-year-old"), (8, "an 8-year-old"), (101, "a 101-year-old"),
])
def test_the_age_is_spoken_with_its_article(years, words):
    assert with_article(years) == words


def test_each_refusal_is_one_sentence_naming_the_reason_and_giving_no_answer():
    by_age = age_refusal_message(45.9, (1, 5), 18)
    assert by_age.startswith("This film is of a 45-year-old patient (as its DICOM header "
                             "states)")
    assert "children aged 1 to 5" in by_age and "aged 18 or over" in by_age
    by_image = image_refusal_message((1, 5))
    assert by_image.startswith("This film looks like an adult's chest film")
    for message in (by_age, by_image):
        assert message.count(". ") == 0 and message.endswith("gives no answer.")


@pytest.mark.parametrize("age", [18.0, 45.0, 101.0])
def test_an_adult_age_is_refused_without_the_age_in_the_facts(age):
    with pytest.raises(OutOfPopulation) as refused:
        GUARD.check_age(age)
    assert refused.value.as_json() == {"error": str(refused.value),
                                       "code": "out_of_population", "reason": "dicom_age"}
    assert isinstance(refused.value, OutOfDomain)  # every page shows it as a refusal


@pytest.mark.parametrize("age", [None, 0.5, 3.0, 17.99])
def test_a_childs_age_or_none_is_let_through(age):
    GUARD.check_age(age)


def test_the_image_check_refuses_above_its_threshold_with_its_ratio():
    side = 4
    weights = np.zeros(side * side)
    weights[0] = 1.0  # the score is the first thumbnail pixel, z-scored
    guard = PopulationGuard(18, (1, 5), AdultLikeness(weights, 0.0, 0.5, side))
    bright_corner = np.zeros((1, 8, 8, 1), np.float32)
    bright_corner[0, :2, :2] = 1.0
    with pytest.raises(OutOfPopulation) as refused:
        guard.check_image(bright_corner)
    assert refused.value.facts["reason"] == "image"
    assert refused.value.facts["domain_score"] > 1.0
    guard.check_image(1.0 - bright_corner)  # a dark corner: a low score


# --- the shipped guard, on training-side films ---------------------------------------------


@pytest.mark.parametrize(("attributes", "words"), [
    ({"PatientAge": "045Y"}, "a 45-year-old patient"),
    ({"PatientBirthDate": "19790412", "StudyDate": "20240411"}, "a 44-year-old patient"),
    ({"PatientAge": "216M"}, "an 18-year-old patient"),
])
def test_a_dicom_stating_an_adult_age_is_refused(guarded_model, child_pixels, attributes,
                                                  words):
    with pytest.raises(OutOfPopulation) as refused:
        guarded_model.predict(dicom_bytes(child_pixels, **attributes))
    assert words in str(refused.value) and "children aged 1 to 5" in str(refused.value)
    assert refused.value.code == "out_of_population"


def test_a_dicom_stating_a_childs_age_is_answered_and_its_age_never_logged(
        guarded_model, child_pixels, tmp_path):
    files = {"child.dcm": dicom_bytes(child_pixels, PatientAge="003Y")}
    result = guarded_model.predict(files)
    assert isinstance(result, Result)
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append(result, guarded_model.card, files, "s-1")
    assert "003Y" not in log.path.read_text()
    [entry] = log.entries()
    assert set(entry["output"][0]) <= set(OUTPUT_KEYS)  # decisions and probabilities only


def test_a_training_childs_film_is_answered(guarded_model, train_xray_path):
    assert isinstance(guarded_model.predict(train_xray_path), Result)


def test_every_fit_adult_film_scores_above_the_threshold(guarded_model, fit_adults):
    from dxcore.images.chest_xray import load_pixels

    spec = guarded_model.card.input_spec
    x = load_pixels(fit_adults.paths, int(spec["side"]), normalization=spec["normalization"])
    image = guarded_model.population_guard.image
    assert (image.scores(x) > image.threshold).all()


def test_a_fit_adult_film_is_refused_as_an_adults(guarded_model, fit_adults):
    answers = guarded_model.predict_many(fit_adults.paths)
    assert all(isinstance(answer, OutOfDomain) for answer in answers)
    first = answers[0]
    assert isinstance(first, OutOfPopulation) and first.facts["reason"] == "image"
    assert str(first) == image_refusal_message((1, 5))


def test_a_jpeg_copy_of_a_fit_adult_film_is_refused_all_the_same(guarded_model, fit_adults):
    """Re-encoded as the children's files are (JPEG), under a name that says nothing."""
    pixels = np.asarray(Image.open(fit_adults.paths[0]).convert("L"))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG")
    with pytest.raises(OutOfPopulation):
        guarded_model.predict({"scan.jpeg": buffer.getvalue()})


def test_a_damaged_parameters_file_stops_the_model(guarded_model, tmp_path, train_xray_path):
    from dxcore.registry import get_model

    folder = tmp_path / "cxr-pneumonia"
    shutil.copytree(guarded_model.card.folder, folder)
    (folder / PARAMETERS_FILE).write_bytes(b"replaced")
    with pytest.raises(DxError, match="population guard.*checksum mismatch"):
        get_model("cxr-pneumonia", tmp_path).predict(train_xray_path)
