"""Saliency over time of one beat (the map over the beat's waveform input).

- Grad-CAM: Selvaraju RR et al., ICCV 2017, on the Conv1D front-end (``last_conv``); the
  default.
- Saliency: Simonyan K et al., arXiv:1312.6034 (2014); the gradient magnitude per sample.

Both compute what tf-keras-vis computes (its layer search, CAM up-sampling and
normalisation are reused, and ``tests/ecg/test_explainers.py`` checks that the maps equal
its own), but the gradients run in one ``tf.function`` traced once per network: tf-keras-vis
differentiates eagerly, which steps the recurrent layer op by op and took 0.5-0.8 s per
beat, where the traced graph takes milliseconds. The first call on a network pays the trace
(a few seconds): on the page that is the first beat shown, not a later click.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

import keras
import numpy as np

from dxcore.explain import MapExplainer, register_explainer, rescaled

# (network inputs, class index per item) -> the traced gradients and activations
Traced = Callable[[list, np.ndarray], tuple]


def _signature(network: keras.Model) -> list:
    """Any batch size, so that one trace serves one beat and every beat of a record."""
    import tensorflow as tf
    return [[tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype)
             for tensor in network.inputs], tf.TensorSpec((None,), tf.int32)]


def _scores(output, class_indices):
    """Each item's own class logit."""
    import tensorflow as tf
    return tf.gather(output, class_indices, axis=1, batch_dims=1)


class TracedMapExplainer(MapExplainer):
    """A map method whose gradients run in a graph traced once per network (held weakly,
    so that a network its owner drops is freed with its graph)."""

    def __init__(self) -> None:
        self._traced: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        # Sessions share the explainer: without it, first clicks at once each traced a graph.
        self._tracing = threading.Lock()

    def attribute_with_signal(self, model, network, x, class_indices):
        layer = model.card.explainer_layer
        with self._tracing:
            per_network = self._traced.setdefault(network, {})  # one trace per layer
            if layer not in per_network:
                per_network[layer] = self.trace(network, layer)
        # A network of one input takes its batch as one array, not a list.
        inputs = [np.asarray(a, np.float32) for a in (x if isinstance(x, list | tuple) else [x])]
        traced = per_network[layer](inputs, np.asarray(class_indices, np.int32))
        return rescaled(self.finish(inputs, [t.numpy() for t in traced]))

    def trace(self, network: keras.Model, layer: str) -> Traced:
        """The traced function of (inputs, class indices)."""
        raise NotImplementedError

    def finish(self, inputs: list[np.ndarray], traced: list[np.ndarray]) -> np.ndarray:
        """The maps over the first input from the traced outputs, as tf-keras-vis makes them."""
        raise NotImplementedError


class GradCam(TracedMapExplainer):
    label = "Grad-CAM"
    reference = ("Selvaraju RR, Cogswell M, Das A et al., \"Grad-CAM: Visual Explanations "
                 "from Deep Networks via Gradient-based Localization\", ICCV 2017")
    how_to_read = (
        "Over the beat's window, from the convolutional front-end's coarse time grid: dark "
        "segments are the parts of the waveform whose features most raised the class's "
        "score (a wide QRS, an early or missing P wave). Coarse in time; it shows where "
        "the model looked, not a measured interval.")

    def trace(self, network, layer):
        import tensorflow as tf
        from tf_keras_vis.utils.model_modifiers import ExtractIntermediateLayerForGradcam

        # The layer tf-keras-vis would take: the named one, or the convolution before it.
        both = ExtractIntermediateLayerForGradcam(layer, seek_conv_layer=True)(network)

        @tf.function(input_signature=_signature(network))
        def run(inputs, class_indices):
            with tf.GradientTape() as tape:
                *outputs, activations = both(inputs, training=False)
                scores = _scores(outputs[0], class_indices)
            return activations, tape.gradient(scores, activations)
        return run

    def finish(self, inputs, traced):
        from scipy.ndimage import zoom
        from tf_keras_vis.utils import normalize, zoom_factor

        activations, grads = traced
        weights = grads.mean(axis=tuple(range(1, grads.ndim - 1)), keepdims=True)
        cam = np.maximum((activations * weights).sum(axis=-1), 0.0)  # ReLU
        return normalize(zoom(cam, zoom_factor(cam.shape, inputs[0].shape), order=1))


class Saliency(TracedMapExplainer):
    label = "Saliency"
    reference = ("Simonyan K, Vedaldi A, Zisserman A, \"Deep Inside Convolutional Networks: "
                 "Visualising Image Classification Models and Saliency Maps\", "
                 "arXiv:1312.6034 (2014)")
    how_to_read = (
        "Sample by sample: how strongly a small change of the waveform there would change "
        "the class's score. Sharp and noisy; dark stretches show where the model is "
        "sensitive, which is not always where the evidence is.")

    def trace(self, network, layer):
        import tensorflow as tf

        @tf.function(input_signature=_signature(network))
        def run(inputs, class_indices):
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                scores = _scores(network(inputs, training=False), class_indices)
            return [tape.gradient(scores, inputs[0])]
        return run

    def finish(self, inputs, traced):
        from tf_keras_vis.utils import normalize

        # The largest gradient magnitude over the input's channels, per sample.
        return normalize(np.abs(traced[0]).max(axis=-1))


register_explainer("ecg", "gradcam", GradCam(), default=True)
register_explainer("ecg", "saliency", Saliency())
