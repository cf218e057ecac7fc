"""Several models of one modality, routed by content: beside ``cxr-pneumonia``, a second
image model trained in seconds on brain MRI slices (``tests/brain_mri.py``, into a temporary
folder). The drop zone offers every image to both; when the files are read, each model's
domain guard is tried and the best-fitting model answers; an image neither accepts gets one
refusal naming both."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dxcore.contract import DxModel, Result
from dxcore.errors import DxError, OutOfDomain
from dxcore.images.domain import domain_fit
from dxcore.intake import group_files, predict_cases
from dxcore.registry import get_card, get_model
from dxui.drop import routing_table
from tests import brain_mri

CXR = "cxr-pneumonia"


@pytest.fixture(scope="session")
def image_models(dataset, cxr_model, tmp_path_factory) -> dict[str, DxModel]:
    """``{model id: model}`` of the shipped chest X-ray model and the brain MRI model,
    trained for the session into a temporary folder."""
    data = dataset("ood_brain_mri").parent
    folder = tmp_path_factory.mktemp("image-models")
    card = brain_mri.build(folder, data)
    return {CXR: cxr_model, card.id: get_model(card.id, folder).load()}


@pytest.fixture(scope="session")
def photo() -> bytes:
    """A colour photograph (noise): like neither model's training images."""
    buffer = io.BytesIO()
    pixels = np.random.default_rng(1).integers(0, 256, (256, 256, 3), np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def cards_of(models: dict[str, DxModel]) -> list:
    return [model.card for model in models.values()]


def test_each_image_goes_to_the_model_whose_guard_accepts_it(image_models, dataset,
                                                              test_xray_bytes, photo):
    slice_ = brain_mri.unseen_slices(dataset("ood_brain_mri").parent)[0].read_bytes()
    found = group_files({"slice.jpg": slice_, "chest.jpeg": test_xray_bytes,
                         "photo.png": photo}, cards=cards_of(image_models))
    assert [(case.kind, case.models) for case in found.cases] == [
        ("image", (CXR, brain_mri.MODEL_ID))] * 3
    assert list(routing_table(found)["Model"]) == [f"{CXR} or {brain_mri.MODEL_ID}"] * 3
    outcomes = predict_cases(found.cases, model_of=image_models.__getitem__)
    mri, chest, neither = outcomes
    assert (mri.model_id, chest.model_id) == (brain_mri.MODEL_ID, CXR)
    assert mri.result.as_json() == image_models[brain_mri.MODEL_ID].predict(slice_).as_json()
    assert chest.result.as_json() == image_models[CXR].predict(test_xray_bytes).as_json()
    # one refusal, naming both models and why each refused
    assert isinstance(neither.result, OutOfDomain)
    assert neither.result.facts["tried"] == [CXR, brain_mri.MODEL_ID]
    assert f"(tried {CXR}, {brain_mri.MODEL_ID})" in str(neither.result)
    assert str(neither.result).count("it is in colour") == 2


def test_the_best_fitting_of_the_models_that_accept_an_image_answers(image_models, dataset):
    """Over unseen slices and test films, whatever each guard decides: the answer is that of
    the model whose guard accepted the image with the lowest score ratio, else one refusal
    when both refused (each model asked alone gives what the routing compared)."""
    data = dataset("ood_brain_mri").parent
    films = sorted((dataset("chest_xray") / "test" / "PNEUMONIA").glob("*.jpeg"))[:4]
    files = {path.name: path.read_bytes()
             for path in [*brain_mri.unseen_slices(data)[:8], *films]}
    found = group_files(files, cards=cards_of(image_models))
    outcomes = predict_cases(found.cases, model_of=image_models.__getitem__)
    answered = {CXR: 0, brain_mri.MODEL_ID: 0}
    for outcome in outcomes:
        alone = {model_id: model.predict_many([outcome.case.files])[0]
                 for model_id, model in image_models.items()}
        fits = {model_id: domain_fit(image_models[model_id], answer)
                for model_id, answer in alone.items() if isinstance(answer, Result)}
        if fits:
            assert outcome.model_id == min(fits, key=fits.get)
            answered[outcome.model_id] += 1
        else:
            assert isinstance(outcome.result, DxError) and "tried" in outcome.result.facts
    assert answered[brain_mri.MODEL_ID] >= 6 and answered[CXR] >= 3  # mostly the right one


def test_one_model_of_the_modality_is_routed_as_before(image_models, test_xray_bytes):
    """With the shipped models alone, an image has one candidate and is read by it."""
    [case] = group_files({"chest.jpeg": test_xray_bytes}, cards=[get_card(CXR)]).cases
    assert (case.model_id, case.candidates, case.models) == (CXR, (), (CXR,))
    [outcome] = predict_cases([case], model_of=image_models.__getitem__)
    assert outcome.model_id == CXR and isinstance(outcome.result, Result)


def test_the_brain_mri_model_lives_only_in_its_temporary_folder(image_models):
    folder = Path(image_models[brain_mri.MODEL_ID].card.folder)
    assert not folder.is_relative_to(Path(__file__).resolve().parents[1])
