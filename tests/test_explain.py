"""The explainer registry and base class: methods per modality, the default first, one
clear error for an unknown method or item, and per-item [0, 1] maps."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.errors import DxError
from dxcore.explain import (
    Explainer,
    MapExplainer,
    default_method,
    explainers_for,
    get_explainer,
    register_explainer,
)
from dxcore.registry import modalities


class Raw(MapExplainer):
    """A 'map' that is the input itself: checks the base class's per-item rescaling."""

    def compute(self, network, x, score, layer):
        return x


def test_each_built_in_modality_lists_its_methods_default_first():
    modalities()  # each built-in package registers its explainers when imported
    assert explainers_for("image") == ["gradcam++", "scorecam", "smoothgrad"]
    assert explainers_for("ecg") == ["gradcam", "saliency"]
    assert explainers_for("record") == ["ig"]
    assert default_method("image") == "gradcam++"


def test_a_modality_registers_its_own_methods():
    register_explainer("test-modality", "first", Raw())
    register_explainer("test-modality", "preferred", Raw(), default=True)
    assert explainers_for("test-modality") == ["preferred", "first"]
    assert isinstance(get_explainer("test-modality", "FIRST"), Explainer)  # any case


def test_an_unknown_method_names_the_modalitys_choices():
    with pytest.raises(DxError, match="'lime' for this model. Choose one of: ig."):
        get_explainer("record", "lime")


def test_maps_are_rescaled_to_0_1_per_item_and_a_flat_one_stays_zero(cxr_model):
    x = np.stack([np.linspace(2, 4, 6), np.full(6, 3.0)]).astype(np.float32)
    maps = Raw().attribute(cxr_model, None, x, np.array([0, 1]))
    np.testing.assert_allclose(maps[0], np.linspace(0, 1, 6), atol=1e-6)
    assert not maps[1].any()


def test_an_item_outside_the_result_is_a_clear_error(cxr_model, test_xray_bytes):
    result = cxr_model.predict(test_xray_bytes)
    with pytest.raises(DxError, match="no item 3"):
        cxr_model.explain(result, "gradcam++", item=3)
    with pytest.raises(DxError, match="Unknown class 'CAT'"):
        cxr_model.explain(result, "gradcam++", class_name="CAT")
