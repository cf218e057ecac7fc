"""Saliency maps through tf-keras-vis: which pixels drove a prediction.

A small base class holds the shared flow (score the class, compute, normalise to [0, 1]);
each method overrides :meth:`Explainer.compute`. Maps come out at the model's input
resolution; :func:`resize_map` and :func:`overlay` bring them to the uploaded image's own.

- Grad-CAM++: Chattopadhyay A et al., WACV 2018 (the default; one backward pass).
- Faster Score-CAM: Wang H et al., CVPR Workshops 2020, with tf-keras-vis's ``max_N``
  keeping only the N most active channels, which bounds the cost.
- SmoothGrad: Smilkov D et al., arXiv:1706.03825 (2017); gradients averaged over noisy copies.

For signals (one ECG beat, maps over time) there is :data:`SIGNAL_EXPLAINERS`:

- Grad-CAM: Selvaraju RR et al., ICCV 2017, on the Conv1D front-end (``last_conv``).
- Saliency: Simonyan K et al., arXiv:1312.6034 (2014); the gradient magnitude per sample.

Multi-input models (a beat and its RR intervals) take a list of arrays; the signal
explainers return the map over the first input.

Example:
    >>> import numpy as np
    >>> from dxcore.architectures import chest_xray_cnn
    >>> explainer = get_explainer("gradcam++")
    >>> explainer(chest_xray_cnn(64), np.random.rand(1, 64, 64, 1), class_index=1).shape
    (64, 64)
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import matplotlib
import numpy as np
import tensorflow as tf
from PIL import Image

from dxcore.architectures import LAST_CONV
from dxcore.errors import DxError

Score = Callable[[tf.Tensor], tf.Tensor]


class Explainer:
    """Shared flow: pick the score for ``class_index``, compute the raw map, normalise it."""

    label = "base"

    def __call__(self, model: keras.Model, x: np.ndarray, class_index: int,
                 layer: str = LAST_CONV) -> np.ndarray:
        raw = np.asarray(self.compute(model, x, self.score(class_index), layer), np.float32)
        raw = np.squeeze(raw[0]) if raw.ndim > 2 else raw
        span = float(raw.max() - raw.min())
        return (raw - raw.min()) / span if span > 0 else np.zeros_like(raw)

    @staticmethod
    def score(class_index: int) -> Score:
        """The class logit: the quantity each method attributes."""
        return lambda output: output[:, class_index]

    def compute(self, model: keras.Model, x: np.ndarray, score: Score,
                layer: str) -> np.ndarray:
        raise NotImplementedError


class GradCamPlusPlus(Explainer):
    label = "Grad-CAM++"

    def compute(self, model, x, score, layer):
        from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
        return GradcamPlusPlus(model, clone=False)(score, x, penultimate_layer=layer)


class FasterScoreCam(Explainer):
    label = "Faster Score-CAM"

    def __init__(self, max_channels: int = 16):
        self.max_channels = max_channels

    def compute(self, model, x, score, layer):
        # tf-keras-vis applies a softmax to the masked images' outputs before ``score``, so
        # each channel is weighed by the class probability, as in the paper.
        from tf_keras_vis.scorecam import Scorecam

        # Scorecam calls ``model.predict``, whose progress bar would land on stdout (and
        # break the CLI's one-JSON-object-per-line output). Keras keeps this switch per
        # thread, and Streamlit runs each rerun in a new thread: set it on every call.
        keras.config.disable_interactive_logging()
        return Scorecam(model, clone=False)(score, x, penultimate_layer=layer,
                                            max_N=self.max_channels)


class SmoothGrad(Explainer):
    label = "SmoothGrad"

    def __init__(self, samples: int = 20, noise: float = 0.15):
        self.samples, self.noise = samples, noise

    def compute(self, model, x, score, layer):
        from tf_keras_vis.saliency import Saliency
        return Saliency(model, clone=False)(score, x, smooth_samples=self.samples,
                                            smooth_noise=self.noise)


class GradCam(Explainer):
    label = "Grad-CAM"

    def compute(self, model, x, score, layer):
        from tf_keras_vis.gradcam import Gradcam
        cam = Gradcam(model, clone=False)(score, x, penultimate_layer=layer)
        return _first_input(cam, x)


class Saliency(Explainer):
    label = "Saliency"

    def compute(self, model, x, score, layer):
        from tf_keras_vis.saliency import Saliency as VanillaSaliency
        return _first_input(VanillaSaliency(model, clone=False)(score, x), x)


def _first_input(maps, x) -> np.ndarray:
    """The map over the first input, without the batch axis (one case per call)."""
    return np.asarray(maps[0] if isinstance(x, list) else maps)[0]


EXPLAINERS: dict[str, Explainer] = {
    "gradcam++": GradCamPlusPlus(),
    "scorecam": FasterScoreCam(),
    "smoothgrad": SmoothGrad(),
}
DEFAULT_METHOD = "gradcam++"
SIGNAL_EXPLAINERS: dict[str, Explainer] = {"gradcam": GradCam(), "saliency": Saliency()}


def get_explainer(method: str, choices: dict[str, Explainer] = EXPLAINERS) -> Explainer:
    """The explainer called ``method`` among ``choices`` (image methods by default)."""
    try:
        return choices[method.lower()]
    except KeyError:
        raise DxError(f"Unknown explanation method '{method}'. Choose one of: "
                      f"{', '.join(choices)}.") from None


def resize_map(saliency: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a [0, 1] map to ``size`` = (width, height)."""
    image = Image.fromarray(saliency.astype(np.float32), mode="F")
    return np.clip(np.asarray(image.resize(size, Image.BILINEAR)), 0.0, 1.0)


def overlay(pixels: np.ndarray, saliency: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    """The grayscale image with the map (jet colours) blended on top, as RGB uint8, at the
    image's own resolution."""
    height, width = pixels.shape
    heat = matplotlib.colormaps["jet"](resize_map(saliency, (width, height)))[..., :3]
    gray = np.repeat(pixels[..., None], 3, axis=-1)
    blended = (1 - opacity) * gray + opacity * heat
    return (np.clip(blended, 0, 1) * 255).astype(np.uint8)
