"""Reading uploaded images: PNG, JPEG, TIFF and DICOM (:data:`dxcore.intake.IMAGE_FORMATS`,
the one list the pages, the drop zone and the command line read), from bytes, into a
grayscale array.

Every reader returns a :class:`LoadedImage` whose ``pixels`` are float32 in [0, 1] at the
image's own resolution (reduced while decoding to at most :data:`MAX_KEPT_SIDE` pixels on
the long side, with a note saying so), and raises :class:`~dxcore.errors.DxError` with one
plain message for anything it cannot read. Nothing is written to disk and no
patient-identifying DICOM attribute leaves this module: ``facts`` holds acquisition facts only.
The one patient attribute read is a DICOM's stated age (:mod:`dxcore.images.dicom_age`),
kept apart in ``stated_age_years`` for the population guard and never shown or logged.

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
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from dxcore.contract import read_path
from dxcore.errors import DxError
from dxcore.images.dicom_age import stated_age
from dxcore.intake import IMAGE_FORMATS, image_formats_text

if TYPE_CHECKING:
    from pydicom import Dataset

MIN_SIDE = 32
MAX_PIXELS = 50_000_000
MAX_BYTES = 100 * 1024 * 1024
# Images are kept at most this many pixels on their long side: the networks read 128 x 128
# (every training and test image is 224 px) and the page shows the image a few hundred
# pixels wide, while a full 50-megapixel image and its float copies would take gigabytes
# (at 2048 px the page path of one still peaked at 1.09 GB). Smaller images are kept
# exactly as stored.
MAX_KEPT_SIDE = 1024
# Modes Image.reduce averages; other modes are converted to the nearest of them first.
_REDUCIBLE_MODES = {"L", "LA", "La", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr", "I", "F"}
_REDUCIBLE_AS = {"1": "L", "I;16": "I", "I;16B": "I", "I;16L": "I", "I;16N": "I"}
# EXIF orientations that swap width and height (transpose, rotations by 90 degrees).
_QUARTER_TURNS = {5, 6, 7, 8}
# Pillow's refusals of oversized PNG text chunks ("... PngImagePlugin.MAX_TEXT_CHUNK",
# "Too much memory used in text chunks").
_TEXT_LIMIT = re.compile(r"text.chunk", re.IGNORECASE)
_MISSING_PIXELS = "Some pixels of the image are missing or infinite, so it cannot be read " \
    "reliably."
# The pixel data elements of PS3.3 C.7.6.3 (integer) and C.7.6.24 (float, double float).
_PIXEL_DATA = {0x7FE00010, 0x7FE00008, 0x7FE00009}
_INVALID_RESCALE = ("The rescale values of this DICOM (RescaleSlope, RescaleIntercept) are "
                    "not valid numbers or are out of range, so its pixel values cannot be "
                    "interpreted.")
_DAMAGED = "The image file is damaged or incomplete (it may have been cut off during " \
    "copying). Please upload it again."
# The formats Pillow decodes here, and no other (dxcore.intake.IMAGE_FORMATS, which the
# drop zone and the Chest X-ray page read too); a file that begins as one of them but that
# Pillow cannot open is damaged, not something else.
_BITMAP_FORMATS = [known for known in IMAGE_FORMATS if known.decoder == "Pillow"]
_DICOM = next(known for known in IMAGE_FORMATS if known.decoder == "pydicom")
_NOT_AN_IMAGE = (f"This file is not an image that can be read. Please upload a "
                 f"{image_formats_text()} file.")

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


def load_image(source: bytes | str | Path) -> LoadedImage:
    """Decode PNG, JPEG, TIFF or DICOM bytes (or a file path) into a :class:`LoadedImage`;
    any other format is refused."""
    data = read_path(source) if isinstance(source, str | Path) else bytes(source)
    if not data:
        raise DxError("The file is empty. Please upload the image again.")
    if len(data) > MAX_BYTES:
        raise DxError(
            f"The file is {len(data) / 2**20:.0f} MB; images over {MAX_BYTES // 2**20} MB "
            "are not accepted."
        )
    if _DICOM.matches(data):
        return check_image(_read_dicom(data))
    if _looks_like_headerless_dicom(data):
        return check_image(_read_dicom(data, headerless=True))
    return check_image(_read_bitmap(data))


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
        raise DxError(_MISSING_PIXELS)
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


def _looks_like_headerless_dicom(data: bytes) -> bool:
    """Whether ``data`` starts like a DICOM file without its 128-byte preamble and "DICM"
    (old ACR-NEMA files, some stripped exports): straight with a little-endian element of
    the file meta group (0002) or the identifying group (0008), whose next two bytes are
    an explicit VR or an implicit VR's length that fits in the file."""
    from pydicom.valuerep import VR

    if len(data) < 8 or data[:2] not in (b"\x02\x00", b"\x08\x00"):
        return False
    explicit_vr = data[4:6].decode("latin-1")
    return explicit_vr in {vr.value for vr in VR} or \
        int.from_bytes(data[4:8], "little") <= len(data)


def reduction_factor(width: int, height: int) -> int:
    """The integer factor that brings the long side to at most :data:`MAX_KEPT_SIDE`,
    never so far that the short side falls below :data:`MIN_SIDE` (1: kept as stored)."""
    factor = math.ceil(max(width, height) / MAX_KEPT_SIDE)
    return max(1, min(factor, min(width, height) // MIN_SIDE))


def _note_reduction(facts: dict[str, str], original: tuple[int, int],
                    kept: tuple[int, int]) -> list[str]:
    """The reader's notes on a reduced image (none when ``kept`` is ``original``); adds
    the size analysed to ``facts``."""
    if kept == original:
        return []
    facts["Analysed at"] = f"{kept[0]} x {kept[1]} px"
    return [f"The image was reduced from {original[0]}x{original[1]} to {kept[0]}x{kept[1]} "
            f"pixels for analysis and display (at most {MAX_KEPT_SIDE} pixels a side are "
            "kept; the model itself reads a much smaller image)."]


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
    # In float64: the span of float32 or rescaled values may overflow float32.
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise DxError(_MISSING_PIXELS)
    _refuse_blank(values)
    low, high = float(values.min()), float(values.max())
    return ((values - low) / (high - low)).astype(np.float32)


def _decode_reduced(image: Image.Image) -> tuple[Image.Image, tuple[int, int]]:
    """Decode ``image`` upright (EXIF orientation applied), shrunk by
    :func:`reduction_factor` while decoding: JPEG by its DCT scaling (``draft``), others by
    block averaging (``reduce``) right after decoding, before any float copy exists. An
    image that needs no reduction is decoded exactly as stored. Returns the image and its
    upright size before the reduction."""
    original = image.size
    factor = reduction_factor(*original)
    if factor == 1:
        image = ImageOps.exif_transpose(image)
        image.load()
        return image, image.size
    if image.format == "JPEG":
        image.draft(image.mode, (math.ceil(original[0] / factor),
                                 math.ceil(original[1] / factor)))
    image.load()
    orientation = image.getexif().get(ExifTags.Base.Orientation)
    if image.mode not in _REDUCIBLE_MODES:
        image = image.convert(_REDUCIBLE_AS.get(image.mode, "RGB"))
    remaining = reduction_factor(*image.size)  # what the DCT scaling left to do
    if remaining > 1:
        image = image.reduce(remaining)
    if orientation:  # the reduced copy has no EXIF of its own: give it the orientation
        image.getexif()[ExifTags.Base.Orientation] = orientation
        image = ImageOps.exif_transpose(image)
    return image, original[::-1] if orientation in _QUARTER_TURNS else original


def _read_bitmap(data: bytes) -> LoadedImage:
    try:
        with warnings.catch_warnings():
            # We enforce our own pixel limit below, before decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[f.name for f in _BITMAP_FORMATS])
            image_format = image.format or "PNG"  # exif_transpose's copy drops .format
            _check_pixel_count(*image.size)
            if min(image.size) < MIN_SIDE:  # before blankness: 1x1 is too small, not blank
                raise DxError(f"The image is only {image.width}x{image.height} pixels; at "
                              f"least {MIN_SIDE} pixels on each side are needed.")
            image, upright_size = _decode_reduced(image)
    except DxError:
        raise
    except Image.DecompressionBombError:  # PIL's own limit (far above ours) hit on open
        raise DxError(
            f"The image is too large; images over {MAX_PIXELS // 1_000_000} megapixels are "
            "refused."
        ) from None
    except UnidentifiedImageError:
        if any(known.matches(data) for known in _BITMAP_FORMATS):  # but Pillow gave up
            raise DxError(_DAMAGED) from None
        raise DxError(_NOT_AN_IMAGE) from None
    except (OSError, SyntaxError, ValueError) as error:
        if _TEXT_LIMIT.search(str(error)):
            # Refused rather than read without the text: Pillow's text limits guard against
            # decompression bombs, and lifting them is a process-wide setting that every
            # concurrent session would share. An X-ray never needs megabytes of text.
            raise DxError(
                "The image file holds too much embedded text (metadata) to be read safely. "
                "Please export the image again without its metadata."
            ) from error
        raise DxError(_DAMAGED) from error
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        pixels = _to_unit_range(np.asarray(image))
    else:
        pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
        _refuse_blank(pixels)
    facts = {"Format": image_format, "Size": f"{upright_size[0]} x {upright_size[1]} px"}
    notes = _note_reduction(facts, upright_size, image.size)
    return LoadedImage(pixels=pixels, format=image_format, facts=facts, notes=notes,
                       colourfulness=_colourfulness_of(image))


def _read_dicom(data: bytes, headerless: bool = False) -> LoadedImage:
    """A DICOM file's first frame; ``headerless``: the file lacks its preamble and "DICM"
    and is read all the same (pydicom's ``force``), with a note saying so."""
    import pydicom
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    try:
        dataset = pydicom.dcmread(io.BytesIO(data), force=headerless)
    except Exception as error:  # pydicom raises many types for damaged files
        raise DxError(
            "This looks like a DICOM file without its header (the preamble and 'DICM' "
            "marker), and it cannot be read. Please export it again as a standard DICOM "
            "file." if headerless else "The DICOM file is damaged and cannot be read."
        ) from error
    if headerless and not _PIXEL_DATA.intersection(dataset.keys()) \
            and "SOPClassUID" not in dataset:
        raise DxError(_NOT_AN_IMAGE)  # the first bytes only happened to look like DICOM
    if headerless and "TransferSyntaxUID" not in dataset.file_meta:
        # Without file meta the elements' own encoding is the only one their pixels can
        # have (an ACR-NEMA file is never compressed).
        implicit_vr, little_endian = dataset.original_encoding
        dataset.file_meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian if implicit_vr else
            ExplicitVRLittleEndian if little_endian else ExplicitVRBigEndian)
    try:
        image = _decode_dicom(dataset)
    except DxError:
        raise
    except Exception as error:  # a header value pydicom cannot convert, read lazily
        raise DxError("The DICOM file is damaged and cannot be read.") from error
    image.stated_age_years = stated_age(dataset)
    if headerless:
        image.notes.insert(0, "This DICOM file lacks its standard header (the preamble and "
                              "'DICM' marker); it was read all the same.")
    return image


def _header_number(dataset: Dataset, keyword: str, default: float) -> float:
    """A numeric header value (the first of several), or one DxError naming it."""
    from pydicom.multival import MultiValue

    value = dataset.get(keyword, default)
    if isinstance(value, MultiValue):
        value = value[0] if len(value) else default
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DxError(f"The DICOM header's {keyword} is not a valid number, so the image "
                      "cannot be read.") from None


def _decode_dicom(dataset: Dataset) -> LoadedImage:
    from pydicom.pixels import apply_modality_lut

    if not _PIXEL_DATA.intersection(dataset.keys()):
        raise DxError(
            "This DICOM file holds no image (no pixel data); it may be a report or a "
            "structured document."
        )
    rows, columns = int(dataset.get("Rows", 0)), int(dataset.get("Columns", 0))
    _check_pixel_count(columns, rows)
    frames = _header_number(dataset, "NumberOfFrames", 1)
    if frames < 1 or frames != int(frames):
        raise DxError(f"The DICOM header states {frames:g} frames, which is not a valid "
                      "number of frames, so the image cannot be read.")
    frames = int(frames)
    pixels = _first_frame(dataset)
    # Every pixel kept is a stored value (no averaging), so that the modality and VOI LUTs
    # below, which index by stored value, still apply.
    factor = reduction_factor(columns, rows)
    pixels = pixels[::factor, ::factor]
    colour = 0.0
    if pixels.ndim == 3:  # colour DICOM (e.g. a secondary capture): average the channels
        # Measured on the stored values (8-bit for colour DICOM in practice).
        colour = colourfulness(pixels[..., :3])
        pixels = pixels.mean(axis=-1)
    elif pixels.dtype.kind == "f" and not np.isfinite(pixels).all():
        raise DxError(_MISSING_PIXELS)
    _check_rescale(dataset)
    try:
        values = apply_modality_lut(pixels, dataset)
    except Exception as error:
        raise DxError("The modality LUT of this DICOM is damaged, so its pixel values cannot "
                      "be interpreted.") from error
    if not np.isfinite(values).all():
        raise DxError(_INVALID_RESCALE)
    notes = []
    values = _apply_display_window(values, dataset, notes)
    unit = _to_unit_range(values)
    if dataset.get("PhotometricInterpretation") == "MONOCHROME1":
        unit = 1.0 - unit  # MONOCHROME1 stores bright as low values
    facts = {"Format": "DICOM", "Size": f"{columns} x {rows} px"}
    for keyword, label in DICOM_FACTS.items():
        if dataset.get(keyword) not in (None, ""):
            facts[label] = str(dataset.get(keyword))
    if frames > 1:
        facts["Frames"] = str(frames)
        notes.insert(0, f"This DICOM holds {frames} frames; frame 1 is shown and analysed.")
    notes += _note_reduction(facts, (columns, rows), (unit.shape[1], unit.shape[0]))
    return LoadedImage(pixels=unit, format="DICOM", facts=facts, notes=notes,
                       colourfulness=colour)


def _first_frame(dataset: Dataset) -> np.ndarray:
    """Frame 1's stored values, only that frame decoded."""
    dataset.pixel_array_options(index=0)
    try:
        return dataset.pixel_array
    except Exception as error:
        syntax = dataset.file_meta.get("TransferSyntaxUID")
        if syntax is not None and syntax.is_compressed:
            raise DxError(
                f"The DICOM image cannot be decoded (its encoding is {syntax.name}). Please "
                "export it uncompressed or as PNG."
            ) from error
        raise DxError(
            "The DICOM header does not match its pixel data (image size, bits stored or "
            "number of frames), so the image cannot be read; the file may be damaged."
        ) from error


def _check_rescale(dataset: Dataset) -> None:
    """Refuse a rescale (PS3.3 C.11.1.1.2) that is no finite number or a slope of 0, which
    would make every value the same or not a number."""
    slope = _header_number(dataset, "RescaleSlope", 1.0)
    intercept = _header_number(dataset, "RescaleIntercept", 0.0)
    if not (math.isfinite(slope) and math.isfinite(intercept)) or slope == 0:
        raise DxError(_INVALID_RESCALE)


def _has_lut_data(dataset: Dataset) -> bool:
    """Whether the VOI LUT Sequence holds a LUT with its descriptor and data."""
    try:
        return any("LUTDescriptor" in item and "LUTData" in item
                   for item in dataset.VOILUTSequence)
    except Exception:  # a sequence pydicom cannot parse holds no usable LUT either
        return False


def _apply_display_window(values: np.ndarray, dataset: Dataset, notes: list[str]) -> np.ndarray:
    """The stored VOI LUT or window applied to ``values``; when it cannot be applied (a
    width below 1, non-numeric values, a damaged LUT) or leaves nothing to see, the full
    value range is shown instead, with a note: as a viewer falls back to a full-range
    window, since the pixels themselves are sound."""
    from pydicom.pixels import apply_voi_lut

    if not any(keyword in dataset for keyword in ("WindowCenter", "WindowWidth",
                                                  "VOILUTSequence")):
        return values
    if "VOILUTSequence" in dataset and not _has_lut_data(dataset):
        # pydicom passes the values through unchanged, or applies the window if any.
        notes.append("The display LUT stored in this DICOM is empty and was ignored.")
    try:
        windowed = np.asarray(apply_voi_lut(values, dataset, prefer_lut=True))
        usable = bool(np.isfinite(windowed).all()) and float(windowed.max()) > float(
            windowed.min())
    except Exception:  # pydicom raises many types for damaged window values or LUTs
        usable = False
    if usable:
        return windowed
    notes.append("The stored display window of this DICOM was unusable; the full value "
                 "range is shown.")
    return values
