"""Properties of the image reader and the chest X-ray model under arbitrary bytes (Hypothesis):
random bytes, and a real test radiograph (JPEG and PNG) and a small in-memory DICOM with
random byte flips, cuts, insertions and deletions, mostly in the headers.

Whatever the bytes, nothing but a :class:`DxError` escapes ``load_image`` or the model's
``read`` and ``predict``, and an accepted input gives pixels in [0, 1] and finite
probabilities. Bounded: a few hundred examples in all, well under a minute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dxcore.errors import DxError
from dxcore.images import load_image
from tests.images.test_reader import dicom_bytes, encode

# Most of what a reader interprets is in the first bytes: the headers.
HEADER_BYTES = 512
# No example database: nothing is written into the repository.
BOUNDED = settings(max_examples=60, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutations_of(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` after one to four random edits: a flipped byte, a cut, an inserted or
    deleted run; positions mostly within the headers."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        last = max(len(data) - 1, 0)
        at = draw(st.one_of(st.integers(0, min(HEADER_BYTES, last)), st.integers(0, last)))
        edit = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if edit == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif edit == "cut":
            del data[at:]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[at:at + draw(st.integers(1, 64))]
    return bytes(data)


def assert_read_or_refused(data: bytes) -> None:
    """``load_image(data)`` refuses with a DxError or gives unit-range finite pixels."""
    try:
        image = load_image(data)
    except DxError:
        return
    assert image.pixels.dtype == np.float32 and np.isfinite(image.pixels).all()
    assert image.pixels.min() >= 0.0 and image.pixels.max() <= 1.0


def assert_answered_or_refused(model, data: bytes) -> None:
    """The page's path (read the upload, predict) refuses with a DxError or answers with
    finite probabilities."""
    try:
        result = model.predict(model.read({"upload.png": data}))
    except DxError:
        return
    assert np.isfinite(result.probabilities).all()


@pytest.fixture(scope="module")
def xray_jpeg(test_xray_bytes: bytes) -> bytes:
    return test_xray_bytes


@pytest.fixture(scope="module")
def xray_png(test_xray_path: Path) -> bytes:
    with Image.open(test_xray_path) as image:
        return encode(image.convert("L").resize((96, 96)))


@pytest.fixture(scope="module")
def xray_dicom_pixels(test_xray_path: Path) -> np.ndarray:
    """The radiograph at 64 x 64 as 12-bit values."""
    with Image.open(test_xray_path) as image:
        return np.asarray(image.convert("L").resize((64, 64))).astype(np.uint16) * 16


@pytest.fixture(scope="module")
def xray_dicom(xray_dicom_pixels: np.ndarray) -> bytes:
    return dicom_bytes(xray_dicom_pixels, bits_stored=12, RescaleSlope=1,
                       RescaleIntercept=-1024, WindowCenter=1000, WindowWidth=2000)


@BOUNDED
@given(data=st.binary(max_size=2048))
def test_random_bytes_are_read_or_refused(data):
    assert_read_or_refused(data)


# How image files begin (GIF and BMP too, which the reader refuses unread) and how DICOM
# files begin: random bytes after them reach the reader's handling of that format.
SIGNATURES = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"II*\x00", b"BM",
              bytes(128) + b"DICM", b"\x02\x00\x00\x00UL", b"\x08\x00\x05\x00CS"]


@BOUNDED
@given(start=st.sampled_from(SIGNATURES), rest=st.binary(max_size=2048))
def test_random_bytes_after_a_signature_are_read_or_refused(start, rest):
    assert_read_or_refused(start + rest)


@BOUNDED
@given(data=st.data())
def test_mutated_jpeg_is_read_or_refused(xray_jpeg, data):
    assert_read_or_refused(data.draw(mutations_of(xray_jpeg)))


@BOUNDED
@given(data=st.data())
def test_mutated_png_is_read_or_refused(xray_png, data):
    assert_read_or_refused(data.draw(mutations_of(xray_png)))


@settings(BOUNDED, max_examples=150)
@given(data=st.data())
def test_mutated_dicom_is_read_or_refused(xray_dicom, data):
    assert_read_or_refused(data.draw(mutations_of(xray_dicom)))


@BOUNDED
@given(data=st.data())
def test_mutated_dicom_without_preamble_is_read_or_refused(xray_dicom, data):
    assert_read_or_refused(data.draw(mutations_of(xray_dicom[132:])))


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                    st.integers(-(2**31), 2**31 - 1))
# Header values a damaged or hand-edited DICOM may hold, well-typed for pydicom to write.
HEADER_VALUES = st.fixed_dictionaries({}, optional={
    "WindowCenter": NUMBERS, "WindowWidth": NUMBERS, "RescaleSlope": NUMBERS,
    "RescaleIntercept": NUMBERS, "NumberOfFrames": st.integers(-5, 2**31 - 1),
    "Rows": st.integers(0, 65535), "Columns": st.integers(0, 65535),
    "BitsAllocated": st.sampled_from([1, 8, 12, 16, 32, 64]), "BitsStored": st.integers(0, 64),
    "HighBit": st.integers(0, 64), "PixelRepresentation": st.integers(0, 1),
    "SamplesPerPixel": st.integers(0, 4),
    "PhotometricInterpretation": st.sampled_from(["MONOCHROME1", "RGB", "PALETTE COLOR",
                                                  "YBR_FULL", "nonsense"]),
})


@settings(BOUNDED, max_examples=150)
@given(header=HEADER_VALUES)
def test_dicom_with_arbitrary_header_values_is_read_or_refused(xray_dicom_pixels, header):
    assert_read_or_refused(dicom_bytes(xray_dicom_pixels, bits_stored=12,
                                       **{k: str(v) if isinstance(v, float) else v
                                          for k, v in header.items()}))


@settings(BOUNDED, max_examples=40)
@given(data=st.data())
def test_mutated_files_are_answered_or_refused_by_the_model(cxr_model, xray_jpeg, xray_dicom,
                                                            data):
    original = data.draw(st.sampled_from([xray_jpeg, xray_dicom]))
    assert_answered_or_refused(cxr_model, data.draw(mutations_of(original)))
