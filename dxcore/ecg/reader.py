"""Reading ECG records from a path or from uploaded files, in WFDB (:mod:`dxcore.ecg.wfdb_io`),
CSV (:mod:`dxcore.ecg.csv_io`) or EDF/EDF+ (:mod:`dxcore.ecg.edf_io`); nothing is written
to disk. A file named ``.csv`` or ``.edf`` is read as its name says (and refused, if it is
not, in that format's words); a file named otherwise as its content says, by the sniffers
the drop zone asks too (:mod:`dxcore.ecg.formats`): an EDF or a CSV dropped without its
extension is read as on the ECG page.

Example:
    >>> load_uploads({"100.hea": b"100 1 360 3600\\n100.dat 16 200 11 0 0 0 0 MLII\\n"})
    Traceback (most recent call last):
    ...
    dxcore.errors.DxError: The header 100.hea needs the signal file 100.dat, which was not ...
"""

from __future__ import annotations

from pathlib import Path

from dxcore.contract import read_path
from dxcore.ecg.csv_io import read_csv
from dxcore.ecg.edf_io import read_edf
from dxcore.ecg.formats import looks_like_csv, looks_like_edf, looks_like_header
from dxcore.ecg.record import EcgRecord
from dxcore.ecg.wfdb_io import RECORD_EXTENSIONS, read_wfdb, read_wfdb_files
from dxcore.errors import DxError


def load_record(source: str | Path, fs: float | None = None) -> EcgRecord:
    """A record from a path: a CSV file (``fs`` if it has no time column), an EDF file, a
    ``.hea`` file, or a WFDB record name without extension."""
    suffix = Path(source).suffix.lower()
    if suffix == ".csv":
        return read_csv(Path(source), fs=fs)
    if suffix == ".edf":
        return read_edf(Path(source))
    if suffix not in RECORD_EXTENSIONS and Path(source).is_file():
        data = read_path(source)
        record = _by_content(Path(source).name, data, fs=fs, name=str(source))
        if record is not None:
            return record
    return read_wfdb(source)


def load_uploads(files: dict[str, bytes], fallback_fs: float | None = None) -> EcgRecord:
    """A record from uploaded files: one CSV, one EDF, or the ``.hea``/``.dat``(/``.atr``)
    of one WFDB record, given as ``{file name: bytes}``. ``fallback_fs`` (Hz) stands in for
    a CSV's time column only when that column is missing or unusable."""
    for extension in (".csv", ".edf"):
        chosen = [name for name in files if name.lower().endswith(extension)]
        if not chosen:
            continue
        if len(files) > 1:
            raise DxError(f"Upload one {extension[1:].upper()} file on its own, or the "
                          "files of one WFDB record.")
        name = chosen[0]
        if extension == ".csv":
            return read_csv(files[name], name=name, fallback_fs=fallback_fs)
        return read_edf(files[name], name=name)
    if len(files) == 1:
        name, data = next(iter(files.items()))
        record = _by_content(name, data, fallback_fs=fallback_fs)
        if record is not None:
            return record
    return read_wfdb_files(files, name=None)


def _by_content(file: str, data: bytes, fs: float | None = None, name: str | None = None,
                fallback_fs: float | None = None) -> EcgRecord | None:
    """An EDF or CSV file named neither ``.edf`` nor ``.csv``, read as its content says;
    None for anything else (a WFDB file, by its name or its header's content)."""
    if Path(file).suffix.lower() in RECORD_EXTENSIONS or looks_like_header(file, data):
        return None
    if looks_like_edf(file, data):
        return read_edf(data, name=name or file)
    if looks_like_csv(file, data):
        return read_csv(data, fs=fs, name=name or file, fallback_fs=fallback_fs)
    return None
