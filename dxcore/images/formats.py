"""The image formats read everywhere, from this one list (:data:`IMAGE_FORMATS`): the drop
zone recognises a file by its format's sniffer, the Chest X-ray page accepts a file by the
format's extensions, and the image reader (which the pages and ``python -m dxcore predict``
share) decodes these formats and no other. A format added here is read by all three.

PNG, JPEG and TIFF are recognised by their signatures and decoded by Pillow
(:data:`PILLOW_FORMATS`); DICOM (:data:`DICOM`) by "DICM" after its 128-byte preamble or,
without them (old ACR-NEMA files, some stripped exports), by how its first element begins,
and decoded by pydicom (:mod:`dxcore.images.dicom_io`).

Example:
    >>> [image_format.name for image_format in IMAGE_FORMATS if image_format.sniff(
    ...     "x", bytes(128) + b"DICM")]
    ['DICOM']
    >>> image_formats_text()
    'PNG, JPEG, TIFF or DICOM'
    >>> image_extensions()
    ['png', 'jpg', 'jpeg', 'tif', 'tiff', 'dcm', '']
"""

from __future__ import annotations

from dxcore.formats import SIGNATURE, FileFormat, signature

# "DICM" after the 128-byte preamble (DICOM PS3.10 7.1).
DICOM_PREAMBLE_BYTES = 128
DICOM_MAGIC = b"DICM"


def has_preamble(data: bytes) -> bool:
    """Whether ``data`` is a standard DICOM file: "DICM" after the 128-byte preamble."""
    return data[DICOM_PREAMBLE_BYTES:DICOM_PREAMBLE_BYTES + len(DICOM_MAGIC)] == DICOM_MAGIC


def looks_headerless(data: bytes) -> bool:
    """Whether ``data`` starts like a DICOM file without its 128-byte preamble and "DICM"
    (old ACR-NEMA files, some stripped exports): straight with a little-endian element of
    the file meta group (0002) or the identifying group (0008), whose next two bytes are
    an explicit VR or an implicit VR's length that fits in the file."""
    if len(data) < 8 or data[:2] not in (b"\x02\x00", b"\x08\x00"):
        return False
    from pydicom.valuerep import VR

    explicit_vr = data[4:6].decode("latin-1")
    return explicit_vr in {vr.value for vr in VR} or \
        int.from_bytes(data[4:8], "little") <= len(data)


def looks_like_dicom(name: str, data: bytes) -> bool:
    """The sniffer of the DICOM format: a DICOM file with its preamble and "DICM" or
    without them."""
    return has_preamble(data) or looks_headerless(data)


PILLOW_FORMATS = (
    FileFormat("PNG", signature(b"\x89PNG\r\n\x1a\n"), ("png",), SIGNATURE),
    FileFormat("JPEG", signature(b"\xff\xd8\xff"), ("jpg", "jpeg"), SIGNATURE),
    # little- and big-endian
    FileFormat("TIFF", signature(b"II*\x00", b"MM\x00*"), ("tif", "tiff"), SIGNATURE),
)
# DICOM files often have no extension.
DICOM = FileFormat("DICOM", looks_like_dicom, ("dcm", ""), SIGNATURE)
IMAGE_FORMATS = (*PILLOW_FORMATS, DICOM)


def image_formats_text() -> str:
    """The names of :data:`IMAGE_FORMATS` for a sentence ("PNG, JPEG, TIFF or DICOM")."""
    *first, last = (image_format.name for image_format in IMAGE_FORMATS)
    return f"{', '.join(first)} or {last}"


def image_extensions() -> list[str]:
    """Every extension of :data:`IMAGE_FORMATS` (``""``: a file without one)."""
    return [extension for image_format in IMAGE_FORMATS
            for extension in image_format.extensions]


NOT_AN_IMAGE = (f"This file is not an image that can be read. Please upload a "
                f"{image_formats_text()} file.")
