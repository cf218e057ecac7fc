"""Reading cases: CSV and JSON, from paths or uploaded bytes, and the refusals."""

from __future__ import annotations

import pytest

from dxcore.errors import DxError
from dxcore.records.reader import read_cases


def test_csv_bytes_keep_every_cell_as_typed():
    table = read_cases(b"age, ca\n63, ?\n41,\n", name="cases.csv")
    assert list(table.columns) == ["age", "ca"]  # header spaces trimmed
    assert table.to_dict("records") == [{"age": "63", "ca": "?"}, {"age": "41", "ca": ""}]


def test_spreadsheet_bom_is_not_part_of_the_first_column():
    assert list(read_cases("\ufeffage\n63\n".encode(), name="c.csv").columns) == ["age"]


def test_json_one_object_and_a_list_of_objects():
    one = read_cases(b'{"age": 63, "sex": "1"}', name="case.json")
    many = read_cases(b'[{"age": 63}, {"age": 41, "sex": 0}]', name="cases.json")
    assert one.to_dict("records") == [{"age": 63, "sex": "1"}]
    assert len(many) == 2 and set(many.columns) == {"age", "sex"}


def test_json_is_recognised_without_a_suffix():
    assert len(read_cases(b'  [{"age": 1}]', name="upload")) == 1


def test_a_trailing_comma_on_each_row_does_not_shift_the_columns():
    table = read_cases(b"age,trestbps,chol\n63,145,233,\n41,130,204,\n", name="c.csv")
    assert table.to_dict("records") == [{"age": "63", "trestbps": "145", "chol": "233"},
                                        {"age": "41", "trestbps": "130", "chol": "204"}]


def test_more_values_than_the_header_names_are_refused_not_shifted():
    # every row one value longer: pandas alone would shift each value into another field
    with pytest.raises(DxError, match="row 1 has 4 values, but the header names 3 columns"):
        read_cases(b"age,trestbps,chol\n63,145,233,7\n41,130,204,8\n", name="c.csv")


HEART = "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal\n"
CASE = "67,1,4,160,286,0,2,108,1,1.5,2,3,3"


@pytest.mark.parametrize("rows", [
    [CASE + ",,"] * 2,  # every row two empty values longer (15 values under 13 names)
    [CASE, CASE + ",,"],  # only a later row longer: pandas alone refuses the file
    [CASE + ",,", CASE],  # only the first row longer: pandas alone shifts the second
    [CASE + ", , ", "", CASE + ",,"],  # blank extras and a blank line
])
def test_trailing_empty_values_are_dropped_and_the_columns_stay_aligned(rows):
    plain = read_cases((HEART + CASE + "\n" + CASE + "\n").encode(), name="c.csv")
    table = read_cases((HEART + "\n".join(rows) + "\n").encode(), name="c.csv")
    assert table.to_dict("records") == plain.to_dict("records")
    assert table.loc[0, "age"] == "67" and table.loc[0, "thal"] == "3"


@pytest.mark.parametrize(("rows", "row"), [
    ([CASE + ",,7", CASE + ",,7"], 1),
    ([CASE, CASE + ",7,"], 2),  # pandas alone gives no row, only "cannot be read"
    ([CASE + ",,", "", CASE, CASE + ",,9"], 3),  # counted as validation counts: no blanks
])
def test_more_non_empty_values_than_the_header_name_the_row(rows, row):
    with pytest.raises(DxError, match=f"c.csv: row {row} has 15 values, but the header "
                                      "names 13 columns"):
        read_cases((HEART + "\n".join(rows) + "\n").encode(), name="c.csv")


def test_json_nested_thousands_deep_is_one_clear_error():
    with pytest.raises(DxError, match="nested too deeply"):
        read_cases(b"[" * 10_000 + b"]" * 10_000, name="cases.json")


def test_from_a_path(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("age,sex\n63,1\n")
    assert read_cases(path).to_dict("records") == [{"age": "63", "sex": "1"}]


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"", "cases.csv", "is empty"),
    (b" \n", "cases.json", "is empty"),
    (b"age,sex\n", "cases.csv", "no cases"),
    (b"[]", "cases.json", "no cases"),
    (b'{"age": 63,', "cases.json", "not valid JSON"),
    (b'[1, 2]', "cases.json", "list of objects"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "cases.csv", "not a text file"),
    (b'age,sex\n1,2\n3,"4\n', "cases.csv", "cannot be read as CSV"),  # quote not closed
    (b'age,sex\n1,2,3,4\n"', "cases.csv", "row 1 has 4 values"),  # the row, not the quote
])
def test_unreadable_uploads_are_one_clear_error(data, name, message):
    with pytest.raises(DxError, match=message):
        read_cases(data, name=name)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DxError, match="cannot be opened"):
        read_cases(tmp_path / "nowhere.csv")


# --- Issue 11: unusual files ------------------------------------------------------------

def test_a_semicolon_csv_with_decimal_commas_reads_like_the_comma_csv():
    comma = read_cases(b"age,oldpeak,chol\n63,2.3,233\n", name="c.csv")
    european = read_cases(b"age;oldpeak;chol\n63;2,3;233\n", name="c.csv")
    assert european.to_dict("records") == comma.to_dict("records")


def test_a_semicolon_csv_keeps_commas_in_text():
    table = read_cases(b"age;comment\n63;seen, then sent home\n", name="c.csv")
    assert table.to_dict("records") == [{"age": "63", "comment": "seen, then sent home"}]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "latin-1"])
def test_spreadsheet_encodings_are_read(encoding):
    table = read_cases("age,comment\n63,Müller\n".encode(encoding), name="c.csv")
    assert table.to_dict("records") == [{"age": "63", "comment": "Müller"}]


@pytest.mark.parametrize("data", [b'{"age": NaN}', b'[{"age": Infinity}]',
                                  b'{"age": -Infinity}', b'{"age": ' + b"9" * 5000 + b"}"])
def test_json_non_numbers_are_refused(data):
    with pytest.raises(DxError, match="JSON does not allow as a number"):
        read_cases(data, name="case.json")


def test_a_repeated_column_is_refused():
    with pytest.raises(DxError, match="the column age appears more than once"):
        read_cases(b"age,sex,age\n63,1,64\n", name="c.csv")


def test_files_over_the_limits_are_refused():
    from dxcore.records.reader import MAX_CASE_FILE_BYTES, MAX_CASES

    many = b"age\n" + b"63\n" * (MAX_CASES + 1)
    with pytest.raises(DxError, match=f"holds {MAX_CASES + 1:,} cases; at most {MAX_CASES:,}"):
        read_cases(many, name="c.csv")
    with pytest.raises(DxError, match=f"holds {MAX_CASES + 1:,} cases"):
        read_cases(b"[" + b",".join([b"{}"] * (MAX_CASES + 1)) + b"]", name="c.json")
    with pytest.raises(DxError, match=f"over {MAX_CASE_FILE_BYTES // 2 ** 20} MB"):
        read_cases(b"age\n" + b"6" * MAX_CASE_FILE_BYTES, name="c.csv")


def test_hypothesis_findings_stay_fixed(heart_model):
    # A lone carriage return: the header check's csv.reader needs newline="".
    with pytest.raises(DxError):
        heart_model.predict({"c.csv": b"\r\x01"})
    # A case with only a categorical field: the numeric check ran on no column.
    [case] = heart_model.predict({"c.json": b'{"sex": null}'}).detail.results
    assert case.error and "too few findings" in case.error.lower()


# --- Excel workbooks (issue 27) -----------------------------------------------------------


def _real_rows(dataset_name: str, count: int = 25):
    """The first ``count`` cases of a real dataset, as the CSV a clinic would export (text
    cells, '?' where the source has no value)."""
    from dxcore.datasets import ckd, heart_disease

    table, _ = {"heart_disease": heart_disease, "ckd": ckd}[dataset_name].load()
    return table.head(count).fillna("")


@pytest.mark.parametrize(("model_fixture", "dataset_name"), [
    ("heart_model", "heart_disease"), ("ckd_model", "ckd")])
def test_a_workbook_gives_the_answers_of_the_csv_of_the_same_rows(request, dataset,
                                                                 model_fixture, dataset_name):
    from tests.workbooks import workbook_of

    dataset(dataset_name)
    model = request.getfixturevalue(model_fixture)
    rows = _real_rows(dataset_name)
    csv = rows.to_csv(index=False).encode()
    xlsx = workbook_of(rows)  # numbers as numbers, '?' and categories as text
    from_csv = model.predict({"cases.csv": csv}).detail.results
    from_xlsx = model.predict({"cases.xlsx": xlsx}).detail.results
    assert len(from_xlsx) == len(rows)
    for csv_case, xlsx_case in zip(from_csv, from_xlsx, strict=True):
        assert (xlsx_case.error, xlsx_case.prediction) == (csv_case.error, csv_case.prediction)
        assert xlsx_case.probabilities == pytest.approx(csv_case.probabilities, abs=1e-9)
        assert xlsx_case.values == csv_case.values
    assert any(case.error is None for case in from_xlsx)


def test_a_workbook_is_read_by_content_whatever_its_name():
    from tests.workbooks import workbook_of

    data = workbook_of([["age", "sex"], [63, 1]])
    for name in ("cases.xlsx", "cases.csv", "upload"):
        assert read_cases(data, name=name).to_dict("records") == [{"age": "63", "sex": "1"}]


@pytest.mark.parametrize("rows", [
    [CASE.split(",") + [None, None]] * 2,
    [CASE.split(","), CASE.split(",") + ["", " "]],
])
def test_trailing_empty_cells_of_a_workbook_keep_the_columns_aligned(rows):
    from tests.workbooks import workbook_of

    header = HEART.strip().split(",")
    plain = read_cases((HEART + CASE + "\n" + CASE + "\n").encode(), name="c.csv")
    table = read_cases(workbook_of([header, *rows]), name="c.xlsx")
    assert table.to_dict("records") == plain.to_dict("records")


def test_a_workbook_value_outside_the_header_is_refused_not_shifted():
    from tests.workbooks import workbook_of

    header = HEART.strip().split(",")
    with pytest.raises(DxError, match="row 2 has values beyond the 13 columns"):
        read_cases(workbook_of([header, CASE.split(","), CASE.split(",") + [None, "7"]]),
                   name="c.xlsx")


def test_a_word_document_is_no_table():
    from tests.drops import zip_of

    with pytest.raises(DxError, match="a Word or PowerPoint document, not a table of cases"):
        read_cases(zip_of({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"}),
                   name="cases.docx")
