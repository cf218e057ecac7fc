"""The bad-input catalogue of images and DICOM files, run through what the chest X-ray page
calls: the model's ``read`` of the upload, then ``predict`` of the decoded image
(``dxui.results.analyse``); a subset also through ``python -m dxcore predict --json``.

Inputs are built in memory, most from the real test radiograph of the dataset (skipping
when it is absent); nothing is written into the repository.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from functools import cache

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from pydicom import Dataset, dcmread
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import JPEG2000Lossless

from dxcore.images.reader import MAX_BYTES
from tests.catalogue import BadInput, assert_answered, assert_clear_message, assert_refused, ids
from tests.helpers import run_cli
from tests.images.test_reader import (
    dicom_bytes,
    encode,
    float_dicom_bytes,
    gradient,
    lut_sequence,
    png_chunk,
    with_chunk_after_header,
    with_header_text,
    with_png_size,
)

NOT_AN_IMAGE = "not an image that can be read"
DAMAGED = "damaged or incomplete"
NOT_AN_XRAY = "does not look like a frontal chest X-ray"
WINDOW = "stored display window of this DICOM was unusable"
EMPTY_LUT = "display LUT stored in this DICOM is empty"
RESCALE = "rescale values of this DICOM"
MISMATCH = "header does not match its pixel data"
MISSING = "missing or infinite"


@cache
def xray() -> np.ndarray:
    """The first test radiograph of the dataset as uint8 grayscale (224 x 224)."""
    from dxcore.datasets import data_dir

    paths = sorted((data_dir() / "chest_xray" / "test" / "NORMAL").glob("*.jpeg"))
    if not paths:
        pytest.skip("the chest_xray dataset is absent; set DX_DATA_DIR")
    with Image.open(paths[0]) as image:
        return np.asarray(image.convert("L"))


def xray_image(size: tuple[int, int] | None = None) -> Image.Image:
    image = Image.fromarray(xray())
    return image if size is None else image.resize(size, Image.BILINEAR)


def xray_png() -> bytes:
    return encode(xray())


def xray_jpeg() -> bytes:
    return encode(xray(), "JPEG", quality=95)


def cut(data: bytes, fraction: float) -> bytes:
    return data[: int(len(data) * fraction)]


def float_tiff(bad: float) -> bytes:
    values = xray().astype(np.float32) / 255
    values[10:20, 10:20] = bad
    return encode(Image.fromarray(values, mode="F"), "TIFF")


def oversized_text_png(kind: bytes) -> bytes:
    text = zlib.compress(b" " * (PngImagePlugin.MAX_TEXT_CHUNK + 1), 9)
    header = b"Comment\x00\x00" if kind == b"zTXt" else b"Comment\x00\x01\x00\x00\x00"
    return with_chunk_after_header(xray_png(), png_chunk(kind, header + text))


def with_bytes(data: bytes, offset: int, replacement: bytes) -> bytes:
    return data[:offset] + replacement + data[offset + len(replacement):]


def broken_ihdr_crc() -> bytes:
    return with_bytes(xray_png(), 29, b"\x00\x00\x00\x00")


def gif_claiming(width: int, height: int) -> bytes:
    """A GIF whose screen and image descriptor claim ``width`` x ``height``."""
    data = encode(gradient(64, 64), "GIF")
    size = struct.pack("<HH", width, height)
    descriptor = data.index(b"\x2c\x00\x00\x00\x00")  # image separator at (0, 0)
    return with_bytes(with_bytes(data, 6, size), descriptor + 5, size)


def bmp_claiming(width: int, height: int) -> bytes:
    return with_bytes(encode(gradient(64, 64), "BMP"), 18, struct.pack("<ii", width, height))


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("chest.png", xray_png())
    return buffer.getvalue()


def cmyk_jpeg() -> bytes:
    return encode(xray_image().convert("CMYK"), "JPEG", quality=95)


def exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90 degrees counter-clockwise to display
    return encode(xray_image().transpose(Image.Transpose.ROTATE_270), "JPEG", exif=exif,
                  quality=95)


def with_alpha(mode: str) -> bytes:
    image = xray_image().convert(mode)
    image.putalpha(Image.fromarray(np.full(xray().shape, 200, np.uint8)))
    return encode(image)


def small_text_png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "exported by a PACS viewer")
    info.add_itxt("Description", "frontal chest", zip=True)
    return encode(xray_image(), pnginfo=info)


IMAGE_CASES = [
    BadInput("empty", lambda: b"", expect="empty"),
    BadInput("random-bytes", lambda: np.random.default_rng(0).bytes(4096), expect=NOT_AN_IMAGE),
    BadInput("plain-text", lambda: b"chest x-ray, PA view\n" * 50, expect=NOT_AN_IMAGE),
    BadInput("html-as-png", lambda: b"<!DOCTYPE html><html><body><img src=x></body></html>",
             expect=NOT_AN_IMAGE),
    BadInput("javascript-as-png", lambda: b"<script>alert(document.cookie)</script>" * 20,
             expect=NOT_AN_IMAGE),
    BadInput("svg", lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
             b'<rect width="64" height="64"/></svg>', expect=NOT_AN_IMAGE),
    BadInput("zip-as-png", zip_archive, expect=NOT_AN_IMAGE),
    BadInput("pdf-as-png", lambda: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 20,
             expect=NOT_AN_IMAGE),
    BadInput("elf-as-png", lambda: b"\x7fELF\x02\x01\x01" + bytes(2000), expect=NOT_AN_IMAGE),
    BadInput("png-signature-only", lambda: xray_png()[:8], expect=DAMAGED),
    BadInput("png-cut-after-header", lambda: xray_png()[:33], expect=DAMAGED),
    BadInput("png-cut-at-half", lambda: cut(xray_png(), 0.5), expect=DAMAGED),
    BadInput("png-cut-at-90-percent", lambda: cut(xray_png(), 0.9), expect=DAMAGED),
    BadInput("png-wrong-magic", lambda: b"\x88" + xray_png()[1:], expect=NOT_AN_IMAGE),
    BadInput("png-header-checksum-broken", broken_ihdr_crc, expect=DAMAGED),
    BadInput("jpeg-start-marker-only", lambda: b"\xff\xd8", expect=NOT_AN_IMAGE),
    BadInput("jpeg-cut-after-header", lambda: xray_jpeg()[:400], expect=DAMAGED),
    BadInput("jpeg-cut-at-half", lambda: cut(xray_jpeg(), 0.5), expect=DAMAGED),
    BadInput("jpeg-cut-at-90-percent", lambda: cut(xray_jpeg(), 0.9), expect=DAMAGED),
    BadInput("tiff-cut-at-half", lambda: cut(encode(xray(), "TIFF"), 0.5), expect=DAMAGED),
    BadInput("png-claiming-60-megapixels", lambda: with_png_size(xray_png(), 10000, 6000),
             expect="megapixels"),
    BadInput("png-claiming-4-gigapixels", lambda: with_png_size(xray_png(), 65535, 65535),
             expect="megapixels"),
    BadInput("over-the-byte-limit", lambda: bytes(MAX_BYTES + 1), expect="are not accepted"),
    BadInput("one-pixel", lambda: encode(np.array([[7]], np.uint8)), expect="only 1x1 pixels"),
    BadInput("one-row", lambda: encode(gradient(1, 300)), expect="only 300x1 pixels"),
    BadInput("blank-white-png", lambda: encode(Image.new("L", (256, 256), 255)),
             expect="blank"),
    BadInput("blank-black-jpeg", lambda: encode(Image.new("L", (256, 256), 0), "JPEG"),
             expect="blank"),
    BadInput("blank-16-bit", lambda: encode(np.full((64, 64), 3000, np.uint16)),
             expect="blank"),
    BadInput("nan-float-tiff", lambda: float_tiff(np.nan), expect=MISSING),
    BadInput("infinite-float-tiff", lambda: float_tiff(np.inf), expect=MISSING),
    BadInput("ztxt-over-the-text-limit", lambda: oversized_text_png(b"zTXt"),
             expect="too much embedded text"),
    BadInput("itxt-over-the-text-limit", lambda: oversized_text_png(b"iTXt"),
             expect="too much embedded text"),
    BadInput("noise-photograph", lambda: encode(
        np.random.default_rng(1).integers(0, 256, (256, 256, 3), np.uint8)), expect=NOT_AN_XRAY),
    BadInput("colour-x-ray", lambda: encode(np.stack(
        [xray(), xray() // 2, 255 - xray()], axis=-1)), expect=NOT_AN_XRAY),
    BadInput("drawing", lambda: encode(gradient(256, 256)), expect=NOT_AN_XRAY),
    # Answered, some with a note saying what was done.
    BadInput("large-png-reduced", lambda: encode(xray_image((4096, 4096))),
             warns="reduced from 4096x4096 to 1024x1024"),
    BadInput("large-jpeg-reduced", lambda: encode(xray_image((6000, 5000)), "JPEG"),
             warns="reduced from 6000x5000"),
    BadInput("png-16-bit", lambda: encode(xray().astype(np.uint16) * 257)),
    BadInput("palette-png", lambda: encode(xray_image().convert("P"))),
    BadInput("rgba-png", lambda: with_alpha("RGBA")),
    BadInput("gray-alpha-png", lambda: with_alpha("LA")),
    BadInput("cmyk-jpeg", cmyk_jpeg),
    BadInput("exif-rotated-jpeg", exif_rotated_jpeg),
    BadInput("progressive-jpeg", lambda: encode(xray(), "JPEG", progressive=True)),
    BadInput("interlaced-png", lambda: encode(xray(), optimize=True)),
    BadInput("small-text-chunks", small_text_png),
    BadInput("tiff", lambda: encode(xray(), "TIFF")),
    # Formats outside dxcore.images.formats.IMAGE_FORMATS, which the drop zone and the page do not
    # take either: refused whatever they hold, however sound or hostile (Pillow never
    # decodes them, so their size claims and damage are never read).
    BadInput("bmp", lambda: encode(xray(), "BMP"), expect=NOT_AN_IMAGE),
    BadInput("bmp-cut-at-half", lambda: cut(encode(xray(), "BMP"), 0.5), expect=NOT_AN_IMAGE),
    BadInput("bmp-claiming-900-megapixels", lambda: bmp_claiming(30000, 30000),
             expect=NOT_AN_IMAGE),
    BadInput("gif", lambda: encode(xray(), "GIF"), expect=NOT_AN_IMAGE),
    BadInput("gif-claiming-4-gigapixels", lambda: gif_claiming(65535, 65535),
             expect=NOT_AN_IMAGE),
    BadInput("webp", lambda: encode(xray(), "WEBP"), expect=NOT_AN_IMAGE),
]


# --- DICOM --------------------------------------------------------------------------------


def xray_dicom(**attributes) -> bytes:
    return dicom_bytes(xray(), **attributes)


def xray_float_dicom(dtype=np.float32, bad: float | None = None) -> bytes:
    values = xray().astype(dtype) / 255
    if bad is not None:
        values[5, 5] = bad
    return float_dicom_bytes(values)


def header_text(placeholder: str, text: str, **attributes) -> bytes:
    return with_header_text(xray_dicom(**attributes), placeholder, text)


def without_preamble() -> bytes:
    return xray_dicom()[132:]


def acr_nema() -> bytes:
    dataset = Dataset()
    dataset.Modality = "DX"
    dataset.set_pixel_data(xray(), "MONOCHROME2", 8)
    del dataset.file_meta
    buffer = io.BytesIO()
    dataset.save_as(buffer, implicit_vr=True, little_endian=True)
    return buffer.getvalue()


def compressed_garbage() -> bytes:
    """A DICOM claiming JPEG 2000 whose encapsulated fragment is not JPEG 2000 at all."""
    dataset = dcmread(io.BytesIO(xray_dicom()))
    dataset.file_meta.TransferSyntaxUID = JPEG2000Lossless
    dataset.PixelData = encapsulate([bytes(1000)])
    dataset["PixelData"].VR = "OB"
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


DICOM_CASES = [
    BadInput("dicom-marker-only", lambda: bytes(128) + b"DICM", expect="no pixel data"),
    BadInput("dicom-cut-at-half", lambda: cut(xray_dicom(), 0.5), expect="DICOM"),
    BadInput("dicom-no-pixel-data", lambda: dicom_bytes(None, Rows=224, Columns=224),
             expect="no pixel data"),
    BadInput("dicom-claiming-100-megapixels", lambda: dicom_bytes(
        None, Rows=10000, Columns=10000, BitsAllocated=8, BitsStored=8, SamplesPerPixel=1,
        PhotometricInterpretation="MONOCHROME2", PixelRepresentation=0, PixelData=bytes(100)),
        expect="megapixels"),
    BadInput("dicom-tiny", lambda: dicom_bytes(gradient(8, 8)), expect="only 8x8 pixels"),
    BadInput("dicom-blank", lambda: dicom_bytes(np.full((64, 64), 7, np.uint8)),
             expect="blank"),
    BadInput("dicom-frames-text", lambda: header_text("+7", "x7", NumberOfFrames="+7"),
             expect="NumberOfFrames is not a valid number"),
    BadInput("dicom-frames-negative", lambda: xray_dicom(NumberOfFrames=-2),
             expect="not a valid number of frames"),
    BadInput("dicom-frames-zero", lambda: xray_dicom(NumberOfFrames=0),
             expect="not a valid number of frames"),
    BadInput("dicom-frames-huge", lambda: xray_dicom(NumberOfFrames=2**31 - 1),
             expect=MISMATCH),
    BadInput("dicom-rows-too-many", lambda: xray_dicom(Rows=512), expect=MISMATCH),
    BadInput("dicom-columns-too-many", lambda: xray_dicom(Columns=300), expect=MISMATCH),
    BadInput("dicom-bits-allocated-16-for-8-bit-data", lambda: xray_dicom(
        BitsAllocated=16, BitsStored=16, HighBit=15), expect=MISMATCH),
    BadInput("dicom-rescale-slope-nan", lambda: xray_dicom(RescaleSlope="nan",
                                                           RescaleIntercept=0), expect=RESCALE),
    BadInput("dicom-rescale-slope-infinite", lambda: xray_dicom(
        RescaleSlope="inf", RescaleIntercept=0), expect=RESCALE),
    BadInput("dicom-rescale-slope-1e308", lambda: xray_dicom(RescaleSlope=1e308,
                                                             RescaleIntercept=0), expect=RESCALE),
    BadInput("dicom-rescale-intercept-nan", lambda: xray_dicom(
        RescaleSlope=1, RescaleIntercept="nan"), expect=RESCALE),
    BadInput("dicom-rescale-slope-zero", lambda: xray_dicom(RescaleSlope=0,
                                                            RescaleIntercept=0), expect=RESCALE),
    BadInput("dicom-rescale-slope-text", lambda: header_text(
        "+3.5", "x3.5", RescaleSlope="+3.5", RescaleIntercept=0),
        expect="RescaleSlope is not a valid number"),
    BadInput("dicom-modality-lut-without-data", lambda: xray_dicom(
        ModalityLUTSequence=lut_sequence(256)), expect="modality LUT of this DICOM is damaged"),
    BadInput("dicom-modality-lut-too-short", lambda: xray_dicom(
        ModalityLUTSequence=lut_sequence(256, [1, 2, 3])), expect="modality LUT"),
    BadInput("dicom-float-pixels-nan", lambda: xray_float_dicom(bad=np.nan), expect=MISSING),
    BadInput("dicom-float-pixels-infinite", lambda: xray_float_dicom(bad=-np.inf),
             expect=MISSING),
    BadInput("dicom-compressed-undecodable", compressed_garbage,
             expect="Please export it uncompressed"),
    # Answered, with a note where something was repaired or skipped.
    BadInput("dicom-window-width-zero", lambda: xray_dicom(WindowCenter=128, WindowWidth=0),
             warns=WINDOW),
    BadInput("dicom-window-width-negative", lambda: xray_dicom(WindowCenter=128,
                                                               WindowWidth=-50), warns=WINDOW),
    BadInput("dicom-window-width-nan", lambda: xray_dicom(WindowCenter=128, WindowWidth="nan"),
             warns=WINDOW),
    BadInput("dicom-window-centre-text", lambda: header_text(
        "+777.25", "abc+def", WindowCenter="+777.25", WindowWidth=100), warns=WINDOW),
    BadInput("dicom-voi-lut-too-short", lambda: xray_dicom(
        VOILUTSequence=lut_sequence(256, [1, 2, 3])), warns=WINDOW),
    BadInput("dicom-voi-lut-without-data", lambda: xray_dicom(
        VOILUTSequence=lut_sequence(256)), warns=EMPTY_LUT),
    BadInput("dicom-voi-lut-empty-item", lambda: xray_dicom(
        VOILUTSequence=Sequence([Dataset()])), warns=EMPTY_LUT),
    BadInput("dicom-voi-lut-no-items", lambda: xray_dicom(VOILUTSequence=Sequence([])),
             warns=EMPTY_LUT),
    BadInput("dicom-without-preamble", without_preamble, warns="lacks its standard header"),
    BadInput("dicom-acr-nema-without-file-meta", acr_nema, warns="lacks its standard header"),
    BadInput("dicom-three-frames", lambda: dicom_bytes(np.stack([xray()] * 3)),
             warns="holds 3 frames; frame 1 is shown"),
    BadInput("dicom-large-reduced", lambda: dicom_bytes(np.asarray(xray_image((4096, 3072)))),
             warns="reduced from 4096x3072 to 1024x768"),
    BadInput("dicom-float-pixel-data", xray_float_dicom),
    BadInput("dicom-double-float-pixel-data", lambda: xray_float_dicom(np.float64)),
    BadInput("dicom-monochrome1", lambda: dicom_bytes(255 - xray(), "MONOCHROME1")),
    BadInput("dicom-multi-valued-window", lambda: xray_dicom(
        WindowCenter=[128, 100], WindowWidth=[256, 50])),
]

# Through the command line as well: one of each kind of refusal.
CLI_CASES = ["empty", "random-bytes", "html-as-png", "png-cut-at-half", "nan-float-tiff",
             "ztxt-over-the-text-limit", "dicom-rescale-slope-nan", "dicom-frames-text",
             "dicom-rows-too-many"]


def page_path(model, data: bytes, name: str = "upload.png"):
    """What the chest X-ray page does with an upload (``dxui.results.analyse``)."""
    return model.predict(model.read({name: data}))


@pytest.mark.parametrize("case", ids(IMAGE_CASES + DICOM_CASES))
def test_catalogue_case_through_the_page_path(cxr_model, case):
    data = case.make()
    if case.expect is not None:
        assert_refused(case, lambda: page_path(cxr_model, data))
    else:
        assert_answered(case, lambda: page_path(cxr_model, data))


@pytest.mark.parametrize("case", ids([case for case in IMAGE_CASES + DICOM_CASES
                                      if case.name in CLI_CASES]))
def test_catalogue_case_through_the_command_line(cxr_model, case, tmp_path, capsys):
    path = tmp_path / "upload.png"
    path.write_bytes(case.make())
    status, lines, err = run_cli(capsys, "predict", "cxr-pneumonia", str(path), "--json")
    assert status == 1
    assert "Traceback" not in err
    [line] = lines
    assert line["input"] == str(path) and case.expect.lower() in line["error"].lower()
    assert_clear_message(line["error"])


def test_every_cli_case_is_in_the_catalogue():
    assert set(CLI_CASES) <= {case.name for case in IMAGE_CASES + DICOM_CASES}
