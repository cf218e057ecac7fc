"""``dxcore.images.load_image``: PNG, JPEG and DICOM in, grayscale float32 in [0, 1] out, and
one plain :class:`DxError` for every input it refuses.

DICOM files are built here with pydicom from a real test-set radiograph; nothing from the
dataset is written into the repository.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, PngImagePlugin
from pydicom import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import dxcore.images.image
import dxcore.images.reader
from dxcore.errors import DxError
from dxcore.images import load_image

DX_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
PATIENT = {"PatientName": "Doe^Jane", "PatientID": "PID-98765", "PatientBirthDate": "19700101"}


# --- Helpers ----------------------------------------------------------------------------


def encode(array_or_image: np.ndarray | Image.Image, fmt: str = "PNG", **options) -> bytes:
    image = array_or_image
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gradient(height: int, width: int) -> np.ndarray:
    """A uint8 image with a horizontal and vertical ramp (never blank)."""
    rows, columns = np.mgrid[0:height, 0:width]
    return ((rows * 3 + columns * 5) % 256).astype(np.uint8)


def with_png_size(png: bytes, width: int, height: int) -> bytes:
    """The PNG with its IHDR claiming ``width`` x ``height`` (CRC fixed; pixels unchanged)."""
    assert png[12:16] == b"IHDR"
    header = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + header + struct.pack(">I", zlib.crc32(header)) + png[33:]


def dicom_bytes(
    pixels: np.ndarray | None, photometric: str = "MONOCHROME2", bits_stored: int = 8, **attributes
) -> bytes:
    """A DX DICOM file (explicit VR little endian) holding ``pixels`` (frames first if 3-D)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = DX_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "DX"
    ds.ViewPosition = "PA"
    ds.BodyPartExamined = "CHEST"
    if pixels is not None:
        ds.set_pixel_data(pixels, photometric, bits_stored)
    # After the pixel data, so that ``attributes`` may contradict it (Rows, BitsStored...).
    for keyword, value in {**PATIENT, **attributes}.items():
        setattr(ds, keyword, value)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


# The attributes of a one-sample grayscale image whose pixel data is set by hand.
GRAY_HEADER = {"SamplesPerPixel": 1, "PhotometricInterpretation": "MONOCHROME2",
               "PixelRepresentation": 0}


def float_dicom_bytes(values: np.ndarray) -> bytes:
    """A DICOM holding ``values`` as Float Pixel Data (float32) or Double Float Pixel Data."""
    element = "FloatPixelData" if values.dtype == np.float32 else "DoubleFloatPixelData"
    return dicom_bytes(None, Rows=values.shape[0], Columns=values.shape[1],
                       BitsAllocated=values.dtype.itemsize * 8, **GRAY_HEADER,
                       **{element: values.tobytes()})


def lut_sequence(entries: int = 256, data: list[int] | None = None) -> Sequence:
    """A VOI or Modality LUT Sequence of one LUT (``data`` None: the LUT Data is missing)."""
    item = Dataset()
    item.LUTDescriptor = [entries, 0, 16]
    if data is not None:
        item.LUTData = np.asarray(data, np.uint16).tobytes()
    return Sequence([item])


def with_header_text(data: bytes, placeholder: str, text: str) -> bytes:
    """``data`` with the header value ``placeholder`` replaced by ``text`` of the same
    length: how a file with a malformed number is made (pydicom refuses to write one)."""
    assert len(placeholder) == len(text) and data.count(placeholder.encode()) == 1
    return data.replace(placeholder.encode(), text.encode())


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_chunk_after_header(png: bytes, chunk: bytes) -> bytes:
    """``png`` with ``chunk`` inserted right after its IHDR."""
    return png[:33] + chunk + png[33:]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def assert_unit_float(pixels: np.ndarray) -> None:
    assert pixels.dtype == np.float32
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0


@pytest.fixture(scope="module")
def xray_gray(test_xray_path: Path) -> np.ndarray:
    """The real test radiograph as uint8 grayscale (224 x 224)."""
    with Image.open(test_xray_path) as image:
        return np.asarray(image.convert("L"))


@pytest.fixture
def decode_calls(monkeypatch) -> list[tuple[int, int]]:
    """Records the size of every image PIL decodes."""
    calls: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def spy(self):
        calls.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return calls


# --- Bitmaps that load ------------------------------------------------------------------


def test_png_8bit_grayscale_keeps_its_values():
    pixels = gradient(64, 80)
    image = load_image(encode(pixels))
    assert image.format == "PNG" and image.facts["Format"] == "PNG"
    assert image.pixels.shape == (64, 80)
    assert_unit_float(image.pixels)
    np.testing.assert_array_equal(image.pixels, pixels / np.float32(255))


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_colour_png_is_converted_to_grayscale(mode):
    gray = gradient(48, 40)
    channels = [gray, gray, gray]
    if mode == "RGBA":  # a varying alpha must not change the gray values
        channels.append(np.linspace(0, 255, gray.size).reshape(gray.shape).astype(np.uint8))
    image = load_image(encode(Image.fromarray(np.stack(channels, axis=-1), mode)))
    assert image.pixels.shape == (48, 40)
    assert_unit_float(image.pixels)
    np.testing.assert_allclose(image.pixels, gray / 255.0, atol=1 / 255)


def test_colour_is_weighted_to_luminance():
    colours = np.zeros((40, 40, 3), np.uint8)
    colours[:, :20, 1] = 255  # green half: ITU-R 601 luma 0.587
    colours[:, 20:, 2] = 255  # blue half: luma 0.114
    pixels = load_image(encode(colours)).pixels
    assert pixels[:, :20] == pytest.approx(0.587, abs=0.01)
    assert pixels[:, 20:] == pytest.approx(0.114, abs=0.01)


def test_png_16bit_keeps_more_than_256_levels():
    levels = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 15 + 1000).astype(np.uint16)
    encoded = encode(levels)
    assert Image.open(io.BytesIO(encoded)).mode == "I;16"
    image = load_image(encoded)
    assert_unit_float(image.pixels)
    assert image.pixels.min() == 0.0 and image.pixels.max() == 1.0
    assert len(np.unique(image.pixels)) == 64 * 64  # not squeezed to 8 bits
    expected = (levels - 1000.0) / (levels.max() - 1000.0)
    np.testing.assert_allclose(image.pixels, expected, atol=1e-6)


def test_jpeg_from_bytes_and_from_path_agree(test_xray_path, test_xray_bytes, xray_gray):
    from_bytes = load_image(test_xray_bytes)
    for source in (test_xray_path, str(test_xray_path)):
        np.testing.assert_array_equal(load_image(source).pixels, from_bytes.pixels)
    assert from_bytes.format == "JPEG" and from_bytes.facts["Format"] == "JPEG"
    assert from_bytes.size == (224, 224) and from_bytes.facts["Size"] == "224 x 224 px"
    assert_unit_float(from_bytes.pixels)
    np.testing.assert_array_equal(from_bytes.pixels, xray_gray / np.float32(255))


def test_non_square_image_keeps_its_own_resolution():
    image = load_image(encode(gradient(517, 300), "JPEG"))
    assert image.format == "JPEG"
    assert image.pixels.shape == (517, 300)
    assert image.size == (300, 517)


def test_exif_orientation_is_applied():
    stored = np.zeros((64, 96), np.uint8)  # 96 wide, 64 high
    stored[:24, :24] = 255  # a bright block in the stored top-left corner
    stored[-8:, -8:] = 100  # keep the image from being blank anywhere but the block
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    image = load_image(encode(stored, "JPEG", exif=exif, quality=95))
    assert image.format == "JPEG"
    assert image.size == (64, 96)  # width and height swapped
    # Clockwise: the stored top-left corner is displayed top-right.
    assert image.pixels[:16, -16:].mean() > 0.9
    assert image.pixels[:16, :16].mean() < 0.1


def test_a_one_pixel_image_is_too_small_not_blank():
    with pytest.raises(DxError, match="only 1x1 pixels"):
        load_image(encode(np.array([[7]], np.uint8)))


def test_smallest_accepted_side():
    assert load_image(encode(gradient(32, 32))).pixels.shape == (32, 32)


# --- DICOM ------------------------------------------------------------------------------


def test_dicom_monochrome2_8bit(xray_gray):
    image = load_image(dicom_bytes(xray_gray))
    assert image.format == "DICOM"
    assert image.pixels.shape == xray_gray.shape
    assert_unit_float(image.pixels)
    low, high = float(xray_gray.min()), float(xray_gray.max())
    np.testing.assert_allclose(image.pixels, (xray_gray - low) / (high - low), atol=1e-6)
    assert image.facts["Modality"] == "DX" and image.facts["View"] == "PA"
    assert image.facts["Photometric interpretation"] == "MONOCHROME2"
    assert image.notes == []


def test_dicom_monochrome1_is_inverted(xray_gray):
    normal = load_image(dicom_bytes(xray_gray, "MONOCHROME2")).pixels
    inverted = load_image(dicom_bytes(xray_gray, "MONOCHROME1")).pixels
    assert correlation(normal, inverted) < -0.99
    np.testing.assert_allclose(inverted, 1.0 - normal, atol=1e-6)


@pytest.mark.parametrize("bits_stored", [12, 16])
def test_dicom_16bit_with_rescale(xray_gray, bits_stored):
    stored = (xray_gray.astype(np.uint16) * (2 ** (bits_stored - 8))).astype(np.uint16)
    image = load_image(
        dicom_bytes(stored, bits_stored=bits_stored, RescaleSlope=2, RescaleIntercept=-1024)
    )
    assert image.facts["Bits stored"] == str(bits_stored)
    assert_unit_float(image.pixels)
    low, high = float(xray_gray.min()), float(xray_gray.max())
    np.testing.assert_allclose(image.pixels, (xray_gray - low) / (high - low), atol=1e-5)


def test_dicom_narrow_window_saturates_outside_it(xray_gray):
    # Window 110-140 (centre 125.5, width 31) on the 8-bit data.
    image = load_image(dicom_bytes(xray_gray, WindowCenter=125.5, WindowWidth=31))
    pixels, data = image.pixels, xray_gray
    assert (data <= 110).any() and (data > 140).any() and ((data > 110) & (data < 140)).any()
    assert (pixels[data <= 110] == 0.0).all()
    assert (pixels[data > 140] == 1.0).all()
    inside = pixels[(data > 110) & (data < 140)]
    assert ((inside > 0.0) & (inside < 1.0)).all()


def test_dicom_window_is_in_rescaled_units(xray_gray):
    # Stored 0..4080 (12 bits), rescaled = 2 * stored - 1024; window 900..1100 rescaled,
    # i.e. stored 962..1062. Without the rescale the window would sit at stored 900..1100.
    stored = xray_gray.astype(np.uint16) * 16
    image = load_image(
        dicom_bytes(
            stored,
            bits_stored=12,
            RescaleSlope=2,
            RescaleIntercept=-1024,
            WindowCenter=1000.5,
            WindowWidth=201,
        )
    )
    pixels = image.pixels
    assert (pixels[stored <= 960] == 0.0).all()
    assert (pixels[stored >= 1072] == 1.0).all()
    inside = pixels[(stored > 962) & (stored < 1062)]
    assert inside.size and ((inside > 0.0) & (inside < 1.0)).all()


def test_dicom_multiframe_uses_frame_one(xray_gray):
    frames = np.stack([xray_gray, 255 - xray_gray, np.roll(xray_gray, 50, axis=1)])
    image = load_image(dicom_bytes(frames))
    single = load_image(dicom_bytes(xray_gray))
    np.testing.assert_array_equal(image.pixels, single.pixels)
    assert image.facts["Frames"] == "3"
    assert len(image.notes) == 1
    assert "3 frames" in image.notes[0] and "frame 1" in image.notes[0]


def test_dicom_facts_never_hold_patient_identity(xray_gray):
    frames = np.stack([xray_gray] * 3)  # multi-frame, so notes are not empty either
    image = load_image(dicom_bytes(frames))
    assert image.facts["Modality"] == "DX" and image.facts["View"] == "PA"
    assert image.notes
    shown = " ".join([*image.facts, *image.facts.values(), *image.notes])
    for value in [*PATIENT.values(), "Doe", "Jane"]:
        assert value not in shown


def test_dicom_without_pixel_data_is_refused():
    with pytest.raises(DxError, match="no pixel data"):
        load_image(dicom_bytes(None, Rows=256, Columns=256))


def test_dicom_claiming_too_many_pixels_is_refused_before_decoding():
    # 10000 x 10000 claimed, 100 bytes held: decoding would fail with a different message.
    data = dicom_bytes(
        None,
        Rows=10000,
        Columns=10000,
        SamplesPerPixel=1,
        PhotometricInterpretation="MONOCHROME2",
        BitsAllocated=8,
        BitsStored=8,
        HighBit=7,
        PixelRepresentation=0,
        PixelData=bytes(100),
    )
    with pytest.raises(DxError, match="megapixels"):
        load_image(data)


def test_damaged_dicom_is_refused(xray_gray):
    data = dicom_bytes(xray_gray)
    with pytest.raises(DxError, match="DICOM"):
        load_image(data[: len(data) // 2])


WINDOW_UNUSABLE = "stored display window of this DICOM was unusable"


@pytest.mark.parametrize("window", [
    {"WindowCenter": 100, "WindowWidth": 0},
    {"WindowCenter": 100, "WindowWidth": -40},
    {"WindowCenter": 100, "WindowWidth": "nan"},
    {"WindowCenter": 1e30, "WindowWidth": 10},  # leaves every pixel at one end
    {"VOILUTSequence": lut_sequence(256, [1, 2, 3])},
], ids=["width-0", "width-negative", "width-nan", "centre-far-off", "voi-lut-short"])
def test_unusable_window_shows_the_full_range_with_a_note(window):
    pixels = gradient(64, 64)
    image = load_image(dicom_bytes(pixels, **window))
    assert any(WINDOW_UNUSABLE in note for note in image.notes)
    np.testing.assert_allclose(image.pixels, load_image(dicom_bytes(pixels)).pixels)


def test_non_numeric_window_shows_the_full_range_with_a_note():
    data = dicom_bytes(gradient(64, 64), WindowCenter="+777.25", WindowWidth=100)
    image = load_image(with_header_text(data, "+777.25", "abc+def"))
    assert any(WINDOW_UNUSABLE in note for note in image.notes)


@pytest.mark.parametrize("frames, message", [
    (-3, "-3 frames, which is not a valid number"),
    (0, "0 frames, which is not a valid number"),
    (10**9, "header does not match its pixel data"),
], ids=["negative", "zero", "huge"])
def test_invalid_number_of_frames_is_refused(frames, message):
    with pytest.raises(DxError, match=message):
        load_image(dicom_bytes(gradient(64, 64), NumberOfFrames=frames))


def test_non_numeric_number_of_frames_is_refused():
    data = dicom_bytes(gradient(64, 64), NumberOfFrames="+7")
    with pytest.raises(DxError, match="NumberOfFrames is not a valid number"):
        load_image(with_header_text(data, "+7", "x7"))


@pytest.mark.parametrize("rescale", [
    {"RescaleSlope": "nan", "RescaleIntercept": 0},
    {"RescaleSlope": "inf", "RescaleIntercept": 0},
    {"RescaleSlope": 1e308, "RescaleIntercept": 0},
    {"RescaleSlope": 1, "RescaleIntercept": "-inf"},
    {"RescaleSlope": 0, "RescaleIntercept": 5},
], ids=["slope-nan", "slope-inf", "slope-overflows", "intercept-inf", "slope-0"])
def test_invalid_rescale_is_refused(rescale):
    with pytest.raises(DxError, match="rescale values of this DICOM .* not valid numbers"):
        load_image(dicom_bytes(gradient(64, 64), **rescale))


@pytest.mark.parametrize("lut", [lut_sequence(256), lut_sequence(256, [1, 2, 3])],
                         ids=["no-lut-data", "lut-too-short"])
def test_damaged_modality_lut_is_refused(lut):
    with pytest.raises(DxError, match="modality LUT of this DICOM is damaged"):
        load_image(dicom_bytes(gradient(64, 64), ModalityLUTSequence=lut))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_pixel_data_is_read(dtype):
    values = gradient(64, 64).astype(dtype) / 7 - 3
    image = load_image(float_dicom_bytes(values))
    low, high = values.min(), values.max()
    np.testing.assert_allclose(image.pixels, (values - low) / (high - low), atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_float_pixel_data_with_missing_values_is_refused(bad):
    values = gradient(64, 64).astype(np.float32)
    values[3, 3] = bad
    with pytest.raises(DxError, match="missing or infinite"):
        load_image(float_dicom_bytes(values))


@pytest.mark.parametrize("header", [{"Rows": 100}, {"Columns": 65},
                                    {"BitsAllocated": 16, "BitsStored": 16}],
                         ids=["rows", "columns", "bits"])
def test_header_that_does_not_fit_the_pixel_data_is_refused(header):
    with pytest.raises(DxError, match="header does not match its pixel data") as caught:
        load_image(dicom_bytes(gradient(64, 64), **header))
    assert "export it uncompressed" not in str(caught.value)


def test_dicom_without_its_preamble_is_read_with_a_note():
    complete = dicom_bytes(gradient(64, 64))
    image = load_image(complete[132:])  # no 128-byte preamble, no "DICM"
    assert image.format == "DICOM"
    assert "lacks its standard header" in image.notes[0]
    np.testing.assert_array_equal(image.pixels, load_image(complete).pixels)


def test_dicom_without_preamble_and_file_meta_is_read():
    dataset = Dataset()
    dataset.Modality = "DX"
    dataset.set_pixel_data(gradient(64, 64), "MONOCHROME2", 8)
    del dataset.file_meta  # an ACR-NEMA style file: the elements alone, implicit VR
    buffer = io.BytesIO()
    dataset.save_as(buffer, implicit_vr=True, little_endian=True)
    assert buffer.getvalue()[:2] == b"\x08\x00"
    assert load_image(buffer.getvalue()).format == "DICOM"


# --- Large images: reduced while decoding -----------------------------------------------


@pytest.fixture
def kept_side_64(monkeypatch) -> int:
    """A small MAX_KEPT_SIDE, so that small test images count as large."""
    monkeypatch.setattr(dxcore.images.image, "MAX_KEPT_SIDE", 64)
    return 64


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_large_bitmap_is_reduced_with_a_note(kept_side_64, fmt):
    stored = np.kron(gradient(60, 50), np.ones((4, 4), np.uint8))  # 200 x 240, in 4x4 blocks
    image = load_image(encode(stored, fmt, quality=95) if fmt == "JPEG" else encode(stored))
    assert image.size == (50, 60)
    assert "reduced from 200x240 to 50x60" in image.notes[0]
    assert image.facts["Size"] == "200 x 240 px" and image.facts["Analysed at"] == "50 x 60 px"
    np.testing.assert_allclose(image.pixels, gradient(60, 50) / 255.0, atol=0.05)


def test_reduced_jpeg_keeps_its_exif_orientation(kept_side_64):
    stored = np.zeros((160, 240), np.uint8)
    stored[:60, :60] = 255  # bright block in the stored top-left corner
    stored[-20:, -20:] = 100
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image = load_image(encode(stored, "JPEG", exif=exif, quality=95))
    assert image.size == (40, 60)
    assert "reduced from 160x240" in image.notes[0]
    assert image.pixels[:8, -8:].mean() > 0.9 and image.pixels[:8, :8].mean() < 0.1


def test_reduction_keeps_the_short_side_readable(kept_side_64):
    image = load_image(encode(gradient(40, 1000)))  # 1000 x 40: factor 16 would leave 2 rows
    assert image.size == (1000, 40)
    assert image.notes == []


def test_large_dicom_is_reduced_with_a_note(kept_side_64):
    pixels = gradient(128, 192)
    image = load_image(dicom_bytes(pixels, WindowCenter=100, WindowWidth=120))
    assert image.size == (64, 43)
    assert any("reduced from 192x128 to 64x43" in note for note in image.notes)
    assert not any(WINDOW_UNUSABLE in note for note in image.notes)


def test_image_within_the_kept_side_is_unchanged(test_xray_bytes, xray_gray):
    image = load_image(test_xray_bytes)
    assert image.notes == [] and "Analysed at" not in image.facts
    np.testing.assert_array_equal(image.pixels, xray_gray / np.float32(255))


# --- Bad inputs -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt"])
def test_png_with_an_oversized_text_chunk_is_refused_as_too_much_text(kind):
    text = zlib.compress(b" " * (PngImagePlugin.MAX_TEXT_CHUNK + 1), 9)
    body = b"Comment\x00\x00" + text if kind == b"zTXt" else b"Comment\x00\x01\x00\x00\x00" + text
    data = with_chunk_after_header(encode(gradient(64, 64)), png_chunk(kind, body))
    assert len(data) < 10_000
    with pytest.raises(DxError, match="too much embedded text"):
        load_image(data)



def test_empty_bytes():
    with pytest.raises(DxError, match="empty"):
        load_image(b"")


@pytest.mark.parametrize(
    "data", [b"hello" * 100, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n" * 20], ids=["text", "pdf"]
)
def test_not_an_image(data):
    with pytest.raises(DxError, match="not an image"):
        load_image(data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_refused(test_xray_path, fmt):
    with Image.open(test_xray_path) as image:
        data = encode(image, fmt)
    with pytest.raises(DxError, match="damaged or incomplete"):
        load_image(data[: len(data) // 2])


@pytest.mark.parametrize("keep", [8, 33], ids=["signature-only", "header-only"])
def test_png_cut_before_its_pixels_is_damaged_not_something_else(keep):
    with pytest.raises(DxError, match="damaged or incomplete"):
        load_image(encode(gradient(64, 64))[:keep])


@pytest.mark.parametrize("height, width", [(100, 20), (20, 100), (31, 300)])
def test_too_small_image_is_refused(height, width):
    with pytest.raises(DxError, match=f"only {width}x{height} pixels.*at least 32"):
        load_image(encode(gradient(height, width)))


@pytest.mark.parametrize(
    "width, height", [(10000, 6000), (30000, 30000)], ids=["60-megapixels", "900-megapixels"]
)
def test_decompression_bomb_is_refused_before_decoding(decode_calls, width, height):
    small = encode(gradient(64, 64))
    load_image(small)
    assert set(decode_calls) == {(64, 64)}  # the spy does see ordinary decodes
    decode_calls.clear()
    with pytest.raises(DxError, match="megapixels"):
        load_image(with_png_size(small, width, height))
    assert decode_calls == []


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", (64, 64), 128),
        Image.new("RGB", (64, 64), (90, 90, 90)),
        Image.fromarray(np.full((64, 64), 3000, np.uint16)),
    ],
    ids=["8-bit", "rgb", "16-bit"],
)
def test_blank_image_is_refused(image):
    with pytest.raises(DxError, match="blank"):
        load_image(encode(image))


def test_blank_dicom_is_refused():
    with pytest.raises(DxError, match="blank"):
        load_image(dicom_bytes(np.full((64, 64), 7, np.uint8)))


def test_file_over_the_byte_limit_is_refused_before_decoding(
    monkeypatch, decode_calls, test_xray_path, test_xray_bytes
):
    monkeypatch.setattr(dxcore.images.reader, "MAX_BYTES", len(test_xray_bytes) - 1)
    for source in (test_xray_bytes, test_xray_path):
        with pytest.raises(DxError, match="not accepted"):
            load_image(source)
    assert decode_calls == []
    monkeypatch.setattr(dxcore.images.reader, "MAX_BYTES", len(test_xray_bytes))
    assert load_image(test_xray_bytes).size == (224, 224)  # exactly at the limit is fine
