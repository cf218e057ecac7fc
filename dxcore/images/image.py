"""The decoded image and the checks every image decoder shares (:mod:`dxcore.images.reader`
for PNG, JPEG and TIFF, :mod:`dxcore.images.dicom_io` for DICOM): pixels in [0, 1] at the
image's own resolution, reduced to at most :data:`MAX_KEPT_SIDE` pixels on the long side,
and one :class:`~dxcore.errors.DxError` in plain words for what no model can read.

Example:
    >>> import numpy as np
    >>> check_image(LoadedImage(np.tile(np.linspace(0, 1, 48, dtype=np.float32), (64, 1)),
    ...                         "PNG")).size
    (48, 64)
    >>> reduction_factor(4096, 3072)
    4
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dxcore.errors import DxError

MIN_SIDE = 32
MAX_PIXELS = 50_000_000
# Images are kept at most this many pixels on their long side: the networks read 128 x 128
# (every training and test image is 224 px) and the page shows the image a few hundred
# pixels wide, while a full 50-megapixel image and its float copies would take gigabytes
# (at 2048 px the page path of one still peaked at 1.09 GB). Smaller images are kept
# exactly as stored.
MAX_KEPT_SIDE = 1024
MISSING_PIXELS = "Some pixels of the image are missing or infinite, so it cannot be read " \
    "reliably."


@dataclass
class LoadedImage:
    """A decoded image: grayscale pixels in [0, 1] plus what the reader noticed.

    ``colourfulness`` is measured on the file's own colours before the conversion to
    grayscale (:func:`colourfulness`; 0 for a grayscale file), so that the domain guard
    can tell a colour photograph from a radiograph after both became gray.

    ``stated_age_years`` is the patient's age as a DICOM header states it (None for other
    files and for a DICOM that states none): patient data, read only by the population
    guard (:mod:`dxcore.images.population`), never put in ``facts`` or ``notes``."""

    pixels: np.ndarray
    format: str
    facts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    colourfulness: float = 0.0
    stated_age_years: float | None = field(default=None, repr=False)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, as clinicians and PIL state it."""
        return self.pixels.shape[1], self.pixels.shape[0]


def check_image(image: LoadedImage) -> LoadedImage:
    """Refuse what no model can read, however the image was decoded: not one grayscale
    plane, too small or too large, missing or infinite pixels, or blank."""
    pixels = np.asarray(image.pixels)
    if pixels.ndim != 2:
        raise DxError("The image is not one grayscale plane of pixels.")
    height, width = pixels.shape
    if min(height, width) < MIN_SIDE:
        raise DxError(
            f"The image is only {width}x{height} pixels; at least {MIN_SIDE} pixels "
            "on each side are needed."
        )
    check_pixel_count(width, height)
    if not np.isfinite(pixels).all():
        raise DxError(MISSING_PIXELS)
    refuse_blank(pixels)
    return image


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler D, Suesstrunk S, "Measuring colourfulness in natural images", Proc. SPIE
    5007:87-95 (2003): sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2) over the
    opponent channels rg = R - G and yb = (R + G) / 2 - B, on the 0-255 scale (0: gray;
    about 15: slightly, 33: moderately, over 80: highly colourful)."""
    red, green, blue = (rgb[..., k].astype(np.float32) for k in range(3))
    rg, yb = red - green, 0.5 * (red + green) - blue
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def reduction_factor(width: int, height: int) -> int:
    """The integer factor that brings the long side to at most :data:`MAX_KEPT_SIDE`,
    never so far that the short side falls below :data:`MIN_SIDE` (1: kept as stored)."""
    factor = math.ceil(max(width, height) / MAX_KEPT_SIDE)
    return max(1, min(factor, min(width, height) // MIN_SIDE))


def note_reduction(facts: dict[str, str], original: tuple[int, int],
                   kept: tuple[int, int]) -> list[str]:
    """The reader's notes on a reduced image (none when ``kept`` is ``original``); adds
    the size analysed to ``facts``."""
    if kept == original:
        return []
    facts["Analysed at"] = f"{kept[0]} x {kept[1]} px"
    return [f"The image was reduced from {original[0]}x{original[1]} to {kept[0]}x{kept[1]} "
            f"pixels for analysis and display (at most {MAX_KEPT_SIDE} pixels a side are "
            "kept; the model itself reads a much smaller image)."]


def check_pixel_count(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise DxError(
            f"The image is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"images over {MAX_PIXELS // 1_000_000} megapixels are refused."
        )


def refuse_blank(values: np.ndarray) -> None:
    if float(values.max()) <= float(values.min()):
        raise DxError("The image is blank: every pixel has the same value.")


def to_unit_range(values: np.ndarray) -> np.ndarray:
    # In float64: the span of float32 or rescaled values may overflow float32.
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise DxError(MISSING_PIXELS)
    refuse_blank(values)
    low, high = float(values.min()), float(values.max())
    return ((values - low) / (high - low)).astype(np.float32)
