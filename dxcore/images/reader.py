"""Reading uploaded images: PNG, JPEG, TIFF and DICOM (:data:`dxcore.images.formats.IMAGE_FORMATS`,
the one list the pages, the drop zone and the command line read), from bytes, into a
grayscale :class:`~dxcore.images.image.LoadedImage`.

Each file is decoded as its format's sniffer says: DICOM by :mod:`dxcore.images.dicom_io`,
PNG, JPEG and TIFF by Pillow here (and no other format Pillow knows). Every image comes out
as float32 pixels in [0, 1] at its own resolution (reduced while decoding to at most
:data:`~dxcore.images.image.MAX_KEPT_SIDE` pixels on the long side, with a note saying so),
and anything unreadable raises :class:`~dxcore.errors.DxError` with one plain message.
Nothing is written to disk and no patient-identifying DICOM attribute leaves the readers:
``facts`` holds acquisition facts only. The one patient attribute read is a DICOM's stated
age (:mod:`dxcore.images.dicom_age`), kept apart in ``stated_age_years`` for the population
guard and never shown or logged.

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
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from dxcore.contract import read_path
from dxcore.errors import DxError
from dxcore.images.dicom_io import read_dicom
from dxcore.images.formats import DICOM, NOT_AN_IMAGE, PILLOW_FORMATS
from dxcore.images.image import (
    MAX_PIXELS,
    MIN_SIDE,
    LoadedImage,
    check_image,
    check_pixel_count,
    colourfulness,
    note_reduction,
    reduction_factor,
    refuse_blank,
    to_unit_range,
)

__all__ = ["LoadedImage", "check_image", "colourfulness", "load_image"]

MAX_BYTES = 100 * 1024 * 1024
# Modes Image.reduce averages; other modes are converted to the nearest of them first.
_REDUCIBLE_MODES = {"L", "LA", "La", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr", "I", "F"}
_REDUCIBLE_AS = {"1": "L", "I;16": "I", "I;16B": "I", "I;16L": "I", "I;16N": "I"}
# EXIF orientations that swap width and height (transpose, rotations by 90 degrees).
_QUARTER_TURNS = {5, 6, 7, 8}
# Pillow's refusals of oversized PNG text chunks ("... PngImagePlugin.MAX_TEXT_CHUNK",
# "Too much memory used in text chunks").
_TEXT_LIMIT = re.compile(r"text.chunk", re.IGNORECASE)
_DAMAGED = "The image file is damaged or incomplete (it may have been cut off during " \
    "copying). Please upload it again."


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
    if DICOM.sniff("", data):
        return check_image(read_dicom(data))
    return check_image(_read_bitmap(data))


def _colourfulness_of(image: Image.Image) -> float:
    """:func:`colourfulness` of a PIL image, on a copy at most 256 pixels on a side (the
    measure is a global statistic; a thumbnail keeps its cost negligible)."""
    if image.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
        return 0.0
    thumbnail = image.convert("RGB")
    thumbnail.thumbnail((256, 256))
    return colourfulness(np.asarray(thumbnail))


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
            image = Image.open(io.BytesIO(data), formats=[f.name for f in PILLOW_FORMATS])
            image_format = image.format or "PNG"  # exif_transpose's copy drops .format
            check_pixel_count(*image.size)
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
        if any(known.sniff("", data) for known in PILLOW_FORMATS):  # but Pillow gave up
            raise DxError(_DAMAGED) from None
        raise DxError(NOT_AN_IMAGE) from None
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
        pixels = to_unit_range(np.asarray(image))
    else:
        pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
        refuse_blank(pixels)
    facts = {"Format": image_format, "Size": f"{upright_size[0]} x {upright_size[1]} px"}
    notes = note_reduction(facts, upright_size, image.size)
    return LoadedImage(pixels=pixels, format=image_format, facts=facts, notes=notes,
                       colourfulness=_colourfulness_of(image))
