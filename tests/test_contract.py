"""The one model contract: predict_many, refused rows and non-finite outputs (the decision
rule: tests/test_results.py; the batched forward pass: tests/test_batching.py; every
shipped model is checked against the same contract in tests/test_conformance.py)."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.contract import Prepared
from dxcore.errors import DxError


def test_predict_many_answers_each_input_in_its_place(cxr_model, test_xray_bytes):
    unreadable = b"not an image"
    results = cxr_model.predict_many([test_xray_bytes, unreadable, test_xray_bytes])
    first, error, last = results
    assert isinstance(error, DxError) and "not an image" in str(error)
    single = cxr_model.predict(test_xray_bytes)
    for result in (first, last):
        np.testing.assert_allclose(result.probabilities, single.probabilities, atol=1e-6)
        assert result.as_json() == single.as_json()


def test_a_table_with_no_valid_row_is_a_result_of_refused_rows(heart_model):
    import pandas as pd

    result = heart_model.predict(pd.DataFrame([{"age": 430, "sex": 1}]))
    assert len(result) == 0 and result.probabilities.shape == (0, 2)
    (line,) = result.as_json()
    assert set(line) == {"row", "error", "code"} and line["code"] == "invalid_input"
    assert "430" in line["error"]


def test_a_non_finite_network_output_is_one_dx_error_never_a_nan_probability(cxr_model):
    x = np.full((1, 128, 128, 1), np.nan, np.float32)
    with pytest.raises(DxError, match="not numbers"):
        cxr_model.postprocess(Prepared(x, decoded=None), cxr_model.forward(x))
