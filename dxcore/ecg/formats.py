"""The formats of ECG records, each with the one sniffer the drop zone, the ECG reader
(:func:`dxcore.ecg.reader.load_uploads`) and the command line ask (:mod:`dxcore.formats`):

- a WFDB header (text whose first record line is "name signals [rate [samples]]"), read
  with the signal files its lines name and the record's ``.atr`` annotations
  (:func:`dxcore.ecg.wfdb_io.record_members`): a signal or annotation file has no
  signature of its own and is recognised through its header;
- an EDF or EDF+ file (its header starts with the version "0" and seven spaces);
- a CSV of one column per lead: a table that no case-record model's columns match, long
  enough to be a signal (:data:`MIN_SIGNAL_ROWS` rows).

Example:
    >>> wfdb_signal_files("100 1 360 650000\\n100.dat 212 200 11 1024 995 -22131 0 MLII\\n")
    ['100.dat']
    >>> sorted(header_companions("100.hea", b"100 1 360\\n100.dat 212 200 11 1024 0 0 0 MLII\\n"))
    ['100.atr', '100.dat']
    >>> looks_like_edf("x", b"0       " + b" " * 248), looks_like_csv("x", b"MLII,V5\\n1,2\\n")
    (True, True)
"""

from __future__ import annotations

import re

from dxcore.ecg.wfdb_io import record_members
from dxcore.formats import (
    FALLBACK,
    SIGNATURE,
    TEXT,
    Declined,
    FileFormat,
    Routed,
    is_json_text,
    looks_like_table,
    table_shape,
    text_head,
)

# An ECG CSV has a row per sample: a table of fewer rows that matches no case-record model
# is no recording (at 360 Hz, 100 rows are under a third of a second).
MIN_SIGNAL_ROWS = 100
# The record line of a WFDB header: record name (with an optional "/segments"), the number
# of signals, then optionally the sampling rate and sample count.
_WFDB_RECORD_LINE = re.compile(r"^[\w.-]+(/\d+)?\s+\d+(\s|$)")
EDF_VERSION = b"0       "
EDF_HEADER_BYTES = 256


def wfdb_signal_files(text: str) -> list[str] | None:
    """The signal files a WFDB header names, or None when ``text`` is no WFDB header."""
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines or not _WFDB_RECORD_LINE.match(lines[0]):
        return None
    count = int(lines[0].split()[1])
    signal_lines = lines[1:1 + count]
    if len(signal_lines) < count:
        return None
    return sorted({line.split()[0] for line in signal_lines})


def looks_like_header(name: str, data: bytes) -> bool:
    """The sniffer of a WFDB header."""
    text = text_head(data)
    return text is not None and wfdb_signal_files(text) is not None


def header_companions(name: str, data: bytes) -> set[str]:
    """The files read with the header ``name``: the signal files it names and its
    annotations."""
    return record_members(name, wfdb_signal_files(text_head(data) or "") or ())


def looks_like_edf(name: str, data: bytes) -> bool:
    """The sniffer of EDF and EDF+: the version "0" and seven spaces, in a header of 256
    bytes at least."""
    return len(data) >= EDF_HEADER_BYTES and data[:len(EDF_VERSION)] == EDF_VERSION


def looks_like_csv(name: str, data: bytes) -> bool:
    """The sniffer of an ECG CSV: text of values separated by commas, semicolons or tabs
    (not JSON)."""
    text = text_head(data)
    return text is not None and not is_json_text(text) and looks_like_table(text)


def _long_enough(name: str, data: bytes, cards: list) -> Routed:
    """A CSV is an ECG recording when it has a row per sample of some length."""
    if table_shape(data)[1] < MIN_SIGNAL_ROWS:
        raise Declined("it is too short to be an ECG recording")
    return Routed(tuple(card.id for card in cards))


WFDB_HEADER = FileFormat("WFDB header", looks_like_header, ("hea",), TEXT,
                         companions=header_companions)
EDF = FileFormat("EDF", looks_like_edf, ("edf",), SIGNATURE)
CSV = FileFormat("CSV", looks_like_csv, ("csv",), FALLBACK, route=_long_enough)
FORMATS = (WFDB_HEADER, EDF, CSV)
