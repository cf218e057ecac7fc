"""Fixtures of the ECG tests: the MIT-BIH folder, the shipped ecg-beats model, and small
WFDB records built in memory (format 16) for the reader tests that need no dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dxcore.datasets import data_dir


@pytest.fixture(scope="session")
def mitdb_root() -> Path:
    root = data_dir() / "mitdb"
    if not (root / "100.hea").is_file():
        pytest.skip(f"MIT-BIH Arrhythmia data not found at {root} (set DX_DATA_DIR)")
    return root


@pytest.fixture(scope="session")
def ecg_model():
    from dxcore.errors import DxError
    from dxcore.registry import get_model

    try:
        return get_model("ecg-beats").load()
    except DxError as error:
        pytest.skip(f"the shipped ecg-beats model is not available: {error}")


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


def synthetic_ecg(seconds: float = 20.0, fs: float = 360, rate_bpm: float = 72) -> np.ndarray:
    """Two leads of narrow Gaussian 'QRS' spikes on a small sine: enough for the readers."""
    t = np.arange(int(seconds * fs)) / fs
    beats = np.arange(0.3, seconds, 60.0 / rate_bpm)
    qrs = np.exp(-0.5 * ((t[:, None] - beats[None, :]) / 0.012) ** 2).sum(axis=1)
    lead = qrs + 0.05 * np.sin(2 * np.pi * 0.3 * t)
    return np.stack([lead, 0.6 * lead], axis=1)
