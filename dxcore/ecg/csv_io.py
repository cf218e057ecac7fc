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
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from dxcore.contract import read_path
from dxcore.ecg.record import MAX_HOURS, EcgRecord, check_amplitude, check_record
from dxcore.errors import DxError
from dxcore.tables import sniff_dialect, text_encoding

# Refused before parsing: two hours of two leads at 360 Hz with a time column are about
# 40 MB of text; the record's limits (MAX_HOURS, MAX_SAMPLES) apply once the rate is known.
MAX_CSV_BYTES = 100 * 1024 * 1024
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
        raise DxError(f"The CSV file is over {MAX_CSV_BYTES // 2**20} MB; at most "
                      f"{MAX_HOURS:g} h of signal can be analysed at once. Upload a shorter "
                      "excerpt.")
    table, notes = _table(data)
    try:
        return _record(table, fs, name, notes)
    except DxError:
        if fs is not None or fallback_fs is None:
            raise
    return _record(table, fallback_fs, name, notes)


def _record(table: pd.DataFrame, fs: float | None, name: str | None,
            notes: list[str]) -> EcgRecord:
    """The checked record of a parsed CSV table, at ``fs`` or at its time column's rate."""
    time_column = next((c for c in table.columns if TIME_COLUMN.match(c.lower())), None)
    leads = [c for c in table.columns if c != time_column]
    if not leads:
        raise DxError("The CSV file has no signal column (only a time column).")
    notes = [*notes, "CSV values were taken to be in millivolts."]
    if fs is None:
        if time_column is None:
            # Plain words for the page; the command line adds its own option (``needs``).
            raise DxError("The CSV file has no time column (in seconds); enter the sampling "
                          "rate it was recorded at, in Hz.", needs="fs")
        fs = _rate_from_times(table[time_column].to_numpy(dtype=np.float64))
        notes.append(f"Sampling rate {fs:g} Hz, read from the time column '{time_column}'.")
    signals = table[leads].to_numpy(dtype=np.float64)
    check_amplitude(signals, leads)  # before float32, which would overflow to infinity
    record = EcgRecord(signals=signals.astype(np.float32), fs=float(fs),
                       lead_names=leads, name=name or "CSV upload", units=["mV"] * len(leads),
                       source_format="CSV", notes=notes)
    return check_record(record)


def _is_number(cell: str, decimal: str) -> bool:
    try:
        float(cell.strip().strip("'\"").replace(decimal, "."))
    except ValueError:
        return False
    return True


def _table(data: bytes) -> tuple[pd.DataFrame, list[str]]:
    """The CSV as a table of floats (NaN where a cell is empty or, rarely, text), one
    column per lead, and the notes about how it was read."""
    # pandas decodes the bytes itself: a decoded copy of a 40 MB file took 200 MB more.
    encoding = text_encoding(data, "The CSV file")
    head = data[:65536].decode(encoding, errors="ignore")
    separator, decimal = sniff_dialect(head)
    first_lines = head.splitlines()[:2]
    first = first_lines[0].split(separator) if first_lines else []
    notes = []
    options = {"sep": separator, "decimal": decimal, "skipinitialspace": True,
               "index_col": False, "encoding": encoding}
    if first and all(_is_number(cell, decimal) for cell in first):
        # No header row: the first line is already signal.
        options["header"] = None
        notes.append("The CSV file has no header row; its columns were read as leads "
                     "signal 1, signal 2, … in order.")
    elif len(first_lines) > 1 and all(re.fullmatch(r"['\"]?[A-Za-z%µ/]+['\"]?", c.strip())
                                      for c in first_lines[1].split(separator)):
        options["skiprows"] = [1]  # a PhysioNet export's units row ('seconds', 'mV')
    try:
        with warnings.catch_warnings():
            # pandas drops values beyond the header's columns with only a warning; they
            # would be lost (and the row shifted) silently.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            try:
                table = pd.read_csv(io.BytesIO(data), dtype=np.float64, **options)
            except ValueError as error:
                if isinstance(error, pd.errors.ParserError | pd.errors.EmptyDataError):
                    raise
                table = _with_text_cells(pd.read_csv(io.BytesIO(data), dtype=str, **options),
                                         decimal)
    except pd.errors.ParserWarning:
        raise DxError("Some rows of the CSV file hold more values than the header names "
                      "leads. Check the file's separators.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError,
            csv.Error) as error:
        raise DxError("The CSV file cannot be read: expected a header row and one column "
                      "per lead, separated by commas (or semicolons or tabs).") from error
    table.columns = ([f"signal {i + 1}" for i in range(table.shape[1])]
                     if options.get("header", 0) is None else
                     [str(c).strip().strip("'\"") for c in table.columns])
    if table.empty:
        raise DxError("The CSV file holds a header row but no values.")
    return table, notes


def _with_text_cells(table: pd.DataFrame, decimal: str) -> pd.DataFrame:
    """A table read as text, as numbers: a few text cells (a note, "-") become missing
    samples; more than 1% say the columns are not signal."""
    # The string dtype keeps empty cells missing (and its .str works on a column of them).
    cells = table.astype("string").apply(lambda column: column.str.strip().str.strip("'\""))
    values = cells.apply(lambda column: pd.to_numeric(
        column.str.replace(decimal, ".", regex=False), errors="coerce").astype(np.float64))
    text_cells = values.isna() & cells.notna() & (cells != "")
    if text_cells.to_numpy().mean() > 0.01:
        raise DxError("The CSV signal columns hold text, not numbers. Expected a header row "
                      "and then one number per lead on each line.")
    return values


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
