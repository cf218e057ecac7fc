"""WFDB records (``.hea`` + ``.dat``, optionally ``.atr``) from paths or uploaded bytes.

Uploads are never written to disk, so the files are decoded in memory with the parsing
helpers of the ``wfdb`` package itself (header lines, packed-sample formats, annotation
byte pairs; pinned in requirements.txt because these helpers are internal). A path is read
into the same ``{file name: bytes}`` form first, so both routes share one decoder; a test
checks it against ``wfdb.rdrecord``/``wfdb.rdann`` on MIT-BIH records.

WFDB formats: Moody GB, "WFDB Applications Guide" and the ``header(5)``/``signal(5)``/
``annot(5)`` manual pages, PhysioNet; Goldberger AL et al., Circulation 101(23), 2000.

Example:
    >>> from dxcore.ecg.wfdb_io import read_wfdb_files
    >>> read_wfdb_files({"100.dat": b"\\x00" * 30})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dxcore.errors.DxError: 100.dat came without its header 100.hea. ...
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from dxcore.contract import read_path
from dxcore.ecg.record import Annotations, EcgRecord, check_amplitude, check_record, check_size
from dxcore.errors import DxError

RECORD_EXTENSIONS = (".hea", ".dat", ".atr")
MAX_HEADER_BYTES = 1 << 20
# Bytes per sample of the byte-aligned formats, with their numpy type.
_ALIGNED = {"8": "i1", "16": "<i2", "61": ">i2", "80": "u1", "160": "<u2", "32": "<i4"}
_PACKED = {"212": (3, 2), "310": (4, 3), "311": (4, 3), "24": (3, 1)}  # bytes, samples
# A 12-lead ECG with a few extra channels has under 20 signals; more is not an ECG record
# (and a header announcing millions would have each one decoded).
MAX_SIGNALS = 64
# The widest format (32) holds digital values of 32 bits; a baseline beyond that is no
# baseline of any signal file (and would overflow the conversion to millivolts).
MAX_BASELINE = 2 ** 32


def read_wfdb(path: str | Path) -> EcgRecord:
    """Read a record from ``path``: the record name without extension, or its ``.hea``."""
    path = Path(path)
    if path.suffix.lower() in RECORD_EXTENSIONS:
        path = path.with_suffix("")
    folder, stem = path.parent, path.name
    header_path = folder / f"{stem}.hea"
    files: dict[str, bytes] = {}
    if header_path.is_file():
        files[header_path.name] = read_path(header_path)
        header = _parse_header(header_path.name, files[header_path.name])
        wanted = record_members(header_path.name, header["file_name"])
    else:
        wanted = {f"{stem}.dat", f"{stem}.atr"}
        if not (folder / f"{stem}.dat").is_file():
            raise DxError(f"The record {path} cannot be opened: there is no {stem}.hea "
                          "(nor .dat) there.")
    for name in sorted(wanted):
        if (folder / name).is_file():
            files[name] = read_path(folder / name)
    return read_wfdb_files(files, name=str(path))


def record_members(header_name: str, signal_files: Iterable[str]) -> set[str]:
    """The files read with a WFDB header, beside it: the signal files it names and the
    record's reference annotations (``<record>.atr``). The one pairing rule: of the reader
    of a path, the drop zone and the command line's folders.

    >>> sorted(record_members("100.hea", ["100.dat", "100.dat"]))
    ['100.atr', '100.dat']
    """
    return {name for name in signal_files if name} | {f"{Path(header_name).stem}.atr"}


def read_wfdb_files(files: dict[str, bytes], name: str | None = None) -> EcgRecord:
    """Decode the files of one record, given as ``{file name: bytes}`` (e.g. uploads).

    The files are paired by record name; the header says which signal files it needs.
    """
    by_extension = _pair(files)
    stem = next(iter(by_extension.values()))[0]
    if ".hea" not in by_extension:
        present = ", ".join(file for _, file in by_extension.values())
        raise DxError(f"{present} came without its header {stem}.hea. Upload "
                      f"the .hea and .dat files of record {stem} together.")
    header_name = by_extension[".hea"][1]
    header = _parse_header(header_name, files[header_name])
    uploaded = {Path(file).name: data for file, data in files.items()}
    signals, notes = _read_signals(header, header_name, uploaded)
    annotations = None
    if ".atr" in by_extension:
        # Refused rather than skipped: damaged reference annotations say the upload is not
        # what the user thinks it is.
        annotations = _read_annotations(files[by_extension[".atr"][1]], header["fs"])
    record = EcgRecord(
        signals=signals, fs=float(header["fs"]), lead_names=_lead_names(header),
        name=name or stem, units=[u or "mV" for u in header["units"]],
        annotations=annotations, source_format="WFDB", notes=notes)
    return check_record(record)


def _pair(files: dict[str, bytes]) -> dict[str, tuple[str, str]]:
    """``{extension: (record name, file name)}``; refuses files of different records."""
    if not files:
        raise DxError("No files were given. Upload the .hea and .dat files of one record.")
    found: dict[str, tuple[str, str]] = {}
    for file in files:
        base = Path(file).name
        extension = Path(base).suffix.lower()
        if extension in RECORD_EXTENSIONS:
            found[extension] = (Path(base).stem, file)
    if not found:
        raise DxError("None of the files is part of a WFDB record (.hea, .dat, .atr).")
    records = sorted({stem for stem, _ in found.values()} |
                     {Path(Path(f).name).stem for f in files
                      if Path(f).suffix.lower() in RECORD_EXTENSIONS})
    if len(records) > 1:
        raise DxError(f"The files belong to different records ({', '.join(records)}). Upload "
                      "the .hea and .dat (and, if you have it, .atr) of one record.")
    return found


def _parse_header(file: str, data: bytes) -> dict:
    """Record and signal fields, through wfdb's own header parsers, with the fields that
    would make the analysis wrong (the rate, the gains, the baselines) checked here."""
    from wfdb.io import _header, header

    unreadable = (f"The header {file} cannot be read: it is not a WFDB header (a text file "
                  "whose first line gives the record name, the number of signals and the "
                  "sampling rate).")
    if len(data) > MAX_HEADER_BYTES or b"\x00" in data:
        raise DxError(unreadable)
    try:
        # WFDB headers are ASCII, but lead names and comments are often written in UTF-8
        # ("Ableitung II", "MLII→") or, by older tools, in Latin-1, which decodes any byte.
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    try:
        lines, _ = header.parse_header_content(text)
        fields = _header._parse_record_line(lines[0])
        if fields["n_seg"] is not None:
            raise DxError(f"The header {file} describes a multi-segment record, which is not "
                          "supported. Export it as a single-segment record.")
        n_sig = int(fields["n_sig"] or 0)
        if n_sig > MAX_SIGNALS:
            raise DxError(f"The header {file} announces {n_sig:,} signals; an ECG record has "
                          f"at most {MAX_SIGNALS}. Check that it is the header of an ECG.")
        if n_sig == 0 or len(lines) < 1 + n_sig:
            raise DxError(f"The header {file} describes no signal (or fewer signal lines "
                          "than it announces).")
        fields.update(_header._parse_signal_lines(lines[1:1 + n_sig]))
    except DxError:
        raise
    except Exception as error:  # wfdb raises HeaderSyntaxError, ValueError, IndexError...
        raise DxError(unreadable) from error
    fields["n_sig"] = n_sig
    _read_record_line(file, lines[0], fields)
    _check_signal_fields(file, fields)
    return fields


def _read_record_line(file: str, line: str, fields: dict) -> None:
    """The sampling rate and length as written. wfdb's pattern reads "1e9" as 1 Hz and
    "-360" or "nan" as the default 250 Hz; a rate analysed at the wrong value would give
    wrong heart rates, so the rate is read from the line itself and refused unless it is
    a positive number."""
    tokens = line.split()
    if len(tokens) < 3:
        fields["fs"] = 250.0  # the WFDB default when the header omits it
        return
    rate = tokens[2].split("/")[0]  # "360/100" gives a counter frequency after the rate
    try:
        fs = float(rate)
    except ValueError:
        fs = float("nan")
    if not np.isfinite(fs):
        raise DxError(f"The header {file} gives a sampling rate that is not a number; a "
                      "sampling rate must be a positive number of samples per second.")
    if fs <= 0:
        raise DxError(f"The header {file} gives the sampling rate {fs:g} Hz; a sampling "
                      "rate must be a positive number of samples per second.")
    fields["fs"] = fs
    if fields["sig_len"] is None and len(tokens) > 3 and tokens[3].isdigit():
        fields["sig_len"] = int(tokens[3])  # missed by wfdb's pattern after such a rate


def _check_signal_fields(file: str, fields: dict) -> None:
    """Refuse gains and baselines no recorder writes (wfdb itself reads a missing or zero
    gain as the default 200 units per mV, as the header(5) manual page says)."""
    names = _lead_names(fields)
    for channel, name in enumerate(names):
        gain = fields["adc_gain"][channel]
        if gain is not None and not (np.isfinite(gain) and gain >= 0):
            raise DxError(f"The header {file} gives lead {name} the gain {gain:g}; a gain "
                          "(ADC units per mV) must be a positive number. Check the header.")
        if abs(int(fields["baseline"][channel] or 0)) > MAX_BASELINE:
            raise DxError(f"The header {file} gives lead {name} a baseline outside the "
                          "range of any WFDB signal file. Check the header.")


def _lead_names(header: dict) -> list[str]:
    return [name or f"signal {i + 1}" for i, name in enumerate(header["sig_name"])]


def _read_signals(header: dict, header_name: str,
                  uploaded: dict[str, bytes]) -> tuple[np.ndarray, list[str]]:
    """Physical units, (samples, signals), NaN where the record marks a sample invalid,
    with the notes a reader should see (a signal file shorter than announced)."""
    from wfdb.io import _signal

    if any((spf or 1) != 1 for spf in header["samps_per_frame"]):
        raise DxError("Records with several samples per frame (multi-rate) are not supported.")
    names = _lead_names(header)
    announced = int(header["sig_len"] or 0)
    notes = []
    files = {}
    for file in dict.fromkeys(header["file_name"]):
        if file not in uploaded:
            raise DxError(f"The header {header_name} needs the signal file {file}, which was "
                          "not given. Upload the .hea and .dat files of the record together.")
        channels = [i for i, f in enumerate(header["file_name"]) if f == file]
        fmt = str(header["fmt"][channels[0]])
        offset = int(header["byte_offset"][channels[0]] or 0)
        frames = _frames_in(len(uploaded[file]) - offset, fmt, len(channels), file)
        if frames == 0:
            raise DxError(f"The signal file {file} holds no samples"
                          + (" after the byte offset its header gives." if offset else "."))
        files[file] = channels, fmt, offset, frames
    length = min(frames for *_, frames in files.values())
    if announced and length < announced:
        notes.append(f"The signal file holds only {_duration(length / header['fs'])} of the "
                     f"{_duration(announced / header['fs'])} the header announces; the "
                     "signal present was analysed.")
    elif announced and length > announced:
        # The header says where the signal ends; more samples may mean a wrong header.
        notes.append(f"The signal file holds {_duration(length / header['fs'])}, more than "
                     f"the {_duration(announced / header['fs'])} the header announces; only "
                     "those were analysed.")
        length = announced
    # Before decoding: a record too long to analyse is refused without being decoded.
    check_size(length, header["n_sig"], float(header["fs"]))
    signals = np.empty((length, header["n_sig"]), dtype=np.float32)
    for file, (channels, fmt, offset, _) in files.items():
        digital = _decode(uploaded[file][offset:], fmt, len(channels), file)[:length]
        invalid = digital == _signal._digi_nan(fmt) if fmt not in ("80", "160") else None
        for column, channel in enumerate(channels):
            gain = float(header["adc_gain"][channel] or 200.0)
            baseline = float(header["baseline"][channel] or 0)
            values = (digital[:, column].astype(np.float64) - baseline) / gain
            if invalid is not None:
                values[invalid[:, column]] = np.nan
            # Before float32, which would overflow to infinity; NaN is a missing sample.
            check_amplitude(values[:, None], [names[channel]], infinite_is_missing=False)
            signals[:, channel] = values
    return signals, notes


def _duration(seconds: float) -> str:
    """A duration in words for a note: "12.5 s", "25 min", "7.2 h"."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.1f} h"


def _frames_in(size: int, fmt: str, n_channels: int, file: str) -> int:
    """How many whole frames (one sample of each channel) ``size`` bytes hold."""
    if fmt in _ALIGNED:
        return max(size, 0) // (np.dtype(_ALIGNED[fmt]).itemsize * n_channels)
    if fmt in _PACKED:
        block_bytes, block_samples = _PACKED[fmt]
        return max(size, 0) // block_bytes * block_samples // n_channels
    raise DxError(f"The signal file {file} uses WFDB format {fmt}, which is not supported "
                  "(supported: 212, 16, 61, 80, 160, 8, 24, 32, 310, 311).")


def _decode(data: bytes, fmt: str, n_channels: int, file: str) -> np.ndarray:
    """Digital samples (frames, channels) of one signal file in WFDB format ``fmt``."""
    from wfdb.io import _signal

    raw = np.frombuffer(data, dtype=np.uint8)
    if fmt in _ALIGNED:
        dtype = np.dtype(_ALIGNED[fmt])
        values = raw[: len(raw) // dtype.itemsize * dtype.itemsize].view(dtype).astype(np.int64)
        if fmt == "80":
            values -= 128
        elif fmt == "160":
            values -= 32768
    elif fmt in _PACKED:
        block_bytes, block_samples = _PACKED[fmt]
        n_samples = len(raw) // block_bytes * block_samples
        values = _signal._blocks_to_samples(raw[: n_samples // block_samples * block_bytes],
                                            n_samples, fmt).astype(np.int64)
    else:
        raise DxError(f"The signal file {file} uses WFDB format {fmt}, which is not supported "
                      "(supported: 212, 16, 61, 80, 160, 8, 24, 32, 310, 311).")
    frames = len(values) // n_channels
    return values[: frames * n_channels].reshape(frames, n_channels)


def _read_annotations(data: bytes, fs: float) -> Annotations:
    """Beat and rhythm annotations from ``.atr`` bytes, through wfdb's byte-pair parser."""
    from wfdb.io import annotation as wa

    try:
        pairs = np.frombuffer(data[: len(data) // 2 * 2], dtype=np.uint8).reshape(-1, 2)
        sample, label_store, subtype, chan, num, aux_note = wa.proc_ann_bytes(pairs, None)
        special, remove = wa.get_special_inds(sample, label_store, aux_note)
        _, custom_labels = wa.interpret_defintion_annotations(special, aux_note)
        sample, label_store, subtype, chan, num, aux_note = wa.rm_empty_indices(
            remove, sample, label_store, subtype, chan, num, aux_note)
        label_store, subtype, chan, num = wa.lists_to_int_arrays(label_store, subtype, chan, num)
        annotation = wa.Annotation(
            record_name="upload", extension="atr", sample=np.array(sample, dtype=np.int64),
            label_store=label_store, subtype=subtype, chan=chan, num=num, aux_note=aux_note,
            fs=fs, custom_labels=custom_labels)
        annotation.set_label_elements(["symbol"])
    except Exception as error:  # damaged annotation files raise many types in wfdb
        raise DxError("The annotation file (.atr) cannot be read: it is not a WFDB "
                      "annotation file. Upload the record's own .atr, or none (the beats "
                      "are then detected).") from error
    return Annotations(sample=np.asarray(annotation.sample, dtype=np.int64),
                       symbol=np.asarray(annotation.symbol, dtype=str))
