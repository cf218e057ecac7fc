"""Predicting tables of cases with a shipped record model: one result per row, invalid rows
reported without stopping the others, atypicality with every prediction."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.records import match_model, read_cases
from dxcore.registry import list_cards

HEADER = "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal\n"
TYPICAL = "57,1,4,130,240,0,0,150,0,0.8,2,0,3\n"


def test_every_row_gets_a_result_and_bad_rows_do_not_stop_the_rest(heart_model):
    data = (HEADER + TYPICAL + "430,1,4,20,240,0,0,150,0,0.8,2,0,3\n" + TYPICAL).encode()
    batch = heart_model.predict(read_cases(data, name="cases.csv")).detail
    first, bad, last = batch.results
    assert [r.row for r in batch.results] == [1, 2, 3] and batch.failed == 1
    assert "Age (years): 430" in bad.error and "(mm Hg): 20" in bad.error
    assert bad.prediction is None and bad.probabilities == {}
    assert first.probabilities == last.probabilities  # deterministic, batch-independent
    assert sum(first.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert first.prediction in heart_model.card.class_names
    assert 0.0 <= first.atypicality <= 100.0
    table = batch.table()
    assert list(table["row"]) == [1, 2, 3] and table["error"].notna().tolist() == [
        False, True, False]


def test_trailing_empty_values_give_the_answer_of_the_plain_row(heart_model):
    # 15 values under a 13-field header, the last two empty: read shifted, the same row
    # would have been another patient
    row = TYPICAL.strip()
    plain, padded = (heart_model.predict(read_cases((HEADER + row + end + "\n").encode(),
                                                    name="cases.csv")).detail.results[0]
                     for end in ("", ",,"))
    assert padded.error is None and padded.imputed == []
    assert padded.probabilities == plain.probabilities
    assert padded.prediction == plain.prediction
    assert padded.atypicality == plain.atypicality


def test_imputed_fields_are_listed(heart_model):
    data = (HEADER.replace(",fbs,restecg", "") + "57,1,4,130,,150,0,0.8,2,0,3\n").encode()
    batch = heart_model.predict(read_cases(data, name="cases.csv")).detail
    # the model reads that they were not recorded (missing-value indicators)
    assert batch.notes == ["Not in the file, so every case is answered without them: fbs, "
                           "restecg."]
    assert batch.results[0].imputed == ["chol", "fbs", "restecg"]
    assert batch.results[0].as_json("heart-disease")["notes"] == [
        "Not recorded: chol, fbs, restecg. The model answers without them, and its prediction "
        "set is calibrated on cases missing as many findings, so it is wider when they "
        "matter."]


def test_a_case_unlike_the_cohort_is_more_atypical(heart_model):
    """Every value within what the sites recorded, the combination unlike their patients'."""
    odd = "25,0,1,220,540,1,1,70,1,6.0,3,3,6\n"
    batch = heart_model.predict(read_cases((HEADER + TYPICAL + odd).encode(),
                                           name="c.csv")).detail
    typical, unusual = batch.results
    assert unusual.atypicality > 99 and unusual.atypical
    assert typical.atypicality < unusual.atypicality and not typical.atypical


def test_test_split_atypicality_is_spread_like_a_percentile(heart_model, heart_test_split):
    """Out-of-fold reference errors: new cases from the same cohort fall across the whole
    scale, not all near 100."""
    table, _ = heart_test_split
    scores = np.array([r.atypicality for r in heart_model.predict(table).detail.results
                       if r.atypicality is not None])  # rows without ca or thal are refused
    assert 25 < np.median(scores) < 75


def test_match_model_by_columns(heart_model):
    columns = HEADER.strip().split(",")
    assert match_model(columns) == "heart-disease"
    assert match_model(["age", "bp", "something"], list_cards()) is None
