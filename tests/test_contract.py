"""The one model contract: the decision rule, predict_many and the result's JSON, on small
untrained networks (the batched forward pass: tests/test_batching.py; every shipped model
is checked against the same contract in tests/test_conformance.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dxcore.cards import ModelCard
from dxcore.contract import DecisionRule, Prepared
from dxcore.errors import DxError


def test_threshold_rule_returns_the_positive_class_at_or_above_its_threshold():
    rule = DecisionRule(["a", "b", "c"], positive_class="b", threshold=0.2)
    probabilities = np.array([[0.7, 0.2, 0.1],     # at the threshold: b
                              [0.7, 0.19, 0.11],   # below: the most probable other class
                              [0.1, 0.15, 0.75]])
    assert rule.decide(probabilities).tolist() == ["b", "a", "c"]


def test_offset_rule_adds_offsets_and_never_returns_a_class_without_one():
    card = ModelCard({"class_names": ["N", "S", "V", "F"], "runtime": {
        "decision": {"log_offsets": {"N": 0.0, "S": 1.0, "V": 0.0}}}}, Path("."))
    probabilities = np.array([[0.5, 0.3, 0.1, 0.1],    # S: log 0.3 + 1 > log 0.5
                              [0.1, 0.1, 0.1, 0.7],    # F is never returned
                              [0.2, 0.02, 0.7, 0.08]])
    assert DecisionRule.from_card(card).decide(probabilities).tolist() == ["S", "S", "V"]


def test_a_card_without_offsets_gets_the_threshold_rule():
    card = ModelCard({"class_names": ["no", "yes"], "runtime": {
        "decision": {"positive_class": "yes", "threshold": 0.6}}}, Path("."))
    rule = DecisionRule.from_card(card)
    assert (rule.positive_class, rule.threshold, rule.log_offsets) == ("yes", 0.6, None)


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
