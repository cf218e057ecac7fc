"""Reading uploaded images: PNG, JPEG and DICOM, from bytes, into a grayscale array.

Every reader returns a :class:`LoadedImage` whose ``pixels`` are float32 in [0, 1] at the
image's own resolution, and raises :class:`~dxcore.errors.DxError` with one plain message
for anything it cannot read. Nothing is written to disk and no patient-identifying DICOM
attribute leaves this module: ``facts`` holds acquisition facts only.

Example:
    >>> import io, numpy as np
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> gradient = np.tile(np.arange(48, dtype=np.uint8), (64, 1))
    >>> Image.fromarray(gradient).save(buffer, format="PNG")
    >>> image = load_image(buffer.getvalue())
    >>> image.pixels.shape, image.format
    ((64, 48), 'PNG')
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dxcore.contract import read_path
from dxcore.errors import DxError

MIN_SIDE = 32
MAX_PIXELS = 50_000_000
MAX_BYTES = 100 * 1024 * 1024

# Acquisition facts that say nothing about who the patient is.
DICOM_FACTS = {
    "Modality": "Modality",
    "ViewPosition": "View",
    "BodyPartExamined": "Body part",
    "PhotometricInterpretation": "Photometric interpretation",
    "BitsStored": "Bits stored",
}


@dataclass
class LoadedImage:
    """A decoded image: grayscale pixels in [0, 1] plus what the reader noticed.

    ``colourfulness`` is measured on the file's own colours before the conversion to
    grayscale (:func:`colourfulness`; 0 for a grayscale file), so that the domain guard
    can tell a colour photograph from a radiograph after both became gray."""

    pixels: np.ndarray
    format: str
    facts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    colourfulness: float = 0.0

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, as clinicians and PIL state it."""
        return self.pixels.shape[1], self.pixels.shape[0]


def load_image(source: bytes | str | Path) -> LoadedImage:
    """Decode PNG, JPEG or DICOM bytes (or a file path) into a :class:`LoadedImage`."""
    data = read_path(source) if isinstance(source, str | Path) else bytes(source)
    if not data:
        raise DxError("The file is empty. Please upload the image again.")
    if len(data) > MAX_BYTES:
        raise DxError(
            f"The file is {len(data) / 2**20:.0f} MB; images over {MAX_BYTES // 2**20} MB "
            "are not accepted."
        )
    reader = _read_dicom if _looks_like_dicom(data) else _read_bitmap
    return check_image(reader(data))


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
    _check_pixel_count(width, height)
    if not np.isfinite(pixels).all():
        raise DxError("Some pixels of the image are missing or infinite, so it cannot be "
                      "read reliably.")
    _refuse_blank(pixels)
    return image


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler D, Suesstrunk S, "Measuring colourfulness in natural images", Proc. SPIE
    5007:87-95 (2003): sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2) over the
    opponent channels rg = R - G and yb = (R + G) / 2 - B, on the 0-255 scale (0: gray;
    about 15: slightly, 33: moderately, over 80: highly colourful)."""
    red, green, blue = (rgb[..., k].astype(np.float32) for k in range(3))
    rg, yb = red - green, 0.5 * (red + green) - blue
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def _colourfulness_of(image: Image.Image) -> float:
    """:func:`colourfulness` of a PIL image, on a copy at most 256 pixels on a side (the
    measure is a global statistic; a thumbnail keeps its cost negligible)."""
    if image.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
        return 0.0
    thumbnail = image.convert("RGB")
    thumbnail.thumbnail((256, 256))
    return colourfulness(np.asarray(thumbnail))


def _looks_like_dicom(data: bytes) -> bool:
    return data[128:132] == b"DICM"


def _check_pixel_count(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise DxError(
            f"The image is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"images over {MAX_PIXELS // 1_000_000} megapixels are refused."
        )


def _refuse_blank(values: np.ndarray) -> None:
    if float(values.max()) <= float(values.min()):
        raise DxError("The image is blank: every pixel has the same value.")


def _to_unit_range(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.float32)
    _refuse_blank(values)
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low)


def _read_bitmap(data: bytes) -> LoadedImage:
    try:
        with warnings.catch_warnings():
            # We enforce our own pixel limit below, before decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image_format = image.format or "PNG"  # exif_transpose's copy drops .format
            _check_pixel_count(*image.size)
            image = ImageOps.exif_transpose(image)
            image.load()
    except DxError:
        raise
    except Image.DecompressionBombError:  # PIL's own limit (far above ours) hit on open
        raise DxError(
            f"The image is too large; images over {MAX_PIXELS // 1_000_000} megapixels are "
            "refused."
        ) from None
    except UnidentifiedImageError:
        raise DxError(
            "This file is not an image that can be read. Please upload a PNG, JPEG or "
            "DICOM file."
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise DxError(
            "The image file is damaged or incomplete (it may have been cut off during "
            "copying). Please upload it again."
        ) from error
    if min(image.size) < MIN_SIDE:  # before blankness: a 1x1 image is too small, not blank
        raise DxError(f"The image is only {image.width}x{image.height} pixels; at least "
                      f"{MIN_SIDE} pixels on each side are needed.")
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        pixels = _to_unit_range(np.asarray(image, dtype=np.float32))
    else:
        pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
        _refuse_blank(pixels)
    facts = {"Format": image_format, "Size": f"{image.width} x {image.height} px"}
    return LoadedImage(pixels=pixels, format=image_format, facts=facts,
                       colourfulness=_colourfulness_of(image))


def _read_dicom(data: bytes) -> LoadedImage:
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    try:
        dataset = pydicom.dcmread(io.BytesIO(data))
    except Exception as error:  # pydicom raises many types for damaged files
        raise DxError("The DICOM file is damaged and cannot be read.") from error
    if "PixelData" not in dataset:
        raise DxError(
            "This DICOM file holds no image (no pixel data); it may be a report or a "
            "structured document."
        )
    rows, columns = int(dataset.get("Rows", 0)), int(dataset.get("Columns", 0))
    _check_pixel_count(columns, rows)
    notes = []
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    try:
        pixels = dataset.pixel_array
    except Exception as error:
        syntax = dataset.file_meta.get("TransferSyntaxUID", "unknown")
        name = getattr(syntax, "name", str(syntax))
        raise DxError(
            f"The DICOM image cannot be decoded (its encoding is {name}). Please export it "
            "uncompressed or as PNG."
        ) from error
    if frames > 1:
        pixels = pixels[0]
        notes.append(f"This DICOM holds {frames} frames; frame 1 is shown and analysed.")
    colour = 0.0
    if pixels.ndim == 3:  # colour DICOM (e.g. a secondary capture): average the channels
        # Measured on the stored values (8-bit for colour DICOM in practice).
        colour = colourfulness(pixels[..., :3])
        pixels = pixels.mean(axis=-1)
    values = apply_modality_lut(pixels, dataset)
    if "WindowCenter" in dataset or "VOILUTSequence" in dataset:
        values = apply_voi_lut(values, dataset, prefer_lut=True)
    unit = _to_unit_range(np.asarray(values))
    if dataset.get("PhotometricInterpretation") == "MONOCHROME1":
        unit = 1.0 - unit  # MONOCHROME1 stores bright as low values
    facts = {"Format": "DICOM", "Size": f"{columns} x {rows} px"}
    for keyword, label in DICOM_FACTS.items():
        if dataset.get(keyword) not in (None, ""):
            facts[label] = str(dataset.get(keyword))
    if frames > 1:
        facts["Frames"] = str(frames)
    return LoadedImage(pixels=unit, format="DICOM", facts=facts, notes=notes,
                       colourfulness=colour)

