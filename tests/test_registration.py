"""A name is registered once (dxcore.registration): a second modality or explainer under a
name already taken is one DxError naming both; the same package imported again, or a
registration that says ``replace=True``, replaces the first.

Every test works on copies of the two registries, so that nothing registered here stays
registered for the other tests (the conformance checks want a kit for every modality)."""

from __future__ import annotations

import importlib
import sys

import pytest

from dxcore import explain, registry
from dxcore.contract import DxModel
from dxcore.errors import DxError
from dxcore.explain import Explainer, explainers_for, get_explainer, register_explainer
from dxcore.registry import Modality, modality, register_modality


@pytest.fixture(autouse=True)
def own_registries(monkeypatch):
    """The modality and explainer registries, with every built-in modality registered (a
    package imported into a copy only would never register again), copied for this test."""
    registry.modalities()
    monkeypatch.setattr(registry, "_MODALITIES", dict(registry._MODALITIES))
    monkeypatch.setattr(explain, "_EXPLAINERS", {name: dict(methods) for name, methods
                                                 in explain._EXPLAINERS.items()})
    monkeypatch.setattr(explain, "_DEFAULTS", dict(explain._DEFAULTS))


class FirstModel(DxModel):
    modality = "clash"


class SecondModel(DxModel):
    modality = "clash"


class FirstMethod(Explainer):
    label = "first"


class SecondMethod(Explainer):
    label = "second"


def test_a_second_modality_under_a_taken_name_is_refused_naming_both():
    register_modality(Modality("clash", FirstModel))
    with pytest.raises(DxError) as refused:
        register_modality(Modality("clash", SecondModel))
    assert str(refused.value) == (
        "The modality 'clash' is registered already, by test_registration.FirstModel; "
        "test_registration.SecondModel cannot register it again.".replace(
            "test_registration", __name__))
    assert modality("clash").model_class is FirstModel


def test_a_built_in_modality_cannot_be_taken_over_by_a_plug_in():
    modality("image")  # the built-in package registers it
    with pytest.raises(DxError, match="The modality 'image' is registered already, by "
                                      "dxcore.images.model.ImageModel"):
        register_modality(Modality("image", SecondModel))


def test_replace_substitutes_a_modality_on_purpose():
    register_modality(Modality("clash", FirstModel))
    register_modality(Modality("clash", SecondModel), replace=True)
    assert modality("clash").model_class is SecondModel


def test_a_second_explainer_under_a_taken_method_name_is_refused():
    register_explainer("clash", "map", FirstMethod(), default=True)
    with pytest.raises(DxError, match="The explanation method 'map' of the modality 'clash' "
                                      "is registered already"):
        register_explainer("clash", "map", SecondMethod())
    assert isinstance(get_explainer("clash", "map"), FirstMethod)
    register_explainer("clash", "map", SecondMethod(), replace=True)
    assert isinstance(get_explainer("clash", "map"), SecondMethod)
    assert explainers_for("clash") == ["map"]


def test_one_explainer_class_may_serve_several_modalities_and_methods():
    """As the toy plug-in reuses the ECG Grad-CAM: a name is taken per modality."""
    register_explainer("clash", "map", FirstMethod())
    register_explainer("other", "map", FirstMethod())
    register_explainer("clash", "map-again", FirstMethod())
    assert explainers_for("clash") == ["map", "map-again"]


def test_a_plug_in_imported_again_replaces_its_own_registration(tmp_path, monkeypatch):
    """A reload (as Streamlit does with a changed module) defines the classes anew at the
    same place: that is the same registration, not a clash."""
    (tmp_path / "replug.py").write_text(
        "from dxcore.contract import DxModel\n"
        "from dxcore.explain import Explainer, register_explainer\n"
        "from dxcore.registry import Modality, register_modality\n\n"
        "class ReModel(DxModel):\n    modality = 'replug'\n\n"
        "class ReMethod(Explainer):\n    label = 'again'\n\n"
        "register_explainer('replug', 'again', ReMethod(), default=True)\n"
        "register_modality(Modality('replug', ReModel))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "replug", raising=False)
    first = importlib.import_module("replug")
    old_class = first.ReModel
    again = importlib.reload(first)
    assert again.ReModel is not old_class  # a new class object ...
    assert modality("replug").model_class is again.ReModel  # ... that replaced the old one
    assert isinstance(get_explainer("replug", "again"), again.ReMethod)
    monkeypatch.delitem(sys.modules, "replug")
