"""The records domain guard: too few known findings, essential fields, cases unlike the
training cohort; and that the shipped guards are what fitting on the training split gives."""

from __future__ import annotations

import pytest

from dxcore.records import read_cases
from dxcore.records.domain import RecordGuard
from tests.helpers import run_cli

HEART = "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal\n"
TYPICAL = "57,1,4,130,240,0,0,150,0,0.8,2,0,3\n"


def test_guard_round_trips_through_the_card_runtime():
    guard = RecordGuard(("cp", "thal"), 4, 99.0)
    assert RecordGuard.from_runtime(guard.as_runtime()) == guard


def test_refusal_names_the_missing_essential_field_first():
    guard = RecordGuard(("thal",), max_imputed=5)
    message = guard.refusal({"thal": None, "age": None}, {"thal": "Thallium stress test"})
    assert message.startswith("Too few findings to answer: Thallium stress test is missing, "
                              "and the model cannot answer without it. Enter it")
    assert guard.refusal({"thal": 3, "age": None}, {}) is None


def test_several_missing_essential_fields_are_named_with_correct_grammar():
    guard = RecordGuard(("age", "sex", "cp"), max_imputed=10)
    message = guard.refusal({"age": None, "sex": None, "cp": None},
                            {"age": "Age", "sex": "Sex", "cp": "Chest-pain type"})
    assert "Age, Sex and Chest-pain type are missing" in message
    assert "without them. Enter them" in message


def test_refusal_counts_missing_fields_against_the_maximum():
    guard = RecordGuard((), max_imputed=1)
    assert guard.refusal({"a": 1.0, "b": float("nan"), "c": 2}, {}) is None
    message = guard.refusal({"a": None, "b": float("nan"), "c": 2}, {})
    assert "2 of 3 fields are missing" in message and "at most 1 missing" in message


def test_a_value_beyond_the_pooled_limits_or_an_unseen_category_is_refused():
    guard = RecordGuard((), 9, limits={"chol": (30.0, 450.0)}, unseen={"thal": ("6",)})
    labels = {"chol": "Serum cholesterol (mg/dl)", "thal": "Thallium stress test"}
    assert "900 is far outside" in guard.refusal({"chol": 900.0, "thal": "3"}, labels)
    assert guard.refusal({"chol": 450.0, "thal": "3"}, labels) is None
    assert "no training site recorded" in guard.refusal({"chol": None, "thal": "6"}, labels)
    assert RecordGuard.from_runtime(guard.as_runtime()) == guard


def test_a_case_like_the_cohort_is_below_the_atypicality_limit():
    guard = RecordGuard((), 0, atypicality_above=99.0)
    assert guard.atypical_refusal(99.0, "Age") is None
    assert "most unusual: Age" in guard.atypical_refusal(99.5, "Age")


@pytest.mark.parametrize("model_id", ["heart-disease", "ckd", "leukemia-golub"])
def test_shipped_guard_is_what_fitting_on_the_training_split_gives(model_id, shipped_model,
                                                                   dataset):
    from dxcore.registry import recipe_for

    model = shipped_model(model_id)
    dataset(model.card["training_data"]["data_folder"])
    fitted = recipe_for(model_id).fit_domain_guard(model)
    assert fitted["runtime"] == model.card.domain_guard
    assert model_id in {"leukemia-golub"} or fitted["runtime"]["max_imputed"] > 0


def test_an_empty_row_gets_the_minimum_fields_message_and_no_prediction(heart_model):
    table = read_cases((HEART + TYPICAL + ",,,,,,,,,,,,\n").encode(), name="c.csv")
    typical, empty = heart_model.predict(table).detail.results
    assert typical.prediction is not None and typical.error is None
    assert empty.prediction is None and empty.code == "too_few_fields"
    assert empty.error.startswith("Row 2: Too few findings to answer")


def test_an_essential_field_missing_is_refused(heart_model):
    essential = heart_model.guard.essential[0]
    columns = HEART.strip().split(",")
    values = TYPICAL.strip().split(",")
    values[columns.index(essential)] = ""
    (case,) = heart_model.predict(read_cases((HEART + ",".join(values) + "\n").encode(),
                                             name="c.csv")).detail.results
    assert case.code == "too_few_fields" and heart_model.schema[essential].title in case.error


def test_a_value_far_outside_the_sites_values_is_refused_naming_it(heart_model):
    """Within the plausible range, but beyond the pooled mean + 5 SD of the three sites."""
    odd = "25,0,1,250,790,1,1,60,1,9.5,3,3,6\n"
    (case,) = heart_model.predict(read_cases((HEART + odd).encode(),
                                             name="c.csv")).detail.results
    assert case.code == "out_of_domain" and case.prediction is None
    assert case.error.startswith("Resting blood pressure (mm Hg) 250 is far outside what the "
                                 "training sites recorded")


def test_a_case_unlike_the_cohort_is_refused_naming_its_most_unusual_field(heart_model):
    """Each value within the sites' limits; together unlike any of their patients."""
    odd = "25,0,1,220,540,1,1,70,1,6.0,3,3,6\n"
    (case,) = heart_model.predict(read_cases((HEART + odd).encode(),
                                             name="c.csv")).detail.results
    assert case.code == "out_of_domain" and case.prediction is None
    assert case.atypicality > heart_model.guard.atypicality_above
    assert "unlike the training cohort" in case.error and "most unusual:" in case.error


def test_cli_json_gives_each_refused_row_its_code(capsys, tmp_path, ckd_model):
    path = tmp_path / "cases.csv"
    names = ckd_model.schema.names
    path.write_text(",".join(names) + "\n" + "," * (len(names) - 1) + "\n")
    status, lines, _ = run_cli(capsys, "predict", "ckd", str(path), "--json")
    assert status == 1
    assert lines == [{"input": str(path), "row": 1, "code": "too_few_fields",
                      "error": lines[0]["error"]}]
    assert "24 of 24 fields are missing" in lines[0]["error"]
