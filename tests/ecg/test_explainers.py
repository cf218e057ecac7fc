"""Per-beat saliency over time (Grad-CAM on the Conv1D front-end, gradient Saliency):
shapes in memory and after save/reload, the page's call, and the model-parameter
randomisation test of Adebayo J et al., "Sanity Checks for Saliency Maps", NeurIPS 2018."""

from __future__ import annotations

import time

import keras
import numpy as np
import pytest
from scipy.stats import spearmanr

from dxcore.ecg import preprocessing as features
from dxcore.ecg.network import ecg_beat_rnn
from dxcore.errors import DxError
from dxcore.explain import explainers_for, get_explainer, rescaled

METHODS = explainers_for("ecg")


@pytest.fixture(scope="module")
def small_rnn(tmp_path_factory) -> dict[str, keras.Model]:
    keras.utils.set_random_seed(3)
    model = ecg_beat_rnn()
    path = tmp_path_factory.mktemp("ecg") / "small.keras"
    model.save(path)
    return {"in memory": model, "reloaded": keras.saving.load_model(path, safe_mode=True)}


@pytest.mark.parametrize("where", ["in memory", "reloaded"])
@pytest.mark.parametrize("method", METHODS)
def test_map_over_time_shape_and_range(ecg_model, small_rnn, method, where):
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(3, features.WINDOW, 2)).astype(np.float32),
         rng.uniform(0.5, 1.5, (3, len(features.CONTEXT_FEATURES))).astype(np.float32)]
    maps = get_explainer("ecg", method).attribute(ecg_model, small_rnn[where], x,
                                                  np.array([2, 0, 1]))
    assert maps.shape == (3, features.WINDOW) and maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0


@pytest.mark.parametrize("method", METHODS)
def test_traced_maps_equal_tf_keras_vis(ecg_model, small_rnn, method):
    """The traced gradients give tf-keras-vis's own maps (its eager call, as before)."""
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.saliency import Saliency

    network = small_rnn["in memory"]
    rng = np.random.default_rng(1)
    x = [rng.normal(size=(3, features.WINDOW, 2)).astype(np.float32),
         rng.uniform(0.5, 1.5, (3, len(features.CONTEXT_FEATURES))).astype(np.float32)]
    classes = np.array([2, 0, 1])

    def score(output):
        return [output[k, int(c)] for k, c in enumerate(classes)]

    if method == "gradcam":
        eager = Gradcam(network, clone=False)(score, x,
                                              penultimate_layer=ecg_model.card.explainer_layer)
    else:
        eager = Saliency(network, clone=False)(score, x)
    traced = get_explainer("ecg", method).attribute(ecg_model, network, x, classes)
    np.testing.assert_allclose(traced, rescaled(np.asarray(eager[0]))[0], atol=1e-5)



def test_sessions_at_once_share_one_trace(ecg_model, monkeypatch):
    """Sessions that explain their first beat at the same moment trace one graph, not one
    each (tracing takes seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    explainer = type(get_explainer("ecg", "gradcam"))()
    traces = []
    trace = explainer.trace

    def counted(network, layer):
        traces.append(layer)
        time.sleep(0.2)  # as slow as a real first trace, so that the others arrive meanwhile
        return trace(network, layer)

    monkeypatch.setattr(explainer, "trace", counted)
    keras.utils.set_random_seed(4)
    network = ecg_beat_rnn()
    x = [np.zeros((1, features.WINDOW, 2), np.float32),
         np.ones((1, len(features.CONTEXT_FEATURES)), np.float32)]
    with ThreadPoolExecutor(4) as sessions:
        maps = list(sessions.map(
            lambda _: explainer.attribute(ecg_model, network, x, np.array([0])), range(4)))
    assert len(traces) == 1
    assert all(m.shape == (1, features.WINDOW) for m in maps)

def test_unknown_signal_method_is_a_clear_error():
    with pytest.raises(DxError, match="Choose one of: gradcam, saliency"):
        get_explainer("ecg", "gradcam++")


@pytest.fixture(scope="module")
def result_233(ecg_model, mitdb_root):
    return ecg_model.predict(mitdb_root / "233")


@pytest.mark.parametrize("method", METHODS)
def test_beat_saliency_for_the_page(ecg_model, result_233, method):
    analysis = result_233.detail
    index = int(np.flatnonzero(analysis.labels == "V")[0])
    band = ecg_model.explain(result_233, method, item=index).detail
    assert band.saliency.shape == band.waveform.shape == band.times_s.shape == (128,)
    assert band.predicted == band.explained_class == "V" and band.method == method
    assert band.times_s[0] == pytest.approx(-0.25) and band.times_s[-1] < 0.47
    assert band.start_s == pytest.approx(analysis.times[index] - 0.25)
    with pytest.raises(DxError, match="no item"):
        ecg_model.explain(result_233, method, item=10**6)


@pytest.mark.parametrize("method", METHODS)
def test_batched_explanations_equal_one_at_a_time(ecg_model, result_233, method):
    items = np.flatnonzero(result_233.decisions != "N")[:5].tolist()
    together = ecg_model.explain_all(result_233, method, items)
    for item in items:
        alone = ecg_model.explain(result_233, method, item=item)
        np.testing.assert_allclose(together[item].values, alone.values, atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_map_depends_on_learned_weights(ecg_model, result_233, method):
    """Adebayo's cascading test at its most severe step: every weight re-initialised."""
    trained = ecg_model.network
    keras.utils.set_random_seed(0)
    randomised = keras.models.clone_model(trained)  # same architecture, fresh weights
    explainer = get_explainer("ecg", method)
    labels = result_233.decisions
    chosen = np.concatenate([np.flatnonzero(labels == c)[:2] for c in ("N", "V", "S", "F")])
    correlations = []
    for index in chosen:
        learned = explainer(ecg_model, result_233, [int(index)])[0].values
        random = explainer(ecg_model, result_233, [int(index)], network=randomised)[0].values
        correlations.append(spearmanr(learned, random).statistic)
    assert len(correlations) >= 6
    assert np.nanmean(correlations) < 0.5, correlations
