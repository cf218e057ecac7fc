"""Property-based tests of the ECG readers (Hypothesis): random bytes and mutated real
files (MIT-BIH record 100's own header text and format-212 signal bytes, cut to 12 s, and
a CSV export of it) go into the
readers and the model; nothing but a DxError may escape, and whatever is accepted gives
finite probabilities. Bounded to a few seconds each (few examples, no deadline)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dxcore.ecg.csv_io import read_csv
from dxcore.ecg.wfdb_io import read_wfdb_files
from dxcore.errors import DxError
from tests.helpers import real_ecg, record_files

SECONDS = 12

BOUNDED = settings(max_examples=150, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow])
WITH_MODEL = settings(max_examples=8, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def record(mitdb_root) -> dict[str, bytes]:
    """The first 12 s of record 100 as uploaded: its header (length edited) and the
    format-212 bytes of those seconds (3 bytes per frame of two samples)."""
    files = record_files(mitdb_root, "100", (".hea", ".dat"))
    frames = SECONDS * 360
    header = files["100.hea"].decode().replace("650000", str(frames), 1)
    return {"rec.hea": header.replace("100.dat", "rec.dat").replace("100 ", "rec ", 1)
            .encode(), "rec.dat": files["100.dat"][:frames * 3]}


@pytest.fixture(scope="module")
def csv_text(mitdb_root) -> str:
    signals = real_ecg(mitdb_root, seconds=SECONDS)
    return "time,MLII,V5\n" + "\n".join(f"{i / 360:.6f},{a:.4f},{b:.4f}"
                                         for i, (a, b) in enumerate(signals)) + "\n"


def _read_or_refuse(call) -> object | None:
    """The value, or None when refused with a DxError (anything else fails the test)."""
    try:
        return call()
    except DxError:
        return None


@st.composite
def mutated_text(draw, text: str) -> str:
    """``text`` with one to three edits: a span replaced by random text, deleted, or
    repeated."""
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 12)))
        kind = draw(st.sampled_from(["replace", "delete", "repeat"]))
        if kind == "replace":
            text = text[:start] + draw(st.text(max_size=10)) + text[end:]
        elif kind == "delete":
            text = text[:start] + text[end:]
        else:
            text = text[:end] + text[start:end] * draw(st.integers(2, 5)) + text[end:]
    return text


@given(header=st.binary(max_size=300), dat=st.binary(max_size=3000))
@BOUNDED
def test_random_bytes_are_refused_or_read(header, dat):
    record = _read_or_refuse(lambda: read_wfdb_files({"rec.hea": header, "rec.dat": dat}))
    assert record is None or np.isfinite(record.fs)


@given(data=st.data())
@BOUNDED
def test_a_mutated_header_is_refused_or_read(record, data):
    header = data.draw(mutated_text(record["rec.hea"].decode()))
    decoded = _read_or_refuse(lambda: read_wfdb_files(
        {**record, "rec.hea": header.encode("utf-8", "surrogatepass")}))
    if decoded is not None:
        assert decoded.signals.ndim == 2 and decoded.fs > 0


@given(data=st.data())
@WITH_MODEL
def test_a_mutated_header_is_refused_or_gives_finite_probabilities(ecg_model, record, data):
    header = data.draw(mutated_text(record["rec.hea"].decode()))
    upload = {**record, "rec.hea": header.encode("utf-8", "surrogatepass")}
    result = _read_or_refuse(lambda: ecg_model.predict(upload))
    assert result is None or np.isfinite(result.probabilities).all()


@given(data=st.data())
@WITH_MODEL
def test_mutated_signal_bytes_are_refused_or_give_finite_probabilities(ecg_model, record,
                                                                       data):
    dat = bytearray(record["rec.dat"])
    for _ in range(data.draw(st.integers(0, 300))):
        dat[data.draw(st.integers(0, len(dat) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):  # cut short, often below the 10 s needed
        dat = dat[: data.draw(st.integers(0, len(dat)))]
    result = _read_or_refuse(lambda: ecg_model.predict({**record, "rec.dat": bytes(dat)}))
    assert result is None or np.isfinite(result.probabilities).all()


@given(data=st.binary(max_size=2000), fs=st.one_of(st.none(), st.floats(allow_nan=True)))
@BOUNDED
def test_random_bytes_as_csv_are_refused_or_read(data, fs):
    record = _read_or_refuse(lambda: read_csv(data, fs=fs))
    assert record is None or np.isfinite(record.fs)


@given(data=st.data())
@WITH_MODEL
def test_a_mutated_csv_is_refused_or_gives_finite_probabilities(ecg_model, csv_text, data):
    text = data.draw(mutated_text(csv_text))
    upload = {"ecg.csv": text.encode("utf-8", "surrogatepass")}
    result = _read_or_refuse(lambda: ecg_model.predict(upload, fs=360.0))
    assert result is None or np.isfinite(result.probabilities).all()
