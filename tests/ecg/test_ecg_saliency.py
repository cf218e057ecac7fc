"""Per-beat saliency over time (Grad-CAM on the Conv1D front-end, gradient Saliency):
shapes in memory and after save/reload, the page's call, and the model-parameter
randomisation test of Adebayo J et al., "Sanity Checks for Saliency Maps", NeurIPS 2018."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.stats import spearmanr

from dxcore.architectures import ecg_beat_rnn
from dxcore.ecg import analyse_record, beat_saliency, features, load_record
from dxcore.errors import DxError
from dxcore.explain import SIGNAL_EXPLAINERS, get_explainer

METHODS = sorted(SIGNAL_EXPLAINERS)


@pytest.fixture(scope="module")
def small_rnn(tmp_path_factory) -> dict[str, keras.Model]:
    keras.utils.set_random_seed(3)
    model = ecg_beat_rnn()
    path = tmp_path_factory.mktemp("ecg") / "small.keras"
    model.save(path)
    return {"in memory": model, "reloaded": keras.saving.load_model(path, safe_mode=True)}


@pytest.mark.parametrize("where", ["in memory", "reloaded"])
@pytest.mark.parametrize("method", METHODS)
def test_map_over_time_shape_and_range(small_rnn, method, where):
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(1, features.WINDOW, 2)).astype(np.float32),
         rng.uniform(0.5, 1.5, (1, len(features.CONTEXT_FEATURES))).astype(np.float32)]
    saliency = get_explainer(method, SIGNAL_EXPLAINERS)(small_rnn[where], x, class_index=2)
    assert saliency.shape == (features.WINDOW,) and saliency.dtype == np.float32
    assert saliency.min() >= 0.0 and saliency.max() <= 1.0


def test_unknown_signal_method_is_a_clear_error():
    with pytest.raises(DxError, match="Choose one of: gradcam, saliency"):
        get_explainer("gradcam++", SIGNAL_EXPLAINERS)


@pytest.fixture(scope="module")
def analysis_233(ecg_model, mitdb_root):
    return analyse_record(ecg_model, load_record(mitdb_root / "233"))


@pytest.mark.parametrize("method", METHODS)
def test_beat_saliency_for_the_page(ecg_model, analysis_233, method):
    index = int(np.flatnonzero(analysis_233.labels == "V")[0])
    band = beat_saliency(ecg_model, analysis_233, index, method)
    assert band.saliency.shape == band.waveform.shape == band.times_s.shape == (128,)
    assert band.predicted == band.explained_class == "V" and band.method == method
    assert band.times_s[0] == pytest.approx(-0.25) and band.times_s[-1] < 0.47
    assert band.start_s == pytest.approx(analysis_233.times[index] - 0.25)
    with pytest.raises(DxError, match="no beat"):
        beat_saliency(ecg_model, analysis_233, 10**6, method)


@pytest.mark.parametrize("method", METHODS)
def test_map_depends_on_learned_weights(ecg_model, analysis_233, method):
    """Adebayo's cascading test at its most severe step: every weight re-initialised."""
    trained = ecg_model.keras_model
    keras.utils.set_random_seed(0)
    randomised = keras.models.clone_model(trained)  # same architecture, fresh weights
    explainer = get_explainer(method, SIGNAL_EXPLAINERS)
    labels = analysis_233.labels
    chosen = np.concatenate([np.flatnonzero(labels == c)[:2] for c in ("N", "V", "S", "F")])
    correlations = []
    for index in chosen:
        x = ecg_model.prepare({k: v[index:index + 1] for k, v in analysis_233.inputs.items()})
        class_index = ecg_model.card.class_names.index(labels[index])
        learned = explainer(trained, x, class_index)
        random = explainer(randomised, x, class_index)
        correlations.append(spearmanr(learned, random).statistic)
    assert len(correlations) >= 6
    assert np.nanmean(correlations) < 0.5, correlations
