"""DICOM images: the first frame of a DICOM file, as the radiology systems export them, with
its modality LUT and display window applied, into a :class:`~dxcore.images.image.LoadedImage`.

A DICOM file is recognised by the DICOM format's sniffer
(:func:`dxcore.images.formats.looks_like_dicom`), with or without its preamble and "DICM";
one without them (an old ACR-NEMA file, a stripped export) is read all the same, with a
note. Decoding is pydicom's; only acquisition facts (:data:`DICOM_FACTS`) leave this
module, and the patient's stated age is kept apart (:mod:`dxcore.images.dicom_age`).
DICOM PS3.3 (C.7.6.3 pixel data, C.11.1.1.2 rescale, C.11.2 VOI LUT) and PS3.10 (the file
format).

Example:
    >>> read_dicom(bytes(128) + b"DICM")
    Traceback (most recent call last):
    ...
    dxcore.errors.DxError: This DICOM file holds no image (no pixel data); it may be a ...
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np

from dxcore.errors import DxError
from dxcore.images.dicom_age import stated_age
from dxcore.images.formats import NOT_AN_IMAGE, has_preamble
from dxcore.images.image import (
    MISSING_PIXELS,
    LoadedImage,
    check_pixel_count,
    colourfulness,
    note_reduction,
    reduction_factor,
    to_unit_range,
)

if TYPE_CHECKING:
    from pydicom import Dataset

# The pixel data elements of PS3.3 C.7.6.3 (integer) and C.7.6.24 (float, double float).
_PIXEL_DATA = {0x7FE00010, 0x7FE00008, 0x7FE00009}
_INVALID_RESCALE = ("The rescale values of this DICOM (RescaleSlope, RescaleIntercept) are "
                    "not valid numbers or are out of range, so its pixel values cannot be "
                    "interpreted.")

# Acquisition facts that say nothing about who the patient is.
DICOM_FACTS = {
    "Modality": "Modality",
    "ViewPosition": "View",
    "BodyPartExamined": "Body part",
    "PhotometricInterpretation": "Photometric interpretation",
    "BitsStored": "Bits stored",
}


def read_dicom(data: bytes) -> LoadedImage:
    """A DICOM file's first frame (:func:`~dxcore.images.formats.looks_like_dicom`); a file
    without its preamble and "DICM" is read all the same (pydicom's ``force``), with a note
    saying so."""
    import pydicom
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    headerless = not has_preamble(data)
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
        raise DxError(NOT_AN_IMAGE)  # the first bytes only happened to look like DICOM
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
    check_pixel_count(columns, rows)
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
        raise DxError(MISSING_PIXELS)
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
    unit = to_unit_range(values)
    if dataset.get("PhotometricInterpretation") == "MONOCHROME1":
        unit = 1.0 - unit  # MONOCHROME1 stores bright as low values
    facts = {"Format": "DICOM", "Size": f"{columns} x {rows} px"}
    for keyword, label in DICOM_FACTS.items():
        if dataset.get(keyword) not in (None, ""):
            facts[label] = str(dataset.get(keyword))
    if frames > 1:
        facts["Frames"] = str(frames)
        notes.insert(0, f"This DICOM holds {frames} frames; frame 1 is shown and analysed.")
    notes += note_reduction(facts, (columns, rows), (unit.shape[1], unit.shape[0]))
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
