"""Helpers shared by the tests: the CLI's JSON lines, small records built in memory, a PDF's
text."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv: str) -> tuple[int, list[dict], str]:
    """``python -m dxcore ARGV`` in this process: exit status, stdout's JSON lines (parsed
    strictly: NaN or Infinity, which are not JSON, fail the test), stderr."""
    from dxcore.cli import main

    status = main(list(argv))
    captured = capsys.readouterr()
    lines = [json.loads(line, parse_constant=_not_json)
             for line in captured.out.splitlines() if line.strip()]
    return status, lines, captured.err


def _not_json(constant: str):
    raise ValueError(f"{constant} in the CLI's output is not JSON")


def pdf_page_png(pdf: bytes, page: int = 1, dpi: int = 50) -> bytes:
    """Page ``page`` of a PDF as PNG bytes, rendered by poppler's ``pdftoppm`` (Debian's
    poppler-utils) from stdin to stdout; skips the test when it is not installed. The
    report tests read pages with it, and the browser tests save one for the docs."""
    import pytest

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian's poppler-utils) is not installed; .ci/run installs it")
    rendered = subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l",
                               str(page), "-singlefile", "-"], input=pdf,
                              capture_output=True, check=True, timeout=60)
    return rendered.stdout


def run_entry_point(*argv: str) -> subprocess.CompletedProcess:
    """A real ``python -m dxcore ARGV`` process, from the repository root."""
    return subprocess.run([sys.executable, "-m", "dxcore", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def record_files(root: Path, name: str, extensions=(".hea", ".dat", ".atr")) -> dict[str, bytes]:
    """The files of a record as an upload gives them: ``{file name: bytes}``."""
    return {f"{name}{ext}": (root / f"{name}{ext}").read_bytes() for ext in extensions}


def wfdb_bytes(signals: np.ndarray, fs: float = 360, name: str = "rec",
               leads: tuple[str, ...] = ("MLII", "V5"), gain: float = 200.0) -> dict[str, bytes]:
    """A format-16 WFDB record (header and signal file) holding ``signals`` (mV); NaN
    becomes the format's invalid-sample value."""
    digital = np.where(np.isnan(signals), -32768, np.round(np.nan_to_num(signals) * gain))
    lines = [f"{name} {signals.shape[1]} {fs:g} {len(signals)}"]
    lines += [f"{name}.dat 16 {gain:g} 16 0 0 0 0 {lead}" for lead in leads[:signals.shape[1]]]
    return {f"{name}.hea": ("\n".join(lines) + "\n").encode(),
            f"{name}.dat": digital.astype("<i2").tobytes()}


def edf_bytes(signals: np.ndarray, fs: float = 360, leads: tuple[str, ...] = ("MLII", "V5"),
              unit: str = "mV", annotations: tuple[tuple[float, str], ...] = (),
              plus: bool = True) -> bytes:
    """An EDF+ (or plain EDF) file holding ``signals`` (in ``unit``) and ``annotations``
    ``(onset s, text)``, written by pyedflib into a memory-backed file (it writes to paths
    only) and returned as bytes."""
    import os

    import pyedflib

    descriptor = os.memfd_create("test.edf")
    try:
        writer = pyedflib.EdfWriter(f"/proc/self/fd/{descriptor}", signals.shape[1],
                                    file_type=pyedflib.FILETYPE_EDFPLUS if plus
                                    else pyedflib.FILETYPE_EDF)
        span = round(float(np.abs(signals).max()) * 1.1 + 1e-3, 3)  # 8 header characters
        writer.setSignalHeaders([
            {"label": lead, "dimension": unit, "sample_frequency": fs, "physical_max": span,
             "physical_min": -span, "digital_max": 32767, "digital_min": -32768,
             "transducer": "", "prefilter": ""} for lead in leads[:signals.shape[1]]])
        if plus:  # EDFlib keeps one annotation per data record (1 s) and annotation signal
            writer.set_number_of_annotation_signals(4)
        writer.writeSamples([np.ascontiguousarray(lead, np.float64) for lead in signals.T])
        for onset, text in annotations:
            writer.writeAnnotation(onset, -1, text)
        writer.close()
        return os.pread(descriptor, os.fstat(descriptor).st_size, 0)
    finally:
        os.close(descriptor)


def edf_excerpt(mitdb_root: Path, record: str = "101", seconds: float = 60.0,
                fs: float = 250) -> tuple[bytes, np.ndarray, np.ndarray]:
    """The first ``seconds`` of an MIT-BIH record at ``fs`` as EDF+, its reference beats
    written as EDF+ annotations (WFDB symbols at their onsets); with the signals (mV) and
    the beat times (s)."""
    from dxcore.ecg.beats import aami_labels
    from dxcore.ecg.wfdb_io import read_wfdb

    signals = real_ecg(mitdb_root, seconds=seconds, fs=fs, record=record)
    annotations = read_wfdb(mitdb_root / record).annotations
    beats = (aami_labels(annotations.symbol) != "") & (annotations.sample < 360 * seconds)
    onsets = annotations.sample[beats] / 360.0
    data = edf_bytes(signals, fs=fs, leads=("MLII", "V1"), annotations=tuple(
        zip(onsets.tolist(), annotations.symbol[beats].tolist(), strict=True)))
    return data, signals, onsets


def real_ecg(mitdb_root: Path, seconds: float = 20.0, fs: float = 360,
             record: str = "100") -> np.ndarray:
    """The first ``seconds`` of an MIT-BIH record's two leads (mV) at ``fs``: a real ECG,
    which the signal-quality guard accepts (the synthetic one is refused, rightly)."""
    from dxcore.ecg.record import resample
    from dxcore.ecg.wfdb_io import read_wfdb

    signals = read_wfdb(mitdb_root / record).signals[: int(seconds * 360)]
    return np.stack([resample(lead, 360, fs) for lead in signals.T], axis=1)


def synthetic_ecg(seconds: float = 20.0, fs: float = 360, rate_bpm: float = 72) -> np.ndarray:
    """Two leads of narrow Gaussian 'QRS' spikes on a small sine: enough for the readers
    (the signal-quality guard refuses it as unlike an ECG)."""
    t = np.arange(int(seconds * fs)) / fs
    beats = np.arange(0.3, seconds, 60.0 / rate_bpm)
    qrs = np.exp(-0.5 * ((t[:, None] - beats[None, :]) / 0.012) ** 2).sum(axis=1)
    lead = qrs + 0.05 * np.sin(2 * np.pi * 0.3 * t)
    return np.stack([lead, 0.6 * lead], axis=1)


TWELVE_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def twelve_lead_ecg(mitdb_root: Path, seconds: float = 30.0, fs: float = 500) -> np.ndarray:
    """A synthetic 12-lead ECG (mV, leads in :data:`TWELVE_LEADS` order) at ``fs``, from
    the first ``seconds`` of MIT-BIH record 100: lead II is its MLII, V5 its V5, lead I a
    mix of the two whose QRS nearly cancels (as in a patient with a vertical heart axis:
    the signal-quality guard, fitted on MLII, refuses it), and the other limb leads follow
    from Einthoven's and Goldberger's relations; V1-V4 and V6 are mixes of II and V5."""
    ii, v5 = real_ecg(mitdb_root, seconds=seconds, fs=fs).T
    lead_i = 0.45 * ii - 0.3 * v5
    chest = [(-0.7, 0.2), (-0.3, 0.4), (0.2, 0.5), (0.7, 0.3)]  # V1-V4: (V5, II) weights
    return np.stack([lead_i, ii, ii - lead_i, -(lead_i + ii) / 2, lead_i - ii / 2,
                     ii - lead_i / 2, *(a * v5 + b * ii for a, b in chest), v5,
                     0.8 * v5 + 0.1 * ii], axis=1)


def with_rhythm(monkeypatch, rhythm: list[dict], af_burden_percent: float) -> None:
    """Every ECG analysis from now on (in this test) carries ``rhythm`` and its AF burden,
    as the rhythm analysis will give them: the views of the rhythm are tested before it
    exists, and without it."""
    from dxcore.ecg import EcgModel

    describe = EcgModel.describe

    def with_episodes(self, prepared, result):
        analysis = describe(self, prepared, result)
        analysis.rhythm = [dict(episode) for episode in rhythm]
        analysis.summary["af_burden_percent"] = af_burden_percent
        return analysis

    monkeypatch.setattr(EcgModel, "describe", with_episodes)


def dicom_file(pixels: np.ndarray, bits_stored: int, **elements) -> bytes:
    """A MONOCHROME2 secondary-capture DICOM built in memory: its file meta, ``elements``
    (keyword -> value) and ``pixels`` (uint8, or uint16 with ``bits_stored`` bits)."""
    import io

    from pydicom import dcmwrite
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = meta.MediaStorageSOPClassUID
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    for keyword, value in elements.items():
        setattr(dataset, keyword, value)
    dataset.Rows, dataset.Columns = pixels.shape
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
    allocated = pixels.dtype.itemsize * 8
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = (allocated, bits_stored,
                                                                  bits_stored - 1)
    dataset.PixelRepresentation = 0
    dataset.PixelData = pixels.tobytes()
    buffer = io.BytesIO()
    dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()


def text_of(pdf: bytes) -> list[str]:
    """Each page's text, whitespace collapsed (fpdf2 breaks lines anywhere)."""
    from pypdf import PdfReader

    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]
