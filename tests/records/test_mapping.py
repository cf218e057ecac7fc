"""Column mappings (dxcore.records.mapping): suggestions by name similarity (French headers),
applying a mapping, the saved JSON file read back, and a mapped table giving the answers of
the same table under the model's own headers."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dxcore.errors import DxError
from dxcore.records.mapping import (
    ColumnMapping,
    apply_mapping,
    mapped_upload,
    mapping_json,
    read_mapping,
    suggest_mapping,
)
from dxcore.records.schema import Schema
from tests.helpers import run_cli

FRENCH = {"âge": "age", "sexe": "sex", "Cholestérol": "chol"}
SCHEMA = Schema.from_json({"fields": [
    {"name": "age", "label": "Age", "unit": "years", "type": "numeric", "range": [18, 110]},
    {"name": "sex", "label": "Sex", "type": "categorical",
     "categories": {"0": "female", "1": "male"}},
    {"name": "chol", "label": "Serum cholesterol", "unit": "mg/dl", "type": "numeric"},
    {"name": "al", "label": "Urine albumin", "type": "numeric"}]})


def test_french_headers_are_suggested_case_and_accent_insensitively():
    columns = ["ÂGE", "Sexe", "cholestérol (mg/dl)", "albumine urinaire", "Nom du patient"]
    assert suggest_mapping(columns, SCHEMA) == {
        "age": "ÂGE", "sex": "Sexe", "chol": "cholestérol (mg/dl)"}
    # a shared word ("albumin") is enough once accents and case are gone
    assert suggest_mapping(["Albumin"], SCHEMA) == {"al": "Albumin"}


def test_each_column_is_suggested_for_one_field_and_unlike_names_for_none():
    assert suggest_mapping(["age", "âge"], SCHEMA) == {"age": "age"}
    assert suggest_mapping(["poids", "taille", "x"], SCHEMA) == {}


def test_a_gene_profiles_probes_are_matched_by_folded_name_only(golub_model):
    names = golub_model.schema.names
    columns = [name.lower() for name in names[:50]] + ["patient"]
    assert suggest_mapping(columns, golub_model.schema) == dict(
        zip(names[:50], columns[:50], strict=True))


def test_applying_a_mapping_renames_and_says_what_it_did():
    table = pd.DataFrame({"âge": ["63"], "sexe": ["1"], "age": ["12"], "Cholestérol": ["233"],
                          "Nom": ["x"]})
    mapped = apply_mapping(table, ColumnMapping("m", {**FRENCH, "poids": "al"}), SCHEMA)
    assert mapped.to_dict("records") == [{"age": "63", "sex": "1", "chol": "233", "Nom": "x"}]
    assert mapped.attrs["notes"] == [
        "Columns mapped to the model's fields: âge → age, sexe → sex, Cholestérol → chol.",
        "Not read, since the mapping gives the field to another column: age.",
        "Columns of the mapping not in this table: poids."]


@pytest.mark.parametrize(("mapping", "message"), [
    ({"âge": "weight"}, "names weight, which is not a field of the model m"),
    ({"other": "age"}, "None of the columns the mapping names is in this table"),
])
def test_a_mapping_that_does_not_fit_is_refused(mapping, message):
    with pytest.raises(DxError, match=message):
        apply_mapping(pd.DataFrame({"âge": ["63"]}), ColumnMapping("m", mapping), SCHEMA)


def test_the_saved_file_reads_back_as_the_mapping():
    mapping = ColumnMapping("heart-disease", FRENCH)
    data = mapping_json(mapping)
    assert json.loads(data) == {"model": "heart-disease", "columns": FRENCH}
    assert read_mapping(data) == mapping


@pytest.mark.parametrize("data", [
    b"", b"not json", b"[1, 2]", b'{"model": "m"}', b'{"model": 1, "columns": {}}',
    b'{"model": "m", "columns": {"a": 1}}', b"\xff\xfe\x00", b"[" * 5000 + b"]" * 5000])
def test_a_file_that_is_no_mapping_is_one_clear_error(data):
    with pytest.raises(DxError, match="is not a column mapping"):
        read_mapping(data, "mapping.json")


def test_a_field_given_two_columns_is_refused():
    with pytest.raises(DxError, match="gives the field age to more than one column"):
        read_mapping(b'{"model": "m", "columns": {"a": "age", "b": "age"}}')


def test_a_mapped_real_table_gives_the_answers_of_the_same_table_with_the_models_headers(
        heart_model, heart_test_split):
    cases = heart_test_split[0].head(20).astype(object)
    french = {"age": "âge", "sex": "sexe", "chol": "Cholestérol"}
    upload = {"fr.csv": cases.rename(columns=french).to_csv(index=False).encode()}
    table = heart_model.read(upload)
    suggested = suggest_mapping(list(table.columns), heart_model.schema)
    assert {field: suggested[field] for field in french} == french
    mapping = ColumnMapping("heart-disease", {column: field
                                              for field, column in suggested.items()})
    mapped = mapped_upload("fr.csv", apply_mapping(table, mapping, heart_model.schema))
    assert list(mapped) == ["fr-mapped.json"]
    plain = heart_model.predict({"cases.csv": cases.to_csv(index=False).encode()})
    for source in (mapped, upload):
        options = {"mapping": mapping} if source is upload else {}
        answered = heart_model.predict(source, **options).detail.results
        assert [case.probabilities for case in answered] == [
            case.probabilities for case in plain.detail.results]


def test_a_mapped_table_still_gets_its_range_errors(heart_model):
    table = pd.DataFrame({"âge": ["430"], "sexe": ["1"], "Cholestérol": ["233"]})
    mapping = ColumnMapping("heart-disease", FRENCH)
    [case] = heart_model.predict(apply_mapping(table, mapping, heart_model.schema)
                                 ).detail.results
    assert "Age (years): 430 is outside the plausible range" in case.error


def test_a_mapping_for_another_model_is_refused(heart_model):
    with pytest.raises(DxError, match="is for the model ckd, not heart-disease"):
        heart_model.read({"a.csv": b"age\n63\n"}, mapping=ColumnMapping("ckd", {"age": "age"}))


def test_the_command_line_takes_a_saved_mapping(heart_model, capsys, tmp_path):
    table = tmp_path / "fr.csv"
    table.write_text("âge,sexe,cp,trestbps,Cholestérol,fbs,restecg,thalach,exang,oldpeak,"
                     "slope,ca,thal\n57,1,4,130,240,0,0,150,0,0.8,2,0,3\n")
    saved = tmp_path / "mapping.json"
    saved.write_bytes(mapping_json(ColumnMapping("heart-disease", FRENCH)))
    status, lines, _ = run_cli(capsys, "predict", "heart-disease", str(table), "--mapping",
                               str(saved), "--json")
    assert status == 0 and lines[0]["prediction"] in heart_model.card.class_names
    assert "notes" not in lines[0]  # every field read
    status, lines, _ = run_cli(capsys, "predict", "heart-disease", str(table), "--json")
    # unmapped, age and sex are missing: every site recorded them, so no answer
    assert lines[0]["code"] == "too_few_fields" and "Age (years) and Sex are missing" in \
        lines[0]["error"]
