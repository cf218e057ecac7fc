"""Property-based tests of the case-record reader (Hypothesis): random bytes, a real
heart-disease row (the first Cleveland case) with its CSV text mutated, and JSON cases of
random values go into the reader and the model; nothing but a DxError may escape, and
every answered row has finite probabilities. Bounded to a few seconds each."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dxcore.errors import DxError
from dxcore.records.reader import read_cases
from tests.ecg.test_reader_properties import mutated_text

BOUNDED = settings(max_examples=150, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow])
WITH_MODEL = settings(max_examples=40, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])
FIELDS = ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang",
          "oldpeak", "slope", "ca", "thal"]
# JSON values of every kind, nested a little
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                          allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner,
                                                                max_size=3),
    max_leaves=6)


@pytest.fixture(scope="module")
def cleveland_csv(dataset) -> str:
    first = (dataset("heart_disease") / "processed.cleveland.data").read_text().split("\n")[0]
    return ",".join(FIELDS) + "\n" + ",".join(first.split(",")[:len(FIELDS)]) + "\n"


def _predict_or_refuse(model, upload: dict[str, bytes]) -> None:
    """Refused with a DxError, or every answered row has finite probabilities."""
    try:
        batch = model.predict(upload).detail
    except DxError:
        return
    for case in batch.results:
        assert case.error or all(math.isfinite(p) and 0 <= p <= 1
                                 for p in case.probabilities.values())


@given(data=st.binary(max_size=2000), name=st.sampled_from(["c.csv", "c.json", "upload"]))
@BOUNDED
def test_random_bytes_are_refused_or_read(data, name):
    try:
        table = read_cases(data, name=name)
    except DxError:
        return
    assert len(table) > 0


@given(data=st.data())
@WITH_MODEL
def test_a_mutated_heart_disease_row_is_refused_or_answered(heart_model, cleveland_csv, data):
    text = data.draw(mutated_text(cleveland_csv))
    _predict_or_refuse(heart_model, {"cases.csv": text.encode("utf-8", "surrogatepass")})


@given(case=st.dictionaries(st.sampled_from(FIELDS + ["id"]), JSON_VALUES, max_size=14),
       as_list=st.booleans())
@WITH_MODEL
def test_json_cases_of_any_values_are_refused_or_answered(heart_model, case, as_list):
    upload = {"case.json": json.dumps([case] if as_list else case).encode()}
    _predict_or_refuse(heart_model, upload)
