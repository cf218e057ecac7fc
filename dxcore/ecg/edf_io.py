"""EDF and EDF+ records (one ``.edf`` file), as many Holter and bedside systems export
them, from uploaded bytes or a path; EDF+ beat annotations are read when present.

The header is parsed and checked here first, from the bytes (the fixed 256-byte record
header, then 256 bytes per signal: Kemp B et al., "A simple format for exchange of
digitized polygraphic recordings", Electroencephalogr Clin Neurophysiol 82:391-393, 1992;
Kemp B, Olivan J, "European data format 'plus' (EDF+)", Clin Neurophysiol 114:1755-1761,
2003), so that a damaged, truncated or oversized file gets one clear message before any
decoding; the signals and annotations are then decoded by ``pyedflib`` (EDFlib).

EDFlib opens files by path only; an upload must not touch the disk, so its bytes go into an
anonymous memory-backed file (``os.memfd_create``, Linux) that EDFlib opens as
``/proc/self/fd/N``: nothing is written to any file system.

Example:
    >>> read_edf(b"0       " + b" " * 100, "short.edf")
    Traceback (most recent call last):
    ...
    dxcore.errors.DxError: short.edf is not a readable EDF file: it is shorter than an EDF ...
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dxcore.contract import read_path
from dxcore.ecg.beats import aami_labels
from dxcore.ecg.record import (
    MAX_FS,
    MIN_FS,
    Annotations,
    EcgRecord,
    check_amplitude,
    check_record,
    check_size,
)
from dxcore.errors import DxError

HEADER_BYTES = 256
ANNOTATIONS_LABEL = "EDF Annotations"
MAX_SIGNALS = 256  # as the WFDB reader: far more than any ECG recorder writes
# Physical units to millivolts; a lead in another unit is taken to be in millivolts.
TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}


@dataclass
class Signal:
    """One signal's header fields (as EDF states them)."""

    label: str
    unit: str
    physical: tuple[float, float]
    digital: tuple[int, int]
    per_record: int


@dataclass
class Header:
    records: int  # as the header announces them
    record_s: float
    signals: list[Signal]
    stored: int  # the whole data records the file holds


def read_edf(source: bytes | str | Path, name: str | None = None) -> EcgRecord:
    """An EDF or EDF+ record from its bytes (an upload named ``name``) or from a path."""
    if not isinstance(source, bytes):
        name, source = name or str(source), read_path(source)
    name = name or "EDF upload"
    header = parse_header(source, name)
    leads = [k for k, s in enumerate(header.signals) if s.label != ANNOTATIONS_LABEL]
    rates = {k: header.signals[k].per_record / header.record_s for k in leads}
    fs = max(rates.values())
    check_rate(fs, name)
    # ECG leads share the highest rate; slower signals (SpO2, respiration) are left out.
    kept = [k for k in leads if rates[k] == fs]
    notes = []
    slower = [header.signals[k].label for k in leads if k not in kept]
    if slower:
        notes.append(f"Signals recorded at a lower rate than the ECG were left out: "
                     f"{', '.join(slower)}.")
    # Too long is refused from the header alone, before the file is checked to be whole.
    check_size(header.records * header.signals[kept[0]].per_record, len(kept), fs)
    if header.stored < header.records:
        raise _refuse(name, f"it is cut short: it holds {header.stored:,} of the "
                            f"{header.records:,} data records its header announces")
    signals, annotations = _decode(source, header, kept, name)
    units = []
    for k, column in zip(kept, range(signals.shape[1]), strict=True):
        unit = header.signals[k].unit.strip()
        scale = TO_MV.get(unit.lower())
        if scale is None:
            notes.append(f"Lead {header.signals[k].label} is in '{unit or 'no unit'}'; its "
                         "values were taken to be in millivolts.")
            scale = 1.0
        signals[:, column] *= scale
        units.append("mV")
    lead_names = [header.signals[k].label or f"lead {k + 1}" for k in kept]
    # In millivolts, before float32, which would overflow to infinity.
    check_amplitude(signals, lead_names, infinite_is_missing=False)
    beats, other = _beat_annotations(annotations, fs)
    if other and beats is None:
        notes.append(f"The file's {other} EDF+ annotations are not beat labels (WFDB "
                     "symbols such as N or V), so the beats were detected.")
    record = EcgRecord(signals=signals.astype(np.float32), fs=float(fs), lead_names=lead_names,
                       name=name, units=units, annotations=beats, source_format="EDF",
                       notes=notes)
    return check_record(record)


def check_rate(fs: float, name: str) -> None:
    """The rate's own check, before decoding (:func:`check_record` repeats it after)."""
    if not MIN_FS <= fs <= MAX_FS:
        raise DxError(f"{name} states a sampling rate of {fs:g} Hz; an ECG needs "
                      f"{MIN_FS:g} to {MAX_FS:,.0f} Hz. Check the file's header.")


def _refuse(name: str, why: str) -> DxError:
    return DxError(f"{name} is not a readable EDF file: {why}.")


def _field(data: bytes, start: int, width: int) -> str:
    return data[start:start + width].decode("ascii", errors="replace").strip()


def _number(text: str, what: str, name: str, kind: type = float) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise _refuse(name, f"its header's {what} is '{text}', not a number") from None
    if not np.isfinite(value):
        raise _refuse(name, f"its header's {what} is not a finite number")
    return value


def parse_header(data: bytes, name: str) -> Header:
    """The header's fields, each checked (the data's length is checked by the caller,
    once it knows the record is not too long to analyse)."""
    if len(data) < HEADER_BYTES:
        raise _refuse(name, f"it is shorter than an EDF header ({HEADER_BYTES} bytes)")
    if data[:8] == b"\xffBIOSEMI":
        raise _refuse(name, "it is a BDF (24-bit) file; export the record as EDF")
    if _field(data, 0, 8) != "0":
        raise _refuse(name, "its header does not start as an EDF header does (version 0)")
    count = int(_number(_field(data, 252, 4), "number of signals", name, int))
    if count < 1:
        raise DxError(f"{name} holds no signal.")
    if count > MAX_SIGNALS:
        raise _refuse(name, f"its header announces {count} signals (at most {MAX_SIGNALS})")
    header_bytes = int(_number(_field(data, 184, 8), "header size", name, int))
    if header_bytes != HEADER_BYTES * (count + 1) or len(data) < header_bytes:
        raise _refuse(name, "its header is cut short or its size does not match its "
                            f"{count} signals")
    record_s = _number(_field(data, 244, 8), "data record duration", name)
    if record_s <= 0:
        raise _refuse(name, f"its data records last {record_s:g} s")
    signals = [_signal(data, count, k, name) for k in range(count)]
    if all(s.label == ANNOTATIONS_LABEL for s in signals):
        raise DxError(f"{name} holds no signal, only annotations.")
    record_bytes = 2 * sum(s.per_record for s in signals)
    records = int(_number(_field(data, 236, 8), "number of data records", name, int))
    stored = (len(data) - header_bytes) // record_bytes
    if records == -1:  # allowed while a recording is still being written: count them
        records = stored
    if records < 1:
        raise DxError(f"{name} holds no data records.")
    return Header(records, record_s, signals, stored)


def _signal(data: bytes, count: int, k: int, name: str) -> Signal:
    def field(offset: int, width: int) -> str:
        # Each field is stored for all signals in turn: offset within the signal headers.
        return _field(data, HEADER_BYTES + offset * count + width * k, width)

    label = field(0, 16)
    shown = label or f"signal {k + 1}"
    physical = (_number(field(104, 8), f"physical minimum of {shown}", name),
                _number(field(112, 8), f"physical maximum of {shown}", name))
    digital = (int(_number(field(120, 8), f"digital minimum of {shown}", name, int)),
               int(_number(field(128, 8), f"digital maximum of {shown}", name, int)))
    per_record = int(_number(field(216, 8), f"samples per record of {shown}", name, int))
    if label == ANNOTATIONS_LABEL:
        return Signal(label, "", physical, digital, per_record)
    if per_record < 1:
        raise _refuse(name, f"signal {shown} has {per_record} samples per data record")
    if digital[0] >= digital[1]:
        raise _refuse(name, f"signal {shown} has a digital range from {digital[0]} to "
                            f"{digital[1]}, which holds no value")
    if not -32768 <= digital[0] < digital[1] <= 32767:
        raise _refuse(name, f"signal {shown} has a digital range beyond 16 bits")
    if physical[0] == physical[1]:
        raise _refuse(name, f"signal {shown} has the same physical minimum and maximum "
                            f"({physical[0]:g}), so its values cannot be scaled")
    return Signal(label, field(96, 8), physical, digital, per_record)


def _decode(data: bytes, header: Header, kept: list[int],
            name: str) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The kept signals in physical units, (samples, leads) float64, and the EDF+
    annotations (onsets in seconds, descriptions), decoded by EDFlib from a memory-backed
    file."""
    import pyedflib

    descriptor = os.memfd_create("edf-upload", os.MFD_CLOEXEC)
    try:
        with os.fdopen(os.dup(descriptor), "wb") as memory:
            memory.write(data)
        try:
            reader = pyedflib.EdfReader(f"/proc/self/fd/{descriptor}")
        except OSError:
            raise _refuse(name, "its header or data do not follow the EDF standard") \
                from None
        try:
            # EDFlib numbers the signals without the annotation signal
            signal_index = [k for k, s in enumerate(header.signals)
                            if s.label != ANNOTATIONS_LABEL]
            columns = []
            for k in kept:
                digital = reader.readSignal(signal_index.index(k), digital=True)
                low, high = header.signals[k].digital
                if digital.size and (digital.min() < low or digital.max() > high):
                    raise _refuse(name, f"signal {header.signals[k].label} holds values "
                                        "outside the digital range its header states")
                columns.append(reader.readSignal(signal_index.index(k)))
            onsets, _, descriptions = reader.readAnnotations()
        finally:
            reader.close()
    finally:
        os.close(descriptor)
    return (np.stack(columns, axis=1),
            (np.asarray(onsets, np.float64), np.asarray(descriptions, str)))


def _beat_annotations(annotations: tuple[np.ndarray, np.ndarray],
                      fs: float) -> tuple[Annotations | None, int]:
    """The annotations that are WFDB beat symbols, as reference beats (None without any),
    and how many others the file holds."""
    onsets, descriptions = annotations
    symbols = np.array([d.strip() for d in descriptions], dtype=object)
    beats = aami_labels(symbols) != ""
    if not beats.any():
        return None, len(symbols)
    return (Annotations(sample=np.round(onsets[beats] * fs).astype(np.int64),
                        symbol=symbols[beats].astype(str)), int((~beats).sum()))
