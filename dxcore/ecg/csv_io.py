"""ECG signals from CSV: a header row, one column per lead, and either a time column in
seconds or a sampling rate given by the user.

Values are taken to be in millivolts. A PhysioNet "samples to CSV" export (quoted names such
as ``'Elapsed time'``, ``'MLII'``, and a units row such as ``'seconds'``, ``'mV'``) is read
as well.

Example:
    >>> import numpy as np
    >>> t = np.arange(0, 12, 1 / 200)
    >>> text = "time,MLII\\n" + "\\n".join(f"{a:.4f},{np.sin(7 * a):.4f}" for a in t)
    >>> record = read_csv(text.encode())
    >>> record.fs, record.lead_names
    (200.0, ['MLII'])
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from dxcore.contract import read_path
from dxcore.ecg.record import EcgRecord, check_record
from dxcore.errors import DxError

MAX_CSV_BYTES = 200 * 1024 * 1024
TIME_COLUMN = re.compile(r"^(elapsed[ _]?)?(time|t|sec|secs|seconds)([ _]?\(s(ec)?\)|[ _]s)?$")
# Times may be rounded (a PhysioNet export at 360 Hz keeps milliseconds): each time may stray
# from the regular grid by up to this fraction of a sampling interval.
GRID_TOLERANCE = 0.25


def read_csv(source: bytes | str | Path, fs: float | None = None,
             name: str | None = None, fallback_fs: float | None = None) -> EcgRecord:
    """Read a CSV file (path or bytes). ``fs`` (Hz) is needed when there is no time column;
    when both are present, ``fs`` wins. ``fallback_fs`` is used only when the file cannot
    be read without a rate (no time column, or one that gives no usable rate): the file
    is parsed once either way."""
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source):
        path = Path(source)
        name = name or str(path)
        source = read_path(path)
    data = source.encode() if isinstance(source, str) else bytes(source)
    if not data.strip():
        raise DxError("The CSV file is empty.")
    if len(data) > MAX_CSV_BYTES:
        raise DxError(f"The CSV file is over {MAX_CSV_BYTES // 2**20} MB; please upload a "
                      "shorter excerpt or a WFDB record.")
    table = _table(data)
    try:
        return _record(table, fs, name)
    except DxError:
        if fs is not None or fallback_fs is None:
            raise
    return _record(table, fallback_fs, name)


def _record(table: pd.DataFrame, fs: float | None, name: str | None) -> EcgRecord:
    """The checked record of a parsed CSV table, at ``fs`` or at its time column's rate."""
    time_column = next((c for c in table.columns if TIME_COLUMN.match(c.lower())), None)
    leads = [c for c in table.columns if c != time_column]
    if not leads:
        raise DxError("The CSV file has no signal column (only a time column).")
    values = table[leads].apply(pd.to_numeric, errors="coerce")
    text_cells = values.isna() & table[leads].notna() & (table[leads] != "")
    if text_cells.to_numpy().mean() > 0.01:
        raise DxError("The CSV signal columns hold text, not numbers. Expected a header row "
                      "and then one number per lead on each line.")
    notes = ["CSV values were taken to be in millivolts."]
    if fs is None:
        if time_column is None:
            raise DxError("The CSV file has no time column (in seconds); give its sampling "
                          "rate in Hz (--fs on the command line, or the field on the page).")
        fs = _rate_from_times(pd.to_numeric(table[time_column], errors="coerce").to_numpy())
        notes.append(f"Sampling rate {fs:g} Hz, read from the time column '{time_column}'.")
    record = EcgRecord(signals=values.to_numpy(dtype=np.float32), fs=float(fs),
                       lead_names=leads, name=name or "CSV upload", units=["mV"] * len(leads),
                       source_format="CSV", notes=notes)
    return check_record(record)


def _separator(data: bytes) -> str | None:
    """The header's separator among commas, semicolons and tabs; None (let pandas sniff)
    when the header holds none of them. Sniffing a one-column file would split its header
    on a letter ("MLII" into "ML" and "I")."""
    header = data.split(b"\n", 1)[0]
    found = [sep for sep in (",", ";", "\t") if sep.encode() in header]
    return found[0] if len(found) == 1 else None if found else ","


def _table(data: bytes) -> pd.DataFrame:
    try:
        separator = _separator(data)
        table = pd.read_csv(io.BytesIO(data), sep=separator, engine="python", dtype=str,
                            skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            ValueError, csv.Error) as error:
        raise DxError("The CSV file cannot be read: expected a header row and one column "
                      "per lead, separated by commas (or semicolons or tabs).") from error
    table.columns = [str(c).strip().strip("'\"") for c in table.columns]
    table = table.map(lambda v: v.strip().strip("'\"") if isinstance(v, str) else v)
    # A PhysioNet export has a units row ('seconds', 'mV') under the header.
    if len(table) and table.iloc[0].str.fullmatch(r"[A-Za-z%µ/]+").fillna(False).all():
        table = table.iloc[1:].reset_index(drop=True)
    return table


def _rate_from_times(times: np.ndarray) -> float:
    steps = np.diff(times)
    if len(steps) == 0 or not np.isfinite(steps).all() or (steps <= 0).any():
        raise DxError("The time column does not increase steadily (missing, repeated or "
                      "decreasing times). Give the sampling rate instead.")
    step = (times[-1] - times[0]) / (len(times) - 1)
    grid = times[0] + step * np.arange(len(times))
    if np.abs(times - grid).max() > GRID_TOLERANCE * step:
        raise DxError("The time column is not evenly spaced; the signal must be sampled at a "
                      "fixed rate. Give the sampling rate instead if the times are rounded.")
    fs = 1.0 / step
    return float(round(fs)) if abs(fs - round(fs)) < 1e-3 * fs else round(fs, 3)
