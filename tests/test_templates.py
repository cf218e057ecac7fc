"""Input guidance: each record model's case-file template (dxcore.templates, ``python -m
dxcore template``), readable class labels in every card, gene symbols beside probe ids."""

from __future__ import annotations

import csv
import io
import json

import pytest

from dxcore.cards import read_card
from dxcore.paths import models_dir
from dxcore.registry import get_card
from dxcore.templates import GUIDE_COLUMNS, blank_cases_csv, field_guide_csv

RECORD_MODELS = ("heart-disease", "ckd", "leukemia-golub")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("model_id", RECORD_MODELS)
def test_the_field_guide_lists_every_column_with_its_unit_values_and_gaps(model_id,
                                                                         shipped_model):
    model = shipped_model(model_id)
    guide = rows_of(field_guide_csv(model.card))
    assert list(guide[0]) == GUIDE_COLUMNS
    assert [row["column"] for row in guide] == model.schema.names
    for row, field in zip(guide, model.schema.fields, strict=True):
        assert row["unit"] == field.unit and row["type"] == field.type
        assert row["may be empty"] == ("yes" if field.missing_allowed else "no")
        if field.type == "categorical":
            assert all(f"{code} = " in row["allowed values"] or code == label
                       for code, label in field.categories.items())
    assert next(csv.reader(io.StringIO(blank_cases_csv(model.card)))) == model.schema.names


def test_a_blank_case_file_filled_in_is_read_by_its_model(heart_model):
    header = blank_cases_csv(heart_model.card)
    values = {"age": "67", "sex": "1", "cp": "4", "trestbps": "160", "chol": "286",
              "fbs": "0", "restecg": "2", "thalach": "108", "exang": "1", "oldpeak": "1.5",
              "slope": "2", "ca": "3", "thal": "3"}
    row = ",".join(values[name] for name in header.strip().split(","))
    result = heart_model.predict({"cases.csv": (header + row + "\n").encode()})
    assert len(result) == 1 and result.detail.results[0].error is None


def test_the_cli_prints_the_template_and_refuses_an_image_model(capsys, heart_model):
    from dxcore.cli import main

    assert main(["template", "heart-disease"]) == 0
    assert capsys.readouterr().out == field_guide_csv(get_card("heart-disease"))
    assert main(["template", "heart-disease", "--blank"]) == 0
    assert capsys.readouterr().out.startswith("age,sex,cp")
    assert main(["template", "cxr-pneumonia"]) == 1
    assert "has no case-file template" in capsys.readouterr().err


def test_every_shipped_card_has_a_readable_label_for_each_class_code():
    for path in sorted(models_dir().glob("*/card.json")):
        card = read_card(path)
        assert set(card["class_labels"]) == set(card.class_names), card.id
    ckd = get_card("ckd")
    assert ckd.class_names == ["notckd", "ckd"]  # the codes stay
    assert ckd.class_label("ckd") == "chronic kidney disease"
    assert ckd.class_label("unknown") == "unknown"


def test_gene_symbols_stand_beside_the_probe_ids(golub_model):
    card = golub_model.card
    assert card.gene_symbols["S68616_at"] == "SLC9A1"  # "SLC9A1 Solute carrier family 9"
    assert "AFFX-BioB-5_at" not in card.gene_symbols  # a control probe names no gene
    guide = {row["column"]: row for row in rows_of(field_guide_csv(card))}
    assert guide["S68616_at"]["gene symbol"] == "SLC9A1"
    # Names only: the file maps ids to symbols and holds no expression value.
    symbols = json.loads((card.folder / card["gene_symbols"]["file"]).read_text())
    assert all(isinstance(v, str) and not v.lstrip("-").isdigit() for v in symbols.values())
