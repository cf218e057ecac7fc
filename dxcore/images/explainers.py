"""Saliency maps of image models through tf-keras-vis: which pixels drove a prediction.

Each method is a :class:`~dxcore.explain.MapExplainer` overriding ``compute``; maps come out
at the network's input resolution, in [0, 1]; :func:`resize_map` and :func:`overlay` bring
them to the uploaded image's own.

- Grad-CAM++: Chattopadhyay A et al., WACV 2018 (the default; one backward pass).
- Faster Score-CAM: Wang H et al., CVPR Workshops 2020, with tf-keras-vis's ``max_N``
  keeping only the N most active channels, which bounds the cost.
- SmoothGrad: Smilkov D et al., arXiv:1706.03825 (2017); gradients averaged over noisy copies.

Example:
    >>> import numpy as np
    >>> from dxcore.images.network import chest_xray_cnn
    >>> x = np.random.rand(1, 64, 64, 1).astype(np.float32)
    >>> GradCamPlusPlus().compute(chest_xray_cnn(64), x, lambda out: out[:, 1],
    ...                           "last_conv").shape
    (1, 64, 64)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import matplotlib
import numpy as np
from PIL import Image

from dxcore.explain import MapExplainer, register_explainer


class GradCamPlusPlus(MapExplainer):
    label = "Grad-CAM++"
    reference = "Chattopadhyay A et al., WACV 2018"

    def compute(self, network, x, score, layer):
        from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
        return GradcamPlusPlus(network, clone=False)(score, x, penultimate_layer=layer)


class FasterScoreCam(MapExplainer):
    label = "Faster Score-CAM"
    reference = "Wang H et al., CVPR Workshops 2020"

    def __init__(self, max_channels: int = 16):
        self.max_channels = max_channels

    def compute(self, network, x, score, layer):
        # tf-keras-vis applies a softmax to the masked images' outputs before ``score``, so
        # each channel is weighed by the class probability, as in the paper.
        from tf_keras_vis.scorecam import Scorecam

        # Scorecam calls ``model.predict``, whose progress bar would land on stdout (and
        # break the CLI's one-JSON-object-per-line output). Keras keeps this switch per
        # thread, and Streamlit runs each rerun in a new thread: set it on every call.
        keras.config.disable_interactive_logging()
        return Scorecam(network, clone=False)(score, x, penultimate_layer=layer,
                                              max_N=self.max_channels)


class SmoothGrad(MapExplainer):
    label = "SmoothGrad"
    reference = "Smilkov D et al., arXiv:1706.03825 (2017)"

    def __init__(self, samples: int = 20, noise: float = 0.15):
        self.samples, self.noise = samples, noise

    def compute(self, network, x, score, layer):
        from tf_keras_vis.saliency import Saliency
        return Saliency(network, clone=False)(score, x, smooth_samples=self.samples,
                                              smooth_noise=self.noise)


register_explainer("image", "gradcam++", GradCamPlusPlus(), default=True)
register_explainer("image", "scorecam", FasterScoreCam())
register_explainer("image", "smoothgrad", SmoothGrad())


@dataclass
class ImageMap:
    """An image map read on the uploaded image: the map at the image's own resolution and
    where it peaks (x, y); :meth:`save` writes the overlay as a PNG."""

    pixels: np.ndarray
    saliency: np.ndarray
    saved: str | None = None

    @property
    def peak_xy(self) -> tuple[int, int]:
        peak_y, peak_x = np.unravel_index(int(self.saliency.argmax()), self.saliency.shape)
        return int(peak_x), int(peak_y)

    def save(self, folder: Path, stem: str, method: str) -> None:
        target = folder / f"{stem}.{method}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(overlay(self.pixels, self.saliency)).save(target)
        self.saved = str(target)

    def as_json(self) -> dict:
        return {"peak_xy": list(self.peak_xy), **({"overlay": self.saved} if self.saved else {})}

    def text(self) -> list[str]:
        x, y = self.peak_xy
        return [f"map peaks at x={x}, y={y}" + (f"; overlay {self.saved}" if self.saved else "")]


def resize_map(saliency: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a [0, 1] map to ``size`` = (width, height)."""
    image = Image.fromarray(saliency.astype(np.float32), mode="F")
    return np.clip(np.asarray(image.resize(size, Image.BILINEAR)), 0.0, 1.0)


def overlay(pixels: np.ndarray, saliency: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    """The grayscale image with the map (jet colours) blended on top, as RGB uint8, at the
    image's own resolution."""
    height, width = pixels.shape
    if saliency.shape != pixels.shape:  # an ImageMap's saliency is at the image's size already
        saliency = resize_map(saliency, (width, height))
    heat = matplotlib.colormaps["jet"](saliency)[..., :3]
    gray = np.repeat(pixels[..., None], 3, axis=-1)
    blended = (1 - opacity) * gray + opacity * heat
    return (np.clip(blended, 0, 1) * 255).astype(np.uint8)
