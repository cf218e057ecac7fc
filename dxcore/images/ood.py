"""The out-of-domain evaluation set of chest X-ray models: images a chest X-ray model must
refuse, for measuring its domain guard (:mod:`dxcore.images.domain`). It measures; nothing
is ever fitted or tuned on it.

Three sources, each as the bytes of an image file (what an upload gives):

- ``brain MRI``: the 200 brain MRI slices of ``ood_brain_mri`` (another body part and
  modality; see the datasets README);
- ``scikit-image``: the images that ship with scikit-image (``skimage.data``): natural
  photographs, a cat, text and a page, microscopy, astronomy, a retina, textures;
- ``synthetic``: noise, gradients, checkerboards, stripes, a black image with one white
  pixel, rendered text, made here with fixed seeds (``EVALUATION_SEED``).

Example (needs the datasets)::

    from dxcore.images.ood import out_of_domain_set
    sources = {source for source, _, _ in out_of_domain_set()}
    # -> {'brain MRI', 'scikit-image', 'synthetic'}
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dxcore.datasets import data_dir
from dxcore.errors import DxError

EVALUATION_SEED = 20_240_610
BRAIN_MRI_FOLDER = "ood_brain_mri"
# The skimage.data images that ship inside the package (the others are downloaded on
# first use, which this project never does): skipped when missing.
SKIMAGE_NAMES = (
    "astronaut", "binary_blobs", "brick", "camera", "cell", "checkerboard", "chelsea",
    "clock", "coffee", "coins", "colorwheel", "grass", "gravel", "horse",
    "hubble_deep_field", "immunohistochemistry", "logo", "microaneurysms", "moon", "page",
    "retina", "rocket", "shepp_logan_phantom", "text",
)

Sample = tuple[str, str, bytes]  # (source, name, bytes of an image file)


def encode(pixels: np.ndarray, image_format: str = "PNG") -> bytes:
    """An image file of uint8 ``pixels`` (H, W), (H, W, 3) or (H, W, 4)."""
    buffer = io.BytesIO()
    image = Image.fromarray(pixels)
    if image_format == "JPEG" and image.mode == "RGBA":
        image = image.convert("RGB")
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def to_uint8(array: np.ndarray) -> np.ndarray:
    """Any skimage.data array (bool, float in [0, 1], uint8) as uint8."""
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        return (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
    return array.astype(np.uint8)


def brain_mri(data: str | Path | None = None) -> list[Sample]:
    folder = (Path(data) if data else data_dir()) / BRAIN_MRI_FOLDER
    paths = sorted(folder.glob("*.jpg"))
    if not paths:
        raise DxError(f"The brain MRI images are not in {folder}. Set DX_DATA_DIR to the "
                      "datasets folder.")
    return [("brain MRI", path.name, path.read_bytes()) for path in paths]


def scikit_image() -> list[Sample]:
    import skimage.data

    samples = []
    for name in SKIMAGE_NAMES:
        try:
            array = getattr(skimage.data, name)()
        except (AttributeError, ImportError, OSError, ValueError):
            continue  # not in this scikit-image, or one it would have to download
        samples.append(("scikit-image", name, encode(to_uint8(array))))
    return samples


def rendered_text(rng: np.random.Generator, size: tuple[int, int] = (400, 300)) -> np.ndarray:
    """Lines of random words in PIL's default font, black on white, as a document is."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    words = ["patient", "chest", "report", "normal", "findings", "the", "of", "and",
             "impression", "lungs", "clear", "heart", "size", "no", "acute"]
    for line in range(12):
        text = " ".join(rng.choice(words, 6))
        draw.text((12, 10 + 24 * line), text, fill=0, font=font)
    return np.asarray(image)


def synthetic(seed: int = EVALUATION_SEED) -> list[Sample]:
    """Noise, patterns and drawings, each made from ``seed``."""
    rng = np.random.default_rng(seed)
    side = 256
    ys, xs = np.mgrid[0:side, 0:side] / (side - 1)
    one_white = np.zeros((side, side), np.uint8)
    one_white[rng.integers(side), rng.integers(side)] = 255
    one_black = np.full((side, side), 255, np.uint8)
    one_black[rng.integers(side), rng.integers(side)] = 0

    def checkerboard(square: int) -> np.ndarray:
        cells = (np.arange(side)[:, None] // square + np.arange(side)[None, :] // square) % 2
        return (cells * 255).astype(np.uint8)

    def gray(values: np.ndarray) -> np.ndarray:
        return (np.clip(values, 0.0, 1.0) * 255).round().astype(np.uint8)

    makers: dict[str, Callable[[], np.ndarray]] = {
        "uniform noise": lambda: rng.integers(0, 256, (side, side), dtype=np.uint8),
        "uniform noise 512": lambda: rng.integers(0, 256, (512, 512), dtype=np.uint8),
        "gaussian noise": lambda: gray(rng.normal(0.5, 0.15, (side, side))),
        "gaussian noise wide": lambda: gray(rng.normal(0.5, 0.35, (side, 320))),
        "colour noise": lambda: rng.integers(0, 256, (side, side, 3), dtype=np.uint8),
        "salt and pepper": lambda: (rng.random((side, side)) < 0.05).astype(np.uint8) * 255,
        "smooth noise": lambda: gray(np.asarray(Image.fromarray(
            rng.random((8, 8)).astype(np.float32), mode="F").resize((side, side),
                                                                    Image.BICUBIC))),
        "horizontal gradient": lambda: gray(xs),
        "vertical gradient": lambda: gray(ys),
        "diagonal gradient": lambda: gray((xs + ys) / 2),
        "radial gradient": lambda: gray(1 - np.hypot(xs - 0.5, ys - 0.5) * 1.4),
        "colour gradient": lambda: np.stack([gray(xs), gray(ys), gray(1 - xs)], axis=-1),
        "checkerboard 8": lambda: checkerboard(8),
        "checkerboard 32": lambda: checkerboard(32),
        "checkerboard 64": lambda: checkerboard(64),
        "stripes": lambda: gray((np.sin(xs * 2 * np.pi * 12) + 1) / 2),
        "black with one white pixel": lambda: one_white,
        "white with one black pixel": lambda: one_black,
        "white disc on black": lambda: gray((np.hypot(xs - 0.5, ys - 0.5) < 0.3) * 1.0),
        "rendered text": lambda: rendered_text(rng),
        "rendered text, inverted": lambda: 255 - rendered_text(rng),
    }
    samples = []
    for name, make in makers.items():
        pixels = make()
        samples.append(("synthetic", f"{name}.png", encode(pixels)))
    # The same kinds once more as JPEG, as a photo or a screenshot often arrives.
    for name in ("uniform noise", "rendered text", "checkerboard 32", "radial gradient"):
        samples.append(("synthetic", f"{name}.jpeg", encode(makers[name](), "JPEG")))
    return samples


def out_of_domain_set(data: str | Path | None = None) -> list[Sample]:
    """Every image of the three sources, as (source, name, bytes)."""
    return brain_mri(data) + scikit_image() + synthetic()
