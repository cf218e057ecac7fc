"""The bad-input catalogue, ECG records: broken WFDB headers (every field), signal files
and annotations, unreadable signals, CSV oddities, broken EDF files (every header check).
Each upload goes through what the ECG page calls, the model's ``predict`` on the uploaded
files (read, lead, beats, quality guard); a subset also through ``python -m dxcore predict --json``.

Inputs are built in memory from the first seconds of MIT-BIH record 100 (or, for the paced
case, 107; for EDF, the DS1 record 101) read in place; a case skips when the dataset is
absent.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from dxcore.datasets import data_dir
from dxcore.ecg.record import MAX_HOURS
from tests.catalogue import BadInput, assert_answered_with_note, assert_refused, ids
from tests.helpers import (
    TWELVE_LEADS,
    edf_bytes,
    record_files,
    run_cli,
    twelve_lead_ecg,
    wfdb_bytes,
)

SECONDS = 30.0


@cache
def _mitdb() -> Path:
    folder = data_dir() / "mitdb"
    if not (folder / "100.hea").is_file():
        pytest.skip(f"MIT-BIH not found at {folder}; set DX_DATA_DIR")
    return folder


@cache
def _signals() -> np.ndarray:
    """30 s of record 100's two leads (mV): a real ECG the quality guard accepts."""
    from tests.helpers import real_ecg

    return real_ecg(_mitdb(), seconds=SECONDS)


def _record(signals: np.ndarray | None = None, **options) -> dict[str, bytes]:
    return wfdb_bytes(_signals() if signals is None else signals, **options)


def _header(replace: str, by: str, count: int = 1) -> dict[str, bytes]:
    """The record with its header text edited (the edit must apply)."""
    files = _record()
    text = files["rec.hea"].decode()
    assert replace in text, replace
    return {**files, "rec.hea": text.replace(replace, by, count).encode("utf-8")}


def _header_bytes(header: bytes) -> dict[str, bytes]:
    return {**_record(), "rec.hea": header}


def _dat(transform) -> dict[str, bytes]:
    files = _record()
    return {**files, "rec.dat": transform(files["rec.dat"])}


def _edited(edit) -> dict[str, bytes]:
    """The record with its signals edited (a copy)."""
    signals = _signals().copy()
    edit(signals)
    return _record(signals)


def _csv(signals: np.ndarray | None = None, header: str = "MLII,V5", separator: str = ",",
         decimal: str = ".", encoding: str = "utf-8", extra: str = "") -> dict[str, bytes]:
    signals = _signals() if signals is None else signals
    rows = [header] if header else []
    rows += [separator.join(f"{v:.4f}".replace(".", decimal) for v in row) + extra
             for row in signals]
    return {"ecg.csv": ("\n".join(rows) + "\n").encode(encoding)}


def _paced() -> dict[str, bytes]:
    """The first minute of MIT-BIH record 107, a paced rhythm."""
    files = record_files(_mitdb(), "107", (".hea", ".dat"))
    header = files["107.hea"].decode().replace("650000", str(360 * 60), 1)
    return {"107.hea": header.encode(), "107.dat": files["107.dat"][:360 * 60 * 3]}


def _too_long() -> dict[str, bytes]:
    frames = int((MAX_HOURS + 0.5) * 3600 * 360)
    header = f"long 2 360 {frames}\nlong.dat 16 200 16 0 0 0 0 MLII\n" \
             "long.dat 16 200 16 0 0 0 0 V5\n"
    return {"long.hea": header.encode(), "long.dat": bytes(frames * 4)}  # never decoded


WFDB_HEADERS = [
    BadInput("header-empty", lambda: _header_bytes(b""), expect="not a WFDB header"),
    BadInput("header-binary", lambda: _header_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary"),
             expect="not a WFDB header"),
    BadInput("header-prose", lambda: _header_bytes(b"this is not a header at all\n"),
             expect="not a WFDB header"),
    BadInput("header-signal-lines-missing", lambda: _header_bytes(b"rec 2 360 10800\n"),
             expect="fewer signal lines than it announces"),
    BadInput("header-100000-signals", lambda: _header("rec 2 ", "rec 100000 "),
             expect="announces 100,000 signals; an ECG record has at most 64"),
    BadInput("header-rate-negative", lambda: _header(" 360 ", " -360 "),
             expect="sampling rate -360 Hz; a sampling rate must be a positive number"),
    BadInput("header-rate-zero", lambda: _header(" 360 ", " 0 "),
             expect="sampling rate 0 Hz; a sampling rate must be a positive number"),
    BadInput("header-rate-nan", lambda: _header(" 360 ", " nan "),
             expect="a sampling rate that is not a number"),
    BadInput("header-rate-1e9", lambda: _header(" 360 ", " 1e9 "),
             expect="1e+09 Hz, more than any ECG recorder uses (at most 20,000 Hz)"),
    BadInput("header-rate-50hz", lambda: _header(" 360 ", " 50 "),
             expect="sampling rate is 50 Hz; at least 100 Hz"),
    BadInput("header-gain-negative", lambda: _header("16 200 ", "16 -200 ", 2),
             expect="the gain -200; a gain (ADC units per mV) must be a positive number"),
    BadInput("header-gain-tiny", lambda: _header("16 200 ", "16 1e-300 ", 2),
             expect="holds values beyond ±10,000 mV"),
    BadInput("header-baseline-overflow",
             lambda: _header("16 200 ", "16 200(" + "9" * 400 + ") "),
             expect="baseline outside the range of any WFDB signal file"),
    BadInput("header-format-508", lambda: _header("rec.dat 16 ", "rec.dat 508 ", 2),
             expect="uses WFDB format 508, which is not supported"),
    BadInput("header-format-text", lambda: _header("rec.dat 16 ", "rec.dat abc "),
             expect="not a WFDB header"),
    BadInput("header-multi-segment",
             lambda: {"rec.hea": b"rec/2 1 360 7200\nseg1 3600\nseg2 3600\n"},
             expect="multi-segment record"),
    BadInput("header-multi-rate", lambda: _header("rec.dat 16 ", "rec.dat 16x2 "),
             expect="several samples per frame"),
    BadInput("header-byte-offset-beyond-file",
             lambda: _header("rec.dat 16 ", "rec.dat 16+99999999 ", 2),
             expect="holds no samples after the byte offset"),
    BadInput("header-utf8-lead-name", lambda: _header(" MLII", " Ableitung II (Müller)→"),
             warns="lead Ableitung II (Müller)→ was analysed"),
    BadInput("header-huge-length-small-file", lambda: _header(" 10800\n", " 99999999999\n"),
             warns="holds only 30.0 s of the 77,160.5 h the header announces"),
    BadInput("record-too-long", _too_long,
             expect=f"at most {MAX_HOURS:g} h can be analysed at once"),
]

WFDB_FILES = [
    BadInput("dat-missing", lambda: {"rec.hea": _record()["rec.hea"]},
             expect="needs the signal file rec.dat, which was not given"),
    BadInput("hea-missing", lambda: {"rec.dat": _record()["rec.dat"]},
             expect="rec.dat came without its header rec.hea"),
    BadInput("files-of-two-records",
             lambda: {"100.hea": _record(name="100")["100.hea"],
                      "101.dat": _record(name="101")["101.dat"]},
             expect="different records (100, 101)"),
    BadInput("dat-empty", lambda: _dat(lambda dat: b""), expect="holds no samples"),
    BadInput("dat-shorter-than-header", lambda: _dat(lambda dat: dat[:len(dat) * 2 // 3]),
             warns="the signal file holds only 20.0 s of the 30.0 s the header announces"),
    BadInput("dat-far-too-short", lambda: _dat(lambda dat: dat[:len(dat) // 6]),
             expect="the signal lasts 5.0 s; at least 10 s"),
    BadInput("dat-longer-than-header", lambda: _dat(lambda dat: dat * 2),
             warns="holds 60.0 s, more than the 30.0 s the header announces"),
    BadInput("atr-garbage", lambda: {**_record(), "rec.atr": b"\xff" * 7},
             expect="annotation file (.atr) cannot be read"),
    BadInput("atr-of-another-record",
             lambda: {**record_files(_mitdb(), "100"),
                      "100.atr": (_mitdb() / "101.atr").read_bytes()},
             expect="annotations (.atr) do not fit this signal"),
]

SIGNALS = [
    BadInput("signal-all-missing", lambda: _edited(lambda s: s.fill(np.nan)),
             expect="lead MLII holds no values"),
    BadInput("signal-mostly-missing", lambda: _edited(lambda s: s.__setitem__(
        slice(0, int(len(s) * 0.7)), np.nan)),
             expect="has too many missing samples: 70% of its samples are missing"),
    BadInput("signal-gap-of-3-s", lambda: _edited(lambda s: s.__setitem__(
        slice(3600, 3600 + 3 * 360), np.nan)),
             expect="has a gap of 3.0 s of missing samples (from 10.0 s)"),
    BadInput("signal-a-few-missing", lambda: _edited(lambda s: s.__setitem__(
        slice(100, 120), np.nan)), warns="20 missing samples of lead MLII were bridged"),
    BadInput("signal-flat", lambda: _edited(lambda s: s.fill(0.25)),
             expect="is flat (the same value throughout)"),
    BadInput("signal-saturated", lambda: _edited(lambda s: np.clip(s * 8, -1, 1, out=s)),
             expect="flat or saturated"),
    BadInput("signal-noise-not-ecg", lambda: _record(
        np.random.default_rng(0).normal(size=(int(SECONDS * 360), 2))),
             expect="does not look like an ECG lead"),
    BadInput("signal-sine-no-beats", lambda: _record(np.sin(
        2 * np.pi * np.arange(int(SECONDS * 360))[:, None] / 360) * np.ones((1, 2))),
             expect="no heartbeats could be found"),
    BadInput("signal-paced", _paced, warns="Paced rhythm: the model was not trained on paced"),
    BadInput("signal-no-mlii", lambda: _record(leads=("V1", "V2")),
             warns="Lead II was not in the record; lead V1 was analysed instead"),
    BadInput("signal-12-leads-without-mlii", lambda: wfdb_bytes(
        twelve_lead_ecg(_mitdb(), seconds=SECONDS), fs=500, leads=TWELVE_LEADS),
             warns="Lead II was analysed; the model was trained on lead MLII"),
]

CSV = [
    BadInput("csv-empty", lambda: {"ecg.csv": b"  \n"}, expect="The CSV file is empty"),
    BadInput("csv-binary", lambda: {"ecg.csv": b"\x89PNG\r\n\x1a\n\x00\x00" * 10},
             expect="not a text file"),
    BadInput("csv-header-only", lambda: {"ecg.csv": b"MLII,V5\n"},
             expect="header row but no values"),
    BadInput("csv-no-header-row", lambda: _csv(header=""), warns="has no header row"),
    BadInput("csv-text-cells", lambda: {"ecg.csv": b"MLII\n" + b"abc\n" * 11000},
             expect="hold text, not numbers"),
    BadInput("csv-one-column", lambda: _csv(_signals()[:, :1], header="MLII"),
             warns="CSV values were taken to be in millivolts"),
    BadInput("csv-huge-values", lambda: {"ecg.csv": b"MLII\n" + b"1e300\n" * 11000},
             expect="beyond ±10,000 mV"),
    BadInput("csv-infinite-cells", lambda: _csv(_signals() * np.where(
        np.isin(np.arange(len(_signals())), [100, 101, 250, 900]), np.inf, 1.0)[:, None]),
             warns="4 missing samples of lead MLII were bridged"),
    BadInput("csv-nan-lead", lambda: _csv(np.c_[np.full(len(_signals()), np.nan),
                                                _signals()[:, 1]]),
             expect="lead MLII holds no values"),
    BadInput("csv-semicolons-decimal-commas", lambda: _csv(separator=";", decimal=",",
                                                           header="MLII;V5"),
             warns="CSV values were taken to be in millivolts"),
    BadInput("csv-utf16", lambda: _csv(encoding="utf-16"),
             warns="CSV values were taken to be in millivolts"),
    BadInput("csv-rows-longer-than-header", lambda: _csv(extra=",1"),
             expect="more values than the header names"),
    BadInput("csv-no-time-column-no-rate", lambda: _csv(),
             expect="no time column (in seconds); enter the sampling rate"),
    BadInput("csv-uneven-times", lambda: {"ecg.csv": b"time,MLII\n" + b"\n".join(
        b"%f,%f" % (i ** 1.1 / 360, np.sin(i)) for i in range(11000))},
             expect="not evenly spaced"),
    BadInput("csv-with-a-wfdb-record", lambda: {**_csv(), **_record()},
             expect="one CSV file on its own"),
]



@cache
def _edf_signals() -> np.ndarray:
    """30 s of the DS1 record 101's two leads (mV)."""
    from tests.helpers import real_ecg

    return real_ecg(_mitdb(), seconds=SECONDS, record="101")


def _edf(**options) -> dict[str, bytes]:
    return {"rec.edf": edf_bytes(_edf_signals(), plus=options.pop("plus", False), **options)}


def _edf_bytes() -> bytes:
    return _edf()["rec.edf"]


def _edf_field(offset: int, width: int, value: str, signal: int | None = None,
               signals: int = 2) -> dict[str, bytes]:
    """The plain-EDF record with one header field rewritten: a record-header field at
    ``offset``, or (``signal`` given) signal ``signal``'s field whose block starts at
    ``offset`` in the signal headers."""
    data = bytearray(_edf_bytes())
    start = offset if signal is None else 256 + offset * signals + width * signal
    data[start:start + width] = value.ljust(width).encode("ascii")
    return {"rec.edf": bytes(data)}


def _edf_both_signals(offset: int, width: int, value: str) -> dict[str, bytes]:
    data = _edf_field(offset, width, value, signal=0)["rec.edf"]
    start = 256 + offset * 2 + width
    return {"rec.edf": data[:start] + value.ljust(width).encode() + data[start + width:]}


EDF = [
    BadInput("edf-shorter-than-a-header", lambda: {"rec.edf": _edf_bytes()[:200]},
             expect="shorter than an EDF header (256 bytes)"),
    BadInput("edf-signal-headers-cut", lambda: {"rec.edf": _edf_bytes()[:400]},
             expect="its header is cut short"),
    BadInput("edf-truncated", lambda: {"rec.edf": _edf_bytes()[:len(_edf_bytes()) // 2]},
             expect="it is cut short: it holds 14 of the 30 data records"),
    BadInput("edf-wrong-version", lambda: _edf_field(0, 8, "9"),
             expect="does not start as an EDF header does"),
    BadInput("edf-bdf", lambda: {"rec.edf": b"\xffBIOSEMI" + _edf_bytes()[8:]},
             expect="it is a BDF (24-bit) file"),
    BadInput("edf-png", lambda: {"rec.edf": b"\x89PNG\r\n\x1a\n" + bytes(300)},
             expect="does not start as an EDF header does"),
    BadInput("edf-signal-count-text", lambda: _edf_field(252, 4, "ab"),
             expect="number of signals is 'ab', not a number"),
    BadInput("edf-zero-signals", lambda: _edf_field(252, 4, "0"), expect="holds no signal"),
    BadInput("edf-only-annotations",
             lambda: _edf_both_signals(0, 16, "EDF Annotations"),
             expect="holds no signal, only annotations"),
    BadInput("edf-header-size-wrong", lambda: _edf_field(184, 8, "999"),
             expect="its size does not match its 2 signals"),
    BadInput("edf-rate-absurd", lambda: _edf_field(244, 8, "0.00001"),
             expect="sampling rate of 3.6e+07 Hz; an ECG needs 100 to 20,000 Hz"),
    BadInput("edf-rate-too-low", lambda: _edf_field(244, 8, "10"),
             expect="sampling rate of 36 Hz"),
    BadInput("edf-record-duration-zero", lambda: _edf_field(244, 8, "0"),
             expect="its data records last 0 s"),
    BadInput("edf-record-duration-nan", lambda: _edf_field(244, 8, "nan"),
             expect="data record duration is not a finite number"),
    BadInput("edf-record-too-long", lambda: _edf_field(236, 8, "10000"),
             expect=f"at most {MAX_HOURS:g} h can be analysed at once"),
    BadInput("edf-no-data-records", lambda: _edf_field(236, 8, "0"),
             expect="holds no data records"),
    BadInput("edf-samples-per-record-negative", lambda: _edf_field(216, 8, "-5", signal=0),
             expect="signal MLII has -5 samples per data record"),
    BadInput("edf-digital-range-empty", lambda: _edf_field(128, 8, "-32768", signal=0),
             expect="digital range from -32768 to -32768, which holds no value"),
    BadInput("edf-digital-range-beyond-16-bits",
             lambda: _edf_field(128, 8, "99999", signal=0), expect="beyond 16 bits"),
    BadInput("edf-physical-range-zero", lambda: _edf_field(104, 8, _edf_field_text(112),
                                                           signal=0),
             expect="same physical minimum and maximum"),
    BadInput("edf-values-outside-digital-range", lambda: _edf_both_signals(128, 8, "100"),
             expect="holds values outside the digital range its header states"),
    BadInput("edf-with-wfdb-files", lambda: {**_edf(), **_record()},
             expect="Upload one EDF file on its own"),
    BadInput("edf-plus-annotations-not-beats",
             lambda: _edf(plus=True, annotations=((1.0, "Recording starts"),)),
             warns="1 EDF+ annotations are not beat labels"),
    BadInput("edf-unit-unknown", lambda: _edf(unit="degC"),
             warns="Lead MLII is in 'degC'; its values were taken to be in millivolts"),
]


def _edf_field_text(offset: int, signal: int = 0, width: int = 8) -> str:
    """Signal ``signal``'s header field at ``offset`` as the file states it."""
    start = 256 + offset * 2 + width * signal
    return _edf_bytes()[start:start + width].decode().strip()


CASES = WFDB_HEADERS + WFDB_FILES + SIGNALS + CSV + EDF
# A CSV without a time column is read at the page's rate field, 360 Hz, except the case
# that leaves it empty.
NO_RATE = {"csv-no-time-column-no-rate", "csv-uneven-times"}


def _page(ecg_model, case: BadInput):
    """What the ECG page does with an upload: read it (a CSV at the rate field's value),
    then predict on the record."""
    files = case.make()
    options = {} if case.name in NO_RATE or "ecg.csv" not in files else {"fs": 360.0}
    return ecg_model.predict(files, **options)


@pytest.mark.parametrize("case", ids([c for c in CASES if c.expect]))
def test_refused(ecg_model, case):
    assert_refused(case, lambda: _page(ecg_model, case))


@pytest.mark.parametrize("case", ids([c for c in CASES if c.warns]))
def test_answered_with_a_note(ecg_model, case):
    result = _page(ecg_model, case)
    assert len(result) > 0 and np.isfinite(result.probabilities).all()
    [line] = result.as_json()
    assert_answered_with_note(case, line.get("notes", []))


CLI_CASES = ["header-rate-1e9", "header-gain-negative", "dat-missing", "dat-far-too-short",
             "atr-garbage", "csv-huge-values", "csv-rows-longer-than-header",
             "signal-flat", "edf-truncated"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_refused_by_the_cli(ecg_model, capsys, tmp_path, name):
    """The command line: exit 1, one strict-JSON error object, no traceback."""
    case = next(c for c in CASES if c.name == name)
    files = case.make()
    for file, data in files.items():
        (tmp_path / file).write_bytes(data)
    target = next((tmp_path / f for f in files if f.endswith((".csv", ".hea", ".edf"))),
                  tmp_path / next(iter(files)))
    status, lines, err = run_cli(capsys, "predict", "ecg-beats", str(target), "--fs", "360",
                                 "--json")
    assert status == 1 and "Traceback" not in err
    [line] = lines
    assert {"input", "error", "code"} <= set(line) <= {"input", "error", "code", "domain_score"}
    assert case.expect.lower() in line["error"].lower()
