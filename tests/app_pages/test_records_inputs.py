"""The Case records page with tables as clinics export them (issue 27): an Excel workbook
answered as the CSV of its rows, old and macro-enabled workbooks refused with what to do,
French headers mapped to the model's fields (suggested, confirmed, downloaded, reused), and
the mapped table still validated."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from dxcore.records.mapping import ColumnMapping, mapping_json
from dxui import mapping, records
from dxui.results import upload_key
from tests.app_pages.conftest import open_app, shown
from tests.app_pages.test_records import CASES, HEADER, PAGE, csv_bytes
from tests.test_workbook import ole2
from tests.workbooks import rewritten, workbook_of

FRENCH = {"age": "âge", "sex": "sexe", "cp": "type de douleur", "trestbps": "tension",
          "chol": "cholestérol", "fbs": "glycémie", "restecg": "ECG au repos",
          "thalach": "fréquence max", "exang": "angor d'effort",
          "oldpeak": "dépression ST", "slope": "pente", "ca": "vaisseaux", "thal": "thal"}
FRENCH_HEADER = ",".join(FRENCH[name] for name in HEADER.split(","))


@pytest.fixture
def page(heart_card) -> AppTest:
    return open_app(PAGE)


def upload(app: AppTest, name: str, data: bytes, index: int = 0) -> AppTest:
    app.file_uploader[index].set_value((name, data, "application/octet-stream"))
    return app.run()


def probabilities(app: AppTest) -> list[float]:
    return app.dataframe[0].value["P(heart disease)"].tolist()


def mapping_of(files: dict[str, bytes], app: AppTest) -> ColumnMapping:
    return app.session_state[f"records_mapping_{upload_key(files)[:16]}"]


def confirm(app: AppTest) -> AppTest:
    [button] = [b for b in app.button if b.label == "Use this mapping"]
    return button.click().run()


def test_an_excel_workbook_is_answered_as_the_csv_of_its_rows(page):
    rows = [row.split(",") for row in CASES]
    upload(page, "cases.csv", csv_bytes(*CASES))
    from_csv = probabilities(page)
    upload(page, "cases.xlsx", workbook_of([HEADER.split(","), *rows],
                                           before=["Read me"], after=["Charts"]))
    assert not page.exception and not page.error
    assert any("`heart-disease`" in info.value for info in page.info)  # matched by columns
    assert probabilities(page) == from_csv
    assert any("Read the sheet 'Cases' of cases.xlsx" in shown(info.value)
               for info in page.info)


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("old.xls", ole2("Workbook"), "Excel 97-2003 workbook (.xls), which is not read here"),
    ("locked.xlsx", ole2("EncryptionInfo", "EncryptedPackage"), "protected by a password"),
    ("macros.xlsm", rewritten(workbook_of([HEADER.split(","), CASES[0].split(",")]),
                              added={"xl/vbaProject.bin": bytes(512)}),
     "macro-enabled workbook"),
])
def test_workbooks_that_cannot_be_read_say_what_to_do(page, name, data, expected):
    upload(page, name, data)
    assert not page.exception
    [error] = page.error
    assert expected in shown(error.value) and "CSV" in shown(error.value)
    assert not page.dataframe


def test_french_headers_are_mapped_confirmed_and_validated(page):
    upload(page, "cases.csv", csv_bytes(*CASES))
    english = probabilities(page)
    files = {"francais.csv": csv_bytes(*CASES, header=FRENCH_HEADER)}
    upload(page, *next(iter(files.items())))
    assert not page.exception and not page.error
    assert any("match no case-record model" in shown(info.value) for info in page.info)
    assert not page.dataframe  # nothing is predicted before the mapping is confirmed

    page.selectbox(key=mapping.MODEL_KEY).set_value("heart-disease").run()
    key = f"records_mapping_{upload_key(files)[:16]}_heart-disease"
    chosen = {name: page.selectbox(key=f"{key}_{name}") for name in FRENCH}
    # Suggested by name, accents and case aside: âge, sexe, cholestérol at least.
    assert {name: chosen[name].value for name in ("age", "sex", "chol")} == {
        "age": "âge", "sex": "sexe", "chol": "cholestérol"}
    for name, column in FRENCH.items():
        chosen[name].set_value(column)
    confirm(page)
    assert not page.exception and not page.error, [e.value for e in page.error]
    assert probabilities(page) == english  # the same table, under the model's own headers
    assert mapping_of(files, page) == ColumnMapping("heart-disease", {
        column: name for name, column in FRENCH.items()})
    assert "Download this column mapping (JSON)" in [
        b.proto.label for b in page.get("download_button")]
    assert any("Columns mapped to the model's fields: âge → age" in shown(info.value)
               for info in page.info)


def test_a_saved_mapping_is_reused_and_range_errors_still_show(page):
    saved = mapping_json(ColumnMapping("heart-disease", {
        column: name for name, column in FRENCH.items()}))
    files = {"mars.csv": csv_bytes("430" + CASES[0][2:], CASES[1], header=FRENCH_HEADER)}
    upload(page, *next(iter(files.items())))
    upload(page, "heart-disease-column-mapping.json", saved, index=1)
    assert not page.exception
    assert json.loads(mapping_json(mapping_of(files, page))) == json.loads(saved)
    table = page.dataframe[0].value
    assert list(table["Row"]) == [1, 2]
    [error] = page.error
    assert "Row 1, Age (years): 430 is outside the plausible range 18 to 110 years." in \
        shown(error.value)


def test_a_file_that_is_no_mapping_is_one_clear_error(page):
    upload(page, "francais.csv", csv_bytes(*CASES, header=FRENCH_HEADER))
    upload(page, "notes.json", b'{"colour": "red"}', index=1)
    assert not page.exception
    [error] = page.error
    assert "notes.json is not a column mapping" in shown(error.value)
    assert not page.dataframe


def test_a_partly_matching_table_offers_the_mapping_folded_away(page):
    header = HEADER.replace("chol", "cholestérol")
    upload(page, "cases.csv", csv_bytes(*CASES, header=header))
    assert not page.exception
    assert [e.label for e in page.expander if e.label.startswith("Map columns")] == [
        "Map columns: 1 of the model's 13 fields are not among the file's columns"]
    assert page.dataframe  # answered meanwhile, the missing field imputed
    assert records.UPLOAD == "Upload a CSV, Excel or JSON file"
