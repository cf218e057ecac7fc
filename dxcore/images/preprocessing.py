"""Image preprocessing: what the network sees of a decoded image, as in training.

Example:
    >>> import numpy as np
    >>> prepare_for_model(np.random.rand(300, 200).astype(np.float32), 128).shape
    (128, 128)
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from skimage.exposure import equalize_hist


def resize_for_model(pixels: np.ndarray, side: int) -> np.ndarray:
    """Squash to ``side`` x ``side`` as the training images were (aspect ratio not kept)."""
    image = Image.fromarray(pixels.astype(np.float32), mode="F")
    return np.asarray(image.resize((side, side), Image.BILINEAR), dtype=np.float32)


def standardize(pixels: np.ndarray) -> np.ndarray:
    """Per-image z-score: removes the exposure and contrast differences between machines."""
    return (pixels - pixels.mean()) / max(float(pixels.std()), 1e-6)


def equalize(pixels: np.ndarray) -> np.ndarray:
    """Per-image histogram equalisation to [0, 1] (256 bins over the image's own range):
    about the image's intensity ranks, so that a change of exposure or contrast between
    machines (linear) leaves it unchanged, and any other monotone one (gamma) almost so."""
    return equalize_hist(pixels, nbins=256).astype(np.float32)


NORMALIZATIONS = {"unit": lambda pixels: pixels, "zscore": standardize, "equalize": equalize}


def prepare_for_model(pixels: np.ndarray, side: int, normalization: str = "unit") -> np.ndarray:
    """What a network sees: resized as in training, then ``"unit"`` (kept in [0, 1]),
    ``"zscore"`` (:func:`standardize`) or ``"equalize"`` (:func:`equalize`), as the card's
    ``runtime.input.normalization`` says."""
    return NORMALIZATIONS[normalization](resize_for_model(pixels, side))
