"""ECG readers: WFDB from paths and from uploaded bytes (the same decoder, checked against
wfdb's own reader), CSV, lead choice, resampling, and one clear error per bad input."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.ecg import load_record, load_uploads
from dxcore.ecg.csv_io import read_csv
from dxcore.ecg.record import resample
from dxcore.ecg.wfdb_io import read_wfdb, read_wfdb_files
from dxcore.errors import DxError
from tests.helpers import record_files, synthetic_ecg, wfdb_bytes


def csv_bytes(signals: np.ndarray, fs: float | None, leads=("MLII", "V5")) -> bytes:
    header = ([] if fs is None else ["time"]) + list(leads[:signals.shape[1]])
    rows = [",".join(header)]
    for i, row in enumerate(signals):
        values = ([] if fs is None else [f"{i / fs:.6f}"]) + [f"{v:.5f}" for v in row]
        rows.append(",".join(values))
    return "\n".join(rows).encode()


# --- WFDB: the in-memory decoder agrees with wfdb.rdrecord / wfdb.rdann -----------------

@pytest.mark.parametrize("name", ["100", "114", "208"])
def test_wfdb_decoder_matches_wfdb(mitdb_root, name):
    import wfdb

    record = read_wfdb(mitdb_root / name)
    reference = wfdb.rdrecord(str(mitdb_root / name))
    annotation = wfdb.rdann(str(mitdb_root / name), "atr")
    assert record.fs == reference.fs == 360
    assert record.lead_names == reference.sig_name
    np.testing.assert_allclose(record.signals, reference.p_signal, atol=1e-6)
    np.testing.assert_array_equal(record.annotations.sample, annotation.sample)
    assert list(record.annotations.symbol) == annotation.symbol


def test_path_forms_and_uploads_give_the_same_record(mitdb_root):
    by_name = load_record(mitdb_root / "100")
    by_header = load_record(str(mitdb_root / "100.hea"))
    uploaded = load_uploads(record_files(mitdb_root, "100"))
    for other in (by_header, uploaded):
        np.testing.assert_array_equal(other.signals, by_name.signals)
        np.testing.assert_array_equal(other.annotations.sample, by_name.annotations.sample)
    assert by_name.duration_s == pytest.approx(1805.6, abs=0.1)


def test_mlii_is_the_default_lead_wherever_it_is(mitdb_root):
    record = load_record(mitdb_root / "114")  # MLII is channel 1 in record 114
    name, signal, _ = record.lead()
    assert name == "MLII"
    np.testing.assert_allclose(signal, record.signals[:, 1], atol=1e-6)
    assert record.lead("v5")[0] == "V5"  # any named lead, case-insensitive


def test_upload_without_annotations_and_a_record_without_mlii_notes_it():
    files = wfdb_bytes(synthetic_ecg(), leads=("V1", "V2"))
    record = read_wfdb_files(files)
    assert record.annotations is None
    notes_before = list(record.notes)
    name, _, notes = record.lead()
    assert name == "V1" and any("Lead II was not in the record" in note for note in notes)
    assert record.notes == notes_before  # choosing a lead leaves the record as it was
    assert record.lead()[2] == notes  # and a second analysis gets the same notes, once


def test_format_212_upload_round_trip(mitdb_root):
    # The 212 packing of a real record, cut to its first 20 s (whole byte triplets).
    files = record_files(mitdb_root, "100", (".hea", ".dat"))
    header = files["100.hea"].decode().replace("650000", "7200")
    record = read_wfdb_files({"100.hea": header.encode(), "100.dat": files["100.dat"][:21600]})
    full = read_wfdb(mitdb_root / "100")
    np.testing.assert_array_equal(record.signals, full.signals[:7200])


# --- WFDB: each bad input is one clear DxError ------------------------------------------

def test_header_without_its_signal_file():
    files = wfdb_bytes(synthetic_ecg())
    with pytest.raises(DxError, match=r"needs the signal file rec\.dat, which was not given"):
        read_wfdb_files({"rec.hea": files["rec.hea"]})


@pytest.mark.parametrize("rate", ["-360", "0"])
def test_a_header_with_a_sampling_rate_that_is_not_positive_is_refused(rate):
    files = wfdb_bytes(synthetic_ecg())
    header = files["rec.hea"].decode().replace(" 360 ", f" {rate} ", 1).encode()
    assert f" {rate} ".encode() in header
    with pytest.raises(DxError, match=f"gives the sampling rate {rate} Hz; a sampling rate "
                                      "must be a positive number"):
        read_wfdb_files({**files, "rec.hea": header})


def test_a_one_column_csv_keeps_its_lead_name(mitdb_root):
    from tests.helpers import real_ecg

    lead = real_ecg(mitdb_root, seconds=12.0)[:, 0]
    record = read_csv(("MLII\n" + "\n".join(f"{v:.3f}" for v in lead) + "\n").encode(),
                      fs=360)
    assert record.lead_names == ["MLII"] and record.signals.shape == (len(lead), 1)


def test_an_implausibly_high_sampling_rate_is_refused():
    text = "MLII\n" + "\n".join(f"{v:.3f}" for v in synthetic_ecg(12.0)[:, 0]) + "\n"
    with pytest.raises(DxError, match="more than any ECG recorder uses"):
        read_csv(text.encode(), fs=1e9)


def test_signal_file_without_its_header():
    files = wfdb_bytes(synthetic_ecg())
    with pytest.raises(DxError, match=r"rec\.dat came without its header rec\.hea"):
        read_wfdb_files({"rec.dat": files["rec.dat"]})


def test_path_to_a_signal_file_without_header(tmp_path):
    (tmp_path / "rec.dat").write_bytes(wfdb_bytes(synthetic_ecg())["rec.dat"])
    with pytest.raises(DxError, match="came without its header"):
        read_wfdb(tmp_path / "rec")


def test_files_of_different_records():
    first, second = wfdb_bytes(synthetic_ecg(), name="100"), wfdb_bytes(synthetic_ecg(),
                                                                          name="101")
    with pytest.raises(DxError, match=r"different records \(100, 101\)"):
        read_wfdb_files({"100.hea": first["100.hea"], "101.dat": second["101.dat"]})


@pytest.mark.parametrize("header", [
    b"\x89PNG\r\n\x1a\n\x00\x00binary",     # not text
    b"this is not a header at all\n",       # text, not WFDB
    b"rec 2 360 7200\n",                    # announces 2 signals, describes none
    b"",                                    # empty
])
def test_unreadable_header(header):
    files = wfdb_bytes(synthetic_ecg())
    with pytest.raises(DxError, match="header rec.hea"):
        read_wfdb_files({"rec.hea": header, "rec.dat": files["rec.dat"]})


def test_signal_shorter_than_ten_seconds():
    with pytest.raises(DxError, match=r"lasts 5\.0 s; at least 10 s"):
        read_wfdb_files(wfdb_bytes(synthetic_ecg(seconds=5)))


def test_all_nan_lead():
    signals = synthetic_ecg()
    signals[:, 0] = np.nan
    record = read_wfdb_files(wfdb_bytes(signals))
    with pytest.raises(DxError, match="Lead MLII holds no values"):
        record.lead()
    assert record.lead("V5")[0] == "V5"  # the other lead is still usable


def test_flat_lead():
    signals = synthetic_ecg()
    signals[:, 0] = 0.25
    with pytest.raises(DxError, match="Lead MLII is flat"):
        read_wfdb_files(wfdb_bytes(signals)).lead()


def test_a_few_missing_samples_are_bridged_with_a_note():
    signals = synthetic_ecg()
    signals[100:110, 0] = np.nan
    record = read_wfdb_files(wfdb_bytes(signals))
    _, lead, notes = record.lead()
    assert np.isfinite(lead).all() and any("bridged" in note for note in notes)


def test_sampling_rate_below_100_hz():
    with pytest.raises(DxError, match=r"sampling rate is 50 Hz; at least 100 Hz"):
        read_wfdb_files(wfdb_bytes(synthetic_ecg(fs=50), fs=50))


def test_unknown_lead_name():
    record = read_wfdb_files(wfdb_bytes(synthetic_ecg()))
    with pytest.raises(DxError, match="no lead called 'V7'. Its leads are: MLII, V5"):
        record.lead("V7")


def test_unsupported_format_and_multi_segment_headers():
    files = wfdb_bytes(synthetic_ecg())
    with pytest.raises(DxError, match="format 508"):
        read_wfdb_files({"rec.hea": files["rec.hea"].replace(b" 16 ", b" 508 "),
                         "rec.dat": files["rec.dat"]})
    with pytest.raises(DxError, match="multi-segment"):
        read_wfdb_files({"rec.hea": b"rec/2 1 360 7200\nseg1 3600\nseg2 3600\n"})


def test_damaged_annotations_are_refused():
    files = {**wfdb_bytes(synthetic_ecg()), "rec.atr": b"\xff" * 7}
    with pytest.raises(DxError, match=r"annotation file \(.atr\) cannot be read"):
        read_wfdb_files(files)


def test_missing_record_path(tmp_path):
    with pytest.raises(DxError, match="cannot be opened"):
        read_wfdb(tmp_path / "nothing")


# --- CSV -----------------------------------------------------------------------------

def test_csv_with_time_column():
    record = read_csv(csv_bytes(synthetic_ecg(fs=250), fs=250))
    assert record.fs == 250 and record.lead_names == ["MLII", "V5"]
    assert record.signals.shape == (5000, 2)


def test_csv_with_given_rate_and_physionet_export_style():
    record = read_csv(csv_bytes(synthetic_ecg(fs=500, seconds=12), fs=None), fs=500)
    assert record.fs == 500 and record.duration_s == pytest.approx(12)
    signals = synthetic_ecg(seconds=11)
    text = "'Elapsed time','MLII','V5'\n'seconds','mV','mV'\n" + "\n".join(
        f"{i / 360:.3f},{a:.3f},{b:.3f}" for i, (a, b) in enumerate(signals))
    record = read_csv(text.encode())  # milliseconds only: 360 Hz is still recognised
    assert record.fs == 360 and record.lead("MLII")[0] == "MLII"


def test_csv_bad_inputs():
    good = synthetic_ecg()
    with pytest.raises(DxError, match="no time column"):
        read_csv(csv_bytes(good, fs=None))
    with pytest.raises(DxError, match="at least 10 s"):
        read_csv(csv_bytes(synthetic_ecg(seconds=4), fs=360))
    with pytest.raises(DxError, match="at least 100 Hz"):
        read_csv(csv_bytes(good, fs=None), fs=80)
    flat = good.copy()
    flat[:, 0] = 1.0
    with pytest.raises(DxError, match="is flat"):
        read_csv(csv_bytes(flat, fs=360)).lead()
    empty = good.copy()
    empty[:, 0] = np.nan
    with pytest.raises(DxError, match="holds no values"):
        read_csv(csv_bytes(empty, fs=360).replace(b"nan", b"")).lead()
    with pytest.raises(DxError, match="hold text"):
        read_csv(b"time,MLII\n" + b"\n".join(b"%d,abc" % i for i in range(4000)), fs=360)
    with pytest.raises(DxError, match="not evenly spaced"):
        read_csv(b"time,MLII\n" + b"\n".join(b"%f,%f" % (i ** 1.1 / 360, np.sin(i))
                                             for i in range(4000)))
    with pytest.raises(DxError, match="empty"):
        read_csv(b"  \n")
    with pytest.raises(DxError, match="no lead called 'V2'"):
        read_csv(csv_bytes(good, fs=360)).lead("V2")


def test_one_csv_upload_or_one_record():
    data = csv_bytes(synthetic_ecg(), fs=360)
    assert load_uploads({"ecg.csv": data}).source_format == "CSV"
    with pytest.raises(DxError, match="one CSV file on its own"):
        load_uploads({"ecg.csv": data, **wfdb_bytes(synthetic_ecg())})


# --- Resampling ------------------------------------------------------------------------

def test_resampling_keeps_duration_and_waveform():
    fs = 250
    t = np.arange(0, 12, 1 / fs)
    signal = np.sin(2 * np.pi * 1.3 * t) + 0.3 * np.sin(2 * np.pi * 9 * t)
    up = resample(signal, fs, 360)
    assert len(up) == 12 * 360
    t360 = np.arange(len(up)) / 360
    expected = np.sin(2 * np.pi * 1.3 * t360) + 0.3 * np.sin(2 * np.pi * 9 * t360)
    assert np.abs(up - expected)[360:-360].max() < 0.01


# --- Issue 11: unusual files ------------------------------------------------------------

def test_a_signal_file_shorter_than_its_header_says_is_analysed_with_a_note(mitdb_root):
    from tests.helpers import real_ecg

    files = wfdb_bytes(real_ecg(mitdb_root, seconds=20.0))
    cut = {**files, "rec.dat": files["rec.dat"][: len(files["rec.dat"]) * 3 // 4]}
    record = read_wfdb_files(cut)
    assert record.duration_s == pytest.approx(15.0)
    assert record.notes == ["The signal file holds only 15.0 s of the 20.0 s the header "
                            "announces; the signal present was analysed."]
    with pytest.raises(DxError, match=r"lasts 5\.0 s; at least 10 s"):  # too little left
        read_wfdb_files({**files, "rec.dat": files["rec.dat"][: len(files["rec.dat"]) // 4]})


def test_the_short_signal_note_reaches_the_result(ecg_model, mitdb_root):
    from tests.helpers import real_ecg

    files = wfdb_bytes(real_ecg(mitdb_root, seconds=30.0))
    files["rec.dat"] = files["rec.dat"][: len(files["rec.dat"]) * 2 // 3]
    result = ecg_model.predict(files)
    [line] = result.as_json()
    assert any("holds only 20.0 s of the 30.0 s" in note for note in line["notes"])
    assert any("holds only" in note for note in result.detail.notes)  # what the page shows


def test_a_signal_file_longer_than_its_header_says_ends_where_the_header_says():
    files = wfdb_bytes(synthetic_ecg())
    record = read_wfdb_files({**files, "rec.dat": files["rec.dat"] * 2})
    assert record.duration_s == pytest.approx(20.0)
    assert record.notes == ["The signal file holds 40.0 s, more than the 20.0 s the header "
                            "announces; only those were analysed."]


@pytest.mark.parametrize("lead", ["Ableitung II", "MLII→", "Brustwand V5 (Müller)"])
def test_a_utf8_lead_name_is_read(lead):
    files = wfdb_bytes(synthetic_ecg(), leads=(lead, "V5"))
    header = files["rec.hea"].decode() + "# Patient: Jürgen Groß\n"
    record = read_wfdb_files({**files, "rec.hea": header.encode("utf-8")})
    assert record.lead_names == [lead, "V5"]


def test_a_latin1_lead_name_is_read():
    files = wfdb_bytes(synthetic_ecg(), leads=("Ableitung_ä", "V5"))
    header = files["rec.hea"].decode().encode("latin-1")
    assert read_wfdb_files({**files, "rec.hea": header}).lead_names == ["Ableitung_ä", "V5"]


@pytest.mark.parametrize(("rate", "message"), [
    ("1e9", r"sampling rate is 1e\+09 Hz, more than any ECG recorder uses"),
    ("nan", "gives a sampling rate that is not a number"),
    ("inf", "gives a sampling rate that is not a number"),
])
def test_a_rate_wfdb_would_misread_is_read_as_written(rate, message):
    files = wfdb_bytes(synthetic_ecg())
    header = files["rec.hea"].decode().replace(" 360 ", f" {rate} ", 1).encode()
    with pytest.raises(DxError, match=message):
        read_wfdb_files({**files, "rec.hea": header})


def test_a_rate_in_scientific_notation_keeps_the_announced_length():
    files = wfdb_bytes(synthetic_ecg())
    header = files["rec.hea"].decode().replace(" 360 ", " 3.6e2 ", 1).encode()
    record = read_wfdb_files({**files, "rec.hea": header})
    assert record.fs == 360 and record.duration_s == pytest.approx(20.0)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("gain", "-200", "gives lead MLII the gain -200; a gain"),
    ("gain", "1e-300", "holds values beyond ±10,000 mV"),
    ("baseline", "200(" + "9" * 400 + ")", "baseline outside the range of any WFDB"),
    ("baseline", "200(99999999999)", "baseline outside the range of any WFDB"),
])
def test_absurd_signal_fields_are_refused(field, value, message):
    files = wfdb_bytes(synthetic_ecg())
    header = files["rec.hea"].decode().replace("rec.dat 16 200 ", f"rec.dat 16 {value} ", 1)
    with pytest.raises(DxError, match=message):
        read_wfdb_files({**files, "rec.hea": header.encode()})


def test_a_zero_gain_is_the_wfdb_default():
    # header(5): "If this field is missing or zero, the default value (200) is used".
    files = wfdb_bytes(synthetic_ecg())
    header = files["rec.hea"].decode().replace("rec.dat 16 200 ", "rec.dat 16 0 ", 1)
    record = read_wfdb_files({**files, "rec.hea": header.encode()})
    np.testing.assert_allclose(record.signals, read_wfdb_files(files).signals)


def test_a_header_announcing_thousands_of_signals_is_refused():
    files = wfdb_bytes(synthetic_ecg())
    header = files["rec.hea"].decode().replace("rec 2 ", "rec 100000 ", 1).encode()
    with pytest.raises(DxError, match="announces 100,000 signals; an ECG record has at most 64"):
        read_wfdb_files({**files, "rec.hea": header})


def test_a_huge_announced_length_with_a_small_file_says_how_much_is_there():
    files = wfdb_bytes(synthetic_ecg())
    header = files["rec.hea"].decode().replace(" 7200\n", " 99999999999\n", 1).encode()
    record = read_wfdb_files({**files, "rec.hea": header})
    assert record.duration_s == pytest.approx(20.0)
    assert "holds only 20.0 s of the 77,160.5 h the header announces" in record.notes[0]


def test_a_record_longer_than_the_limit_is_refused_before_decoding():
    from dxcore.ecg.record import MAX_HOURS

    seconds = int(MAX_HOURS * 3600) + 60
    header = f"long 2 360 {seconds * 360}\nlong.dat 16 200 16 0 0 0 0 MLII\n" \
             "long.dat 16 200 16 0 0 0 0 V5\n"
    dat = bytes(seconds * 360 * 4)  # zeros: it is never decoded
    with pytest.raises(DxError, match=rf"lasts {seconds / 3600:.1f} h; at most {MAX_HOURS:g} h "
                                      "can be analysed at once"):
        read_wfdb_files({"long.hea": header.encode(), "long.dat": dat})


def test_many_leads_at_a_high_rate_are_refused_by_their_number_of_samples():
    header = "big 16 10000 1400000\n" + "big.dat 16 200 16 0 0 0 0 V1\n" * 16
    with pytest.raises(DxError, match="holds 22 million samples .16 leads.; at most 20 million"):
        read_wfdb_files({"big.hea": header.encode(), "big.dat": bytes(1_400_000 * 32)})


def test_a_byte_offset_beyond_the_file_is_refused():
    files = wfdb_bytes(synthetic_ecg())
    header = files["rec.hea"].decode().replace("rec.dat 16 ", "rec.dat 16+999999999 ")
    with pytest.raises(DxError, match="holds no samples after the byte offset"):
        read_wfdb_files({**files, "rec.hea": header.encode()})


def _csv_text(signals: np.ndarray, separator: str = ",", decimal: str = ".") -> bytes:
    rows = [separator.join(("MLII", "V5"))]
    rows += [separator.join(f"{v:.4f}".replace(".", decimal) for v in row) for row in signals]
    return ("\n".join(rows) + "\n").encode()


def test_a_semicolon_csv_with_decimal_commas_reads_as_the_comma_csv(mitdb_root):
    from tests.helpers import real_ecg

    signals = real_ecg(mitdb_root, seconds=12.0)
    plain = read_csv(_csv_text(signals), fs=360)
    for separator, decimal in ((";", ","), ("\t", ","), (";", ".")):
        european = read_csv(_csv_text(signals, separator, decimal), fs=360)
        np.testing.assert_array_equal(european.signals, plain.signals)
        assert european.lead_names == ["MLII", "V5"]


def test_a_utf16_csv_is_read(mitdb_root):
    from tests.helpers import real_ecg

    signals = real_ecg(mitdb_root, seconds=12.0)
    text = _csv_text(signals).decode()
    np.testing.assert_array_equal(read_csv(text.encode("utf-16"), fs=360).signals,
                                  read_csv(text.encode(), fs=360).signals)


def test_a_csv_without_header_row_is_read_with_a_note():
    text = "\n".join(f"{a:.4f},{b:.4f}" for a, b in synthetic_ecg()).encode()
    record = read_csv(text, fs=360)
    assert record.lead_names == ["signal 1", "signal 2"] and len(record.signals) == 7200
    assert "no header row" in record.notes[0]


def test_csv_rows_longer_than_the_header_are_refused_not_shifted():
    text = "MLII,V5\n" + "\n".join(f"{a:.4f},{b:.4f},1" for a, b in synthetic_ecg())
    with pytest.raises(DxError, match="more values than the header names"):
        read_csv(text.encode(), fs=360)


def test_csv_huge_values_and_a_header_without_rows_are_refused():
    with pytest.raises(DxError, match="beyond ±10,000 mV"):
        read_csv(b"MLII\n" + b"1e300\n" * 4000, fs=360)
    with pytest.raises(DxError, match="header row but no values"):
        read_csv(b"MLII,V5\n", fs=360)


def test_a_csv_column_without_any_value_among_text_cells_is_one_clear_error():
    # Found by Hypothesis: an empty column beside a text cell broke the text-cell check.
    with pytest.raises(DxError, match="hold text, not numbers"):
        read_csv(b",\n\x01", fs=360)


# --- EDF and EDF+ (pyedflib, from memory) ----------------------------------------------


@pytest.fixture(scope="module")
def edf_101(mitdb_root) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A minute of the DS1 record 101 at 250 Hz as EDF+, with its reference beats."""
    from tests.helpers import edf_excerpt

    return edf_excerpt(mitdb_root)


def test_an_edf_plus_upload_is_read_with_its_beat_annotations(edf_101):
    data, signals, onsets = edf_101
    record = load_uploads({"holter.edf": data})

    assert record.fs == 250 and record.lead_names == ["MLII", "V1"]
    assert record.source_format == "EDF" and record.units == ["mV", "mV"]
    np.testing.assert_allclose(record.signals, signals, atol=1e-3)  # 16-bit quantisation
    assert len(record.annotations.sample) == len(onsets)
    np.testing.assert_array_equal(record.annotations.sample, np.round(onsets * 250))
    assert set(record.annotations.symbol) <= {"N", "A", "V", "F", "a", "J", "S", "Q"}


def test_an_edf_path_microvolts_and_plain_edf(tmp_path, mitdb_root):
    from tests.helpers import edf_bytes, real_ecg

    signals = real_ecg(mitdb_root, seconds=20.0, fs=360, record="101")
    path = tmp_path / "strip.edf"
    path.write_bytes(edf_bytes(signals * 1000, unit="uV", plus=False))
    record = load_record(path)

    assert record.annotations is None and record.name == str(path)
    np.testing.assert_allclose(record.signals, signals, atol=1e-3)  # µV read as mV


def test_edf_bytes_are_decoded_in_memory_only(edf_101, monkeypatch):
    """EDFlib opens a memory-backed file, never a path on a file system."""
    import pyedflib

    opened = []
    real = pyedflib.EdfReader

    def spy(path, *args, **kwargs):
        opened.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pyedflib, "EdfReader", spy)
    load_uploads({"holter.edf": edf_101[0]})
    [path] = opened
    assert path.startswith("/proc/self/fd/")
