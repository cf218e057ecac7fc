"""The one model contract, checked for every model kind with the checks the package ships
(:mod:`dxcore.testing`, as scikit-learn's ``parametrize_with_checks``): each shipped model
and the toy plug-in of ``tests/toy_modality.py``, through the same entry point.

A modality enters through its :class:`~dxcore.testing.Kit`: the built-in ones in
``tests/conformance_kits.py``, the plug-in's in its own module. A registered modality
without a kit fails ``test_every_registered_modality_has_a_kit``. A contract breach a check
finds is mended in the contract or the modality, not marked here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dxcore.paths import models_dir
from dxcore.registry import get_model, list_cards
from dxcore.testing import Subject, check_kits_cover_every_modality, parametrize_with_checks
from tests import toy_modality as toy
from tests.conformance_kits import ECG_KIT, IMAGE_KIT, RECORD_KIT

KITS = {kit.modality: kit for kit in (IMAGE_KIT, ECG_KIT, RECORD_KIT, toy.KIT)}
# Every shipped model and the toy model, with its modality's kit.
MODELS = {card.id: KITS[card["modality"]] for card in list_cards()
          if card["modality"] in KITS} | {toy.MODEL_ID: toy.KIT}


@pytest.fixture(scope="session")
def subjects(request, dataset, tmp_path_factory) -> Callable[[str], Subject]:
    """``subjects(model_id)``: the loaded model with its sample results, built on first use
    (the toy model is trained only when a check of it runs)."""
    built: dict[str, Subject] = {}

    def subject(model_id: str) -> Subject:
        if model_id not in built:
            if model_id == toy.MODEL_ID:
                folder = request.getfixturevalue("toy_models_dir")
                model = get_model(model_id, folder).load()
            else:
                folder = models_dir()
                model = request.getfixturevalue("shipped_model")(model_id)
            built[model_id] = Subject.build(model, folder, MODELS[model_id], dataset,
                                            tmp_path_factory.mktemp(model_id))
        return built[model_id]
    return subject


def test_every_registered_modality_has_a_kit():
    """A new modality is checked here as soon as it is registered: give it a Kit."""
    check_kits_cover_every_modality(KITS.values())


@parametrize_with_checks(MODELS)
def test_the_model_keeps_the_contract(model_id, check, subjects, tmp_path):
    check(subjects(model_id), tmp_path)
