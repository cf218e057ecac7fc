"""Saliency maps: shapes for every method (in memory and after save/reload), the overlay at
the upload's own resolution, and the model-parameter randomisation test of Adebayo J et al.,
"Sanity Checks for Saliency Maps", NeurIPS 2018."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.stats import spearmanr

from dxcore.errors import DxError
from dxcore.explain import explainers_for, get_explainer
from dxcore.images.explainers import overlay, resize_map
from dxcore.images.network import chest_xray_cnn

METHODS = explainers_for("image")


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> dict[str, keras.Model]:
    keras.utils.set_random_seed(1)
    model = chest_xray_cnn(64)
    path = tmp_path_factory.mktemp("model") / "small.keras"
    model.save(path)
    return {"in memory": model, "reloaded": keras.saving.load_model(path, safe_mode=True)}


@pytest.mark.parametrize("where", ["in memory", "reloaded"])
@pytest.mark.parametrize("method", METHODS)
def test_map_shape_and_range(cxr_model, small_model, method, where):
    x = np.random.default_rng(0).random((1, 64, 64, 1), dtype=np.float32)
    maps = get_explainer("image", method).attribute(cxr_model, small_model[where], x,
                                                    np.array([1]))
    assert maps.shape == (1, 64, 64)
    assert maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0


def test_unknown_method_is_a_clear_error():
    with pytest.raises(DxError, match="Choose one of: gradcam\\+\\+, scorecam, smoothgrad"):
        get_explainer("image", "lime")


def test_explanation_of_a_prediction_is_at_input_and_upload_resolution(cxr_model,
                                                                      test_xray_bytes):
    result = cxr_model.predict(test_xray_bytes)
    explanation = cxr_model.explain(result, "gradcam++")
    side = cxr_model.card.input_spec["side"]
    assert explanation.values.shape == (side, side)
    assert explanation.class_name == result.decisions[0]
    image_map = explanation.detail
    assert image_map.saliency.shape == result.detail.image.pixels.shape
    assert explanation.as_json() == {"method": "gradcam++", "peak_xy": list(image_map.peak_xy)}


def test_overlay_is_rgb_at_the_image_resolution():
    pixels = np.linspace(0, 1, 300 * 517, dtype=np.float32).reshape(517, 300)
    saliency = np.zeros((16, 16), np.float32)
    saliency[4, 4] = 1.0
    blended = overlay(pixels, saliency, opacity=0.5)
    assert blended.shape == (517, 300, 3) and blended.dtype == np.uint8
    resized = resize_map(saliency, (300, 517))
    peak_y, peak_x = np.unravel_index(resized.argmax(), resized.shape)
    # The hot cell (row 4, column 4 of 16) lands in the same place on the big image.
    assert abs(peak_x - 4.5 / 16 * 300) < 300 / 16 and abs(peak_y - 4.5 / 16 * 517) < 517 / 16


def test_zero_opacity_shows_the_image_unchanged():
    pixels = np.random.default_rng(2).random((40, 50), dtype=np.float32)
    blended = overlay(pixels, np.ones((8, 8), np.float32), opacity=0.0)
    assert np.allclose(blended[..., 0] / 255.0, pixels, atol=1 / 255)


@pytest.mark.parametrize("method", [
    pytest.param(m, marks=pytest.mark.slow) if m == "smoothgrad" else m for m in METHODS])
def test_map_depends_on_learned_weights(cxr_model, test_batch, method):
    """Adebayo's cascading test at its most severe step: every weight re-initialised. A map
    that barely changes would be explaining the image, not the model."""
    trained = cxr_model.network
    keras.utils.set_random_seed(0)
    randomised = keras.models.clone_model(trained)  # same architecture, fresh weights
    explainer = get_explainer("image", method)
    correlations = []
    # SmoothGrad costs 20 passes a map: every other image (two of each class) suffices.
    for x in test_batch[::2] if method == "smoothgrad" else test_batch:
        class_index = np.argmax(np.asarray(trained(x[None], training=False)), axis=1)
        learned = explainer.attribute(cxr_model, trained, x[None], class_index)[0]
        random = explainer.attribute(cxr_model, randomised, x[None], class_index)[0]
        correlations.append(spearmanr(learned.ravel(), random.ravel()).statistic)
    assert np.nanmean(correlations) < 0.5, correlations
