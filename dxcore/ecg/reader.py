"""Reading ECG records from a path or from uploaded files, in WFDB (:mod:`dxcore.ecg.wfdb_io`)
or CSV (:mod:`dxcore.ecg.csv_io`); nothing is written to disk.

Example:
    >>> load_uploads({"100.hea": b"100 1 360 3600\\n100.dat 16 200 11 0 0 0 0 MLII\\n"})
    Traceback (most recent call last):
    ...
    dxcore.errors.DxError: The header 100.hea needs the signal file 100.dat, which was not ...
"""

from __future__ import annotations

from pathlib import Path

from dxcore.ecg.csv_io import read_csv
from dxcore.ecg.record import EcgRecord
from dxcore.ecg.wfdb_io import read_wfdb, read_wfdb_files
from dxcore.errors import DxError


def load_record(source: str | Path, fs: float | None = None) -> EcgRecord:
    """A record from a path: a CSV file (``fs`` if it has no time column), a ``.hea`` file,
    or a WFDB record name without extension."""
    if Path(source).suffix.lower() == ".csv":
        return read_csv(Path(source), fs=fs)
    return read_wfdb(source)


def load_uploads(files: dict[str, bytes], fallback_fs: float | None = None) -> EcgRecord:
    """A record from uploaded files: one CSV, or the ``.hea``/``.dat``(/``.atr``) of one
    WFDB record, given as ``{file name: bytes}``. ``fallback_fs`` (Hz) stands in for a
    CSV's time column only when that column is missing or unusable."""
    csv_files = [name for name in files if name.lower().endswith(".csv")]
    if csv_files:
        if len(files) > 1:
            raise DxError("Upload one CSV file on its own, or the files of one WFDB record.")
        return read_csv(files[csv_files[0]], name=csv_files[0], fallback_fs=fallback_fs)
    return read_wfdb_files(files, name=None)
