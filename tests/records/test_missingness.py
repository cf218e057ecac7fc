"""Missing findings: the indicator encoding, field dropout in training, the missingness
groups of the prediction sets, and a 0 read as "not recorded"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dxcore.records.missingness import FieldDropout, group_names, missing_group
from dxcore.records.network import DEVIATION, record_autoencoder
from dxcore.records.preprocessing import (
    column_fields,
    encode,
    indicator_columns,
    input_columns,
)
from dxcore.records.reader import read_cases
from dxcore.records.schema import Schema
from dxcore.records.validation import validate

SCHEMA = Schema.from_json({"missing": "indicators", "fields": [
    {"name": "age", "label": "Age", "type": "numeric", "missing_allowed": True},
    {"name": "chol", "label": "Serum cholesterol", "unit": "mg/dl", "type": "numeric",
     "range": [70, 800], "missing_allowed": True, "zero_means_missing": True},
    {"name": "thal", "label": "Thallium", "type": "categorical", "missing_allowed": True,
     "categories": {"3": "normal", "7": "reversible defect"}}]})
FILL = {"age": 55.0, "chol": 240.0, "thal": "3"}


def test_indicator_columns_follow_the_values_and_say_what_was_not_recorded():
    values = pd.DataFrame({"age": [60.0, np.nan], "chol": [np.nan, 200.0],
                           "thal": ["7", None]}, dtype=object)
    x = encode(values, SCHEMA, FILL)
    assert input_columns(SCHEMA) == ["age", "chol", "thal=3", "thal=7", "age missing",
                                     "chol missing", "thal missing"]
    assert x.tolist() == [[60, 240, 0, 1, 0, 1, 0], [55, 200, 0, 0, 1, 0, 1]]
    assert column_fields(SCHEMA).tolist() == [0, 1, 2, 2, 0, 1, 2]


def test_a_schema_without_indicators_encodes_as_before():
    plain = Schema(SCHEMA.fields)
    x = encode(pd.DataFrame({"age": [np.nan], "chol": [200.0], "thal": [None]}), plain, FILL)
    assert x.tolist() == [[55, 200, 1, 0]]


def test_unrecorded_values_add_nothing_to_the_deviation():
    width = len(input_columns(SCHEMA))
    model = record_autoencoder(np.zeros(width), np.ones(width), hidden=4, code=2,
                               missing_columns=indicator_columns(SCHEMA))
    x = encode(pd.DataFrame({"age": [60.0], "chol": [np.nan], "thal": [None]}, dtype=object),
               SCHEMA, FILL)
    deviation = np.asarray(model(x)[DEVIATION])[0]
    assert deviation[1] == 0 and deviation[2] == 0 and deviation[3] == 0  # chol, thal
    assert deviation[0] != 0  # age was recorded


def test_field_dropout_hides_recorded_fields_as_if_never_recorded():
    values = pd.DataFrame({"age": [60.0] * 400, "chol": [200.0] * 400, "thal": ["7"] * 400},
                          dtype=object)
    x = encode(values, SCHEMA, FILL)
    hidden = FieldDropout.for_schema(SCHEMA, FILL, rate=0.5, keep=("age",))(
        x, np.random.default_rng(0))
    assert (hidden[:, 4] == 0).all()  # age is never hidden
    chol_hidden = hidden[:, 5] == 1
    assert 0.4 < chol_hidden.mean() < 0.6
    assert (hidden[chol_hidden, 1] == 240).all() and (hidden[~chol_hidden, 1] == 200).all()
    thal_hidden = hidden[:, 6] == 1
    assert (hidden[thal_hidden, 2:4] == 0).all() and (hidden[~thal_hidden, 3] == 1).all()
    # what the network sees for a hidden field is exactly a field not recorded
    never = encode(pd.DataFrame({"age": [60.0], "chol": [np.nan], "thal": [None]},
                                dtype=object), SCHEMA, FILL)[0]
    both = chol_hidden & thal_hidden
    assert (hidden[both] == never).all()


@pytest.mark.parametrize(("missing", "group"), [(0, "0-1 missing"), (1, "0-1 missing"),
                                                (3, "2-3 missing"), (9, "4 or more missing")])
def test_missing_groups(missing, group):
    assert missing_group(missing, [1, 3]) == group
    assert group in group_names([1, 3])


def test_a_zero_cholesterol_is_read_as_not_recorded_with_a_note():
    table = read_cases(b"age,chol,thal\n60,0,3\n61,250,3\n62,0,7\n", name="c.csv")
    checked = validate(table, SCHEMA)
    assert not checked.errors
    assert checked.values["chol"].isna().tolist() == [True, False, True]
    assert checked.notes == ["Serum cholesterol (mg/dl) given as 0 in rows 1, 3: read as not "
                             "recorded (it cannot be 0), so the answer does without it."]


def test_a_one_case_form_names_no_row():
    checked = validate(read_cases(b"age,chol,thal\n60,0,9\n", name="c.csv"), SCHEMA)
    assert checked.notes[0].startswith("Serum cholesterol (mg/dl) given as 0: read as not")
    assert checked.errors[1].startswith("Thallium: '9' is not one of")
