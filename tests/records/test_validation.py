"""Validation against a model's schema: each kind of bad input gets a message naming the row
and the field, and one row's problems never stop the others."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dxcore.errors import DxError
from dxcore.records.reader import read_cases
from dxcore.records.recipes.heart_disease import SCHEMA as HEART
from dxcore.records.schema import Schema
from dxcore.records.validation import canonical_code, validate

GOOD = {"age": "63", "sex": "1", "cp": "1", "trestbps": "145", "chol": "233", "fbs": "1",
        "restecg": "2", "thalach": "150", "exang": "0", "oldpeak": "2.3", "slope": "3",
        "ca": "0", "thal": "6"}


def heart_table(*changes: dict) -> pd.DataFrame:
    """A first row that is valid, then one row per ``changes`` (GOOD with those edits)."""
    return pd.DataFrame([GOOD, *({**GOOD, **change} for change in changes)])


@pytest.mark.parametrize(("change", "expected"), [
    ({"age": "430"}, "Row 2, Age (years): 430 is outside the plausible range 18 to 110 years."),
    ({"trestbps": "20"}, "Row 2, Resting blood pressure (mm Hg): 20 is outside the plausible "
                         "range 60 to 260 mm Hg."),
    ({"oldpeak": "2,3"}, "Row 2, ST depression (mm) must be a number; got '2,3'."),
    ({"chol": "high"}, "Row 2, Serum cholesterol (mg/dl) must be a number; got 'high'."),
    ({"thalach": "inf"}, "Row 2, Maximum heart rate (bpm): inf is outside the plausible range"),
    ({"cp": "5"}, "Row 2, Chest-pain type: '5' is not one of 1 (typical angina), "
                  "2 (atypical angina), 3 (non-anginal pain), 4 (asymptomatic)."),
    ({"sex": "male"}, "Row 2, Sex: 'male' is not one of 0 (female), 1 (male)."),
])
def test_each_bad_value_names_row_and_field_and_the_good_row_survives(change, expected):
    checked = validate(heart_table(change), HEART)
    assert list(checked.errors) == [2]
    assert checked.errors[2].startswith(expected)
    assert checked.valid_rows == [1]
    assert checked.valid_values().loc[1, "age"] == 63.0
    assert math.isnan(checked.values.loc[2, next(iter(change))])  # never a half-read value


def test_several_problems_in_one_row_are_all_named():
    error = validate(heart_table({"age": "430", "trestbps": "20", "sex": "x"}), HEART).errors[2]
    assert "Age (years): 430" in error and "(mm Hg): 20" in error and "Sex: 'x'" in error


def test_json_types_are_checked_too():
    table = read_cases(b'[{"age": true, "sex": 1}, {"age": 63.0, "sex": "1", "cp": 4.0}]',
                       name="cases.json")
    checked = validate(table, HEART)
    assert checked.errors == {1: "Row 1, Age (years) must be a number; got 'True'."}
    assert checked.values.loc[2, "cp"] == "4"  # a float code 4.0 is category 4


def test_unknown_columns_are_ignored_with_a_notice():
    table = heart_table().assign(comment="first visit", mrn="123")
    checked = validate(table, HEART)
    assert checked.errors == {}
    assert checked.notes == ["Ignored 2 columns this model does not use: comment, mrn."]
    assert list(checked.values.columns) == HEART.names


def test_absent_optional_columns_are_answered_without_with_a_notice():
    checked = validate(heart_table().drop(columns=["ca", "thal"]), HEART)
    assert checked.errors == {}
    assert checked.notes == ["Not in the file, so every case is answered without them: ca, "
                             "thal."]
    assert checked.values[["ca", "thal"]].isna().all().all()


@pytest.mark.parametrize("missing", ["", "?", "NA", "null"])
def test_missing_markers_are_missing_values(missing):
    checked = validate(heart_table({"chol": missing, "thal": missing}), HEART)
    assert checked.errors == {}
    assert checked.values.loc[2, ["chol", "thal"]].isna().all()


def test_a_table_without_any_of_the_models_columns_is_refused():
    with pytest.raises(DxError, match=r"^None of the columns this model reads is in the file "
                                      r"\(it reads age, sex, cp, trestbps, chol and 8 more\)"):
        validate(pd.DataFrame({"patient": ["a"], "weight": ["70"]}), HEART)


REQUIRED = Schema.from_json({"fields": [
    {"names": ["probe_a", "probe_b"], "type": "numeric", "range": [-10, 10]}]})


def test_missing_required_columns_fail_every_row_naming_the_columns():
    checked = validate(pd.DataFrame({"probe_a": ["1", "2"]}), REQUIRED)
    assert checked.errors == {row: f"Row {row}, the required column probe_b is not in the file."
                              for row in (1, 2)}


def test_missing_value_of_a_required_field():
    checked = validate(pd.DataFrame({"probe_a": ["1", "?"], "probe_b": ["1", "2"]}), REQUIRED)
    assert checked.errors == {2: "Row 2, probe_a is missing; this model needs it."}


def test_a_flood_of_problems_is_summarised():
    wide = Schema.from_json({"fields": [{"names": [f"p{i}" for i in range(50)],
                                         "type": "numeric"}]})
    error = validate(pd.DataFrame([{f"p{i}": "x" for i in range(50)}]), wide).errors[1]
    assert error.endswith("; and 45 more problems.") and error.count("must be a number") == 5


@pytest.mark.parametrize(("value", "code"), [(4, "4"), ("4.0", "4"), (" Yes ", "yes"),
                                             (1.5, "1.5")])
def test_canonical_codes(value, code):
    assert canonical_code(value) == code


def test_a_huge_cell_is_not_echoed_whole_in_its_message():
    table = pd.DataFrame([{"age": "x" * 2_000_000, "sex": "y" * 5_000}])
    (message,) = validate(table, HEART).errors.values()
    assert len(message) < 400
    assert "(2,000,000 characters)" in message and "(5,000 characters)" in message
