"""Helpers shared by the tests: the CLI's JSON lines, small records built in memory."""

from __future__ import annotations

import json
import os
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


def real_ecg(mitdb_root: Path, seconds: float = 20.0, fs: float = 360) -> np.ndarray:
    """The first ``seconds`` of MIT-BIH record 100's two leads (mV) at ``fs``: a real ECG,
    which the signal-quality guard accepts (the synthetic one is refused, rightly)."""
    from dxcore.ecg.record import resample
    from dxcore.ecg.wfdb_io import read_wfdb

    signals = read_wfdb(mitdb_root / "100").signals[: int(seconds * 360)]
    return np.stack([resample(lead, 360, fs) for lead in signals.T], axis=1)


def synthetic_ecg(seconds: float = 20.0, fs: float = 360, rate_bpm: float = 72) -> np.ndarray:
    """Two leads of narrow Gaussian 'QRS' spikes on a small sine: enough for the readers
    (the signal-quality guard refuses it as unlike an ECG)."""
    t = np.arange(int(seconds * fs)) / fs
    beats = np.arange(0.3, seconds, 60.0 / rate_bpm)
    qrs = np.exp(-0.5 * ((t[:, None] - beats[None, :]) / 0.012) ** 2).sum(axis=1)
    lead = qrs + 0.05 * np.sin(2 * np.pi * 0.3 * t)
    return np.stack([lead, 0.6 * lead], axis=1)
