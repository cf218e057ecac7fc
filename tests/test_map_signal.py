"""The reading aids of every explanation method, and the flat-map criterion: a map that
carries almost no signal is flagged (its span before the per-item rescaling), so that the
pages say so instead of showing stretched noise as influence."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.explain import FLAT_SPAN, MapExplainer, explainers_for, get_explainer, is_flat

MODALITIES = ("image", "ecg", "record")


class Given(MapExplainer):
    """A 'map' that is the input itself, as tf-keras-vis would hand it over."""

    def compute(self, network, x, score, layer):
        return x


@pytest.mark.parametrize("modality", MODALITIES)
def test_every_method_says_how_to_read_it_and_cites_its_paper(modality):
    for method in explainers_for(modality):
        explainer = get_explainer(modality, method)
        assert len(explainer.how_to_read.split()) >= 20, method
        assert any(year in explainer.reference for year in ("2014", "2017", "2018", "2020"))


def test_a_map_keeps_its_span_before_rescaling_and_a_tiny_one_is_flat(cxr_model):
    # As tf-keras-vis rescales: (m - min) / (max - min + 1e-7). A map of real signal spans
    # about 1; one whose own span is 1e-9 comes out spanning about 0.01.
    signal = np.linspace(0.0, 1.0, 8)
    tiny = 1e-9 * np.linspace(0.0, 1.0, 8)
    given = np.stack([signal, tiny / (tiny.max() + 1e-7), np.zeros(8)]).astype(np.float32)

    maps, spans = Given().attribute_with_signal(cxr_model, None, given, np.array([0, 1, 1]))

    assert spans[0] == pytest.approx(1.0)
    assert spans[1] == pytest.approx(0.01, rel=0.01)
    assert spans[2] == 0
    assert [is_flat(s) for s in spans] == [False, True, True]
    # Rescaling alone would have hidden it: the tiny map is stretched to [0, 1] too.
    np.testing.assert_allclose(maps[1], np.linspace(0, 1, 8), atol=1e-5)
    assert FLAT_SPAN < 0.5


def test_explanations_carry_the_signal_of_their_map(cxr_model, test_xray_bytes):
    result = cxr_model.predict(test_xray_bytes)
    explanation = cxr_model.explain(result, "gradcam++")

    assert explanation.signal > FLAT_SPAN and not explanation.flat  # a real chest X-ray
