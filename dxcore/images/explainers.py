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

import numpy as np
from PIL import Image

from dxcore.explain import MapExplainer, register_explainer

# The colours of every image map (matplotlib's), low to high influence.
COLOUR_MAP = "jet"


class GradCamPlusPlus(MapExplainer):
    label = "Grad-CAM++"
    reference = ("Chattopadhyay A, Sarkar A, Howlader P, Balasubramanian VN, \"Grad-CAM++: "
                 "Improved Visual Explanations for Deep Convolutional Networks\", WACV 2018")
    how_to_read = (
        "A coarse map (the last convolutional layer's grid, about 8 x 8 cells, smoothed up "
        "to the image): warm regions are those whose features most raised the score of the "
        "class shown. It says where, not what: blobs are wider than any finding, and can "
        "sit on markers, borders or text.")

    def compute(self, network, x, score, layer):
        from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
        return GradcamPlusPlus(network, clone=False)(score, x, penultimate_layer=layer)


class FasterScoreCam(MapExplainer):
    label = "Faster Score-CAM"
    reference = ("Wang H, Wang Z, Du M et al., \"Score-CAM: Score-Weighted Visual Explanations "
                 "for Convolutional Neural Networks\", CVPR Workshops 2020")
    how_to_read = (
        "Each of the last layer's most active feature maps masks the image, and the map "
        "weighs it by how much the masked image alone keeps the class probability: warm "
        "regions are those that, shown alone, keep the model's reading. Coarse like "
        "Grad-CAM++, but without gradients, so less noisy where the network saturates.")

    def __init__(self, max_channels: int = 16):
        self.max_channels = max_channels

    def compute(self, network, x, score, layer):
        # tf-keras-vis applies a softmax to the masked images' outputs before ``score``, so
        # each channel is weighed by the class probability, as in the paper.
        import keras
        from tf_keras_vis.scorecam import Scorecam

        # Scorecam calls ``model.predict``, whose progress bar would land on stdout (and
        # break the CLI's one-JSON-object-per-line output). Keras keeps this switch per
        # thread, and Streamlit runs each rerun in a new thread: set it on every call.
        keras.config.disable_interactive_logging()
        return Scorecam(network, clone=False)(score, x, penultimate_layer=layer,
                                              max_N=self.max_channels)


class SmoothGrad(MapExplainer):
    label = "SmoothGrad"
    reference = ("Smilkov D, Thorat N, Kim B, Viégas F, Wattenberg M, \"SmoothGrad: removing "
                 "noise by adding noise\", arXiv:1706.03825 (2017)")
    how_to_read = (
        "Pixel by pixel: how strongly a small change of each pixel would change the class's "
        "score, averaged over 20 noisy copies of the image. Fine-grained and speckled: "
        "look for clusters and edges, not single hot pixels; it shows sensitivity, not "
        "evidence.")

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


def colour_bar(width: int = 256, height: int = 12) -> np.ndarray:
    """The maps' colour scale, low (left) to high (right) influence, as RGB uint8.

    >>> colour_bar(4, 2).shape
    (2, 4, 3)
    """
    import matplotlib  # drawing only: prediction need not import it

    ramp = np.tile(np.linspace(0.0, 1.0, width), (height, 1))
    return (matplotlib.colormaps[COLOUR_MAP](ramp)[..., :3] * 255).astype(np.uint8)


def overlay(pixels: np.ndarray, saliency: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    """The grayscale image with the map (jet colours) blended on top, as RGB uint8, at the
    image's own resolution."""
    height, width = pixels.shape
    if saliency.shape != pixels.shape:  # an ImageMap's saliency is at the image's size already
        saliency = resize_map(saliency, (width, height))
    import matplotlib

    # Colours as uint8 and blending in float32: at a 1024-pixel image, float64 RGBA
    # copies would take hundreds of megabytes.
    heat = matplotlib.colormaps[COLOUR_MAP](saliency, bytes=True)[..., :3]
    blended = pixels[..., None] * np.float32((1 - opacity) * 255) + heat * np.float32(opacity)
    return np.clip(blended, 0, 255).astype(np.uint8)
