"""Excel workbooks (dxcore.workbook): recognised by their bytes, read as the CSV of their sheet
of cases, and every hostile workbook (damaged, encrypted, old .xls, macros, a zip bomb, a
lying dimension, an XML entity, formulas without results, too many sheets) one clear
DxError."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from dxcore import workbook
from dxcore.errors import DxError
from dxcore.workbook import read_workbook, workbook_format
from tests.catalogue import assert_clear_message
from tests.drops import zip_of
from tests.workbooks import SHEET, lying_dimension, rewritten, workbook_of

CASES = [["age", "chol", "note"], [63, 233.5, "first visit"], [41, None, "2,3"]]


def read(data: bytes, max_cases: int = 100):
    return read_workbook(data, "cases.xlsx", max_cases)


def refusal(data: bytes, max_cases: int = 100) -> str:
    with pytest.raises(DxError) as caught:
        read(data, max_cases)
    message = str(caught.value)
    assert_clear_message(message)
    return message


def ole2(*streams: str) -> bytes:
    """The start of an OLE2 compound file naming ``streams`` in its directory (UTF-16), as
    an .xls or an encrypted Office file has them; only what the recognition reads."""
    directory = b"".join(name.encode("utf-16-le").ljust(64, b"\0") for name in streams)
    return workbook.OLE2_SIGNATURE + bytes(504) + directory


def test_cells_become_the_text_a_csv_export_holds():
    sheet = read(workbook_of(CASES, as_typed=True))
    assert sheet.title == "Cases" and sheet.notes == []
    # 233.5 as written, an empty cell as "", a text cell with a comma kept as typed
    assert sheet.table.to_dict("records") == [
        {"age": "63", "chol": "233.5", "note": "first visit"},
        {"age": "41", "chol": "", "note": "2,3"}]


def test_dates_booleans_and_floats_are_written_as_a_spreadsheet_shows_them():
    sheet = read(workbook_of([["a", "b", "c"], [dt.date(2020, 1, 2), True, 0.1]],
                             as_typed=True))
    assert sheet.table.iloc[0].tolist() == ["2020-01-02T00:00:00", "TRUE", "0.1"]


def test_recognised_by_content_not_by_name():
    data = workbook_of(CASES)
    assert workbook_format(data) == "xlsx"
    assert workbook_format(zip_of({"a.csv": b"age\n1\n"})) is None  # a plain ZIP
    assert workbook_format(zip_of({"[Content_Types].xml": b"<x/>", "word/document.xml":
                                   b"<x/>"})) == "office"
    assert workbook_format(data[:len(data) // 2]) == "xlsx"  # cut short: still a workbook
    assert workbook_format(ole2("Workbook")) == "ole2"
    assert workbook_format(b"age,chol\n63,233\n") is None


def test_the_first_sheet_with_data_is_read_and_named_when_there_are_several():
    sheet = read(workbook_of(CASES, before=["Notes"], after=["Other"]))
    assert sheet.title == "Cases" and len(sheet.table) == 2
    assert sheet.notes == ["Read the sheet 'Cases' of cases.xlsx, the first of its 3 sheets "
                           "that holds data; the other sheets were not read."]


def test_blank_rows_and_empty_trailing_cells_are_skipped_not_shifted():
    rows = [["age", "chol", None, None], [None], [63, 233, None, ""], [41, 204]]
    assert read(workbook_of(rows, as_typed=True)).table.to_dict("records") == [
        {"age": "63", "chol": "233"}, {"age": "41", "chol": "204"}]


def test_an_empty_unnamed_column_is_dropped_and_a_filled_one_refused():
    assert list(read(workbook_of([["age", None, "chol"], [63, None, 233]],
                                 as_typed=True)).table.columns) == ["age", "chol"]
    assert "row 1 has a value in a column with no name" in refusal(
        workbook_of([["age", None, "chol"], [63, 7, 233]], as_typed=True))


@pytest.mark.parametrize(("rows", "row"), [
    ([[63, 233, 7], [41, 204]], 1),
    ([[63, 233], [None], [41, 204, 9]], 2),  # numbered as validation numbers: no blanks
])
def test_values_beyond_the_header_name_the_row(rows, row):
    message = refusal(workbook_of([["age", "chol"], *rows], as_typed=True))
    assert f"row {row} has values beyond the 2 columns the header names" in message


@pytest.mark.parametrize(("rows", "expected"), [
    ([["age", "age"], [63, 64]], "the column age appears more than once"),
    ([["age", "chol"]], "holds no cases"),
    ([], "every sheet is empty"),
])
def test_tables_without_cases_or_with_a_repeated_column(rows, expected):
    assert expected in refusal(workbook_of(rows, as_typed=True))


def test_more_cases_than_allowed_are_refused_while_streaming():
    rows = [["age"], *([63] for _ in range(12))]
    assert "holds more than 10 cases" in refusal(workbook_of(rows, as_typed=True),
                                                 max_cases=10)


def test_a_formula_gives_its_saved_result_and_is_never_calculated():
    written = workbook_of([["age", "chol"], [63, "=A2*2"]], as_typed=True)
    # Excel saves the result beside the formula; openpyxl writes none, so it is added here.
    saved = rewritten(written, SHEET, lambda xml: xml.replace(b"<f>A2*2</f><v />",
                                                              b"<f>A2*2</f><v>999</v>"))
    assert read(saved).table.loc[0, "chol"] == "999"  # the saved result, not 126
    assert "cell B2 of the sheet 'Cases' holds a formula whose result was never saved" in \
        refusal(written)


def test_a_command_formula_without_a_result_is_refused_never_run():
    hostile = workbook_of([["age", "id"], [63, "=cmd|' /C calc'!A0"]], as_typed=True)
    assert "cell B2 of the sheet 'Cases' holds a formula" in refusal(hostile)


@pytest.mark.parametrize(("data", "expected"), [
    (ole2("EncryptionInfo", "EncryptedPackage"), "protected by a password"),
    (ole2("Workbook"), "Excel 97-2003 workbook (.xls)"),
    (ole2("WordDocument"), "old Microsoft Office file"),
])
def test_old_and_encrypted_office_files_say_what_to_do(data, expected):
    message = refusal(data)
    assert expected in message and "as CSV" in message


def test_a_damaged_workbook():
    data = workbook_of(CASES)
    assert "damaged or incomplete" in refusal(data[:len(data) // 2])
    assert "damaged" in refusal(rewritten(data, "xl/workbook.xml", lambda _: b"<not xml"))


def test_a_macro_enabled_workbook_is_never_opened():
    data = rewritten(workbook_of(CASES), "[Content_Types].xml",
                     lambda xml: xml.replace(b"spreadsheetml.sheet.main+xml",
                                             b"ms-excel.sheet.macroEnabled.main+xml"),
                     added={"xl/vbaProject.bin": bytes(512)})
    assert "macro-enabled workbook (.xlsm)" in refusal(data)


def test_a_zip_bomb_is_refused_from_its_directory(monkeypatch):
    data = workbook_of(CASES)
    expanded = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    monkeypatch.setattr(workbook, "MAX_XML_BYTES", expanded - 1)
    assert "at most 0 MB of workbook can be opened" in refusal(data)


def test_a_part_longer_than_its_declared_size_is_not_read_past_it():
    package = bytearray(workbook_of([["age"], *([63] for _ in range(400))]))
    directory = zipfile.ZipFile(io.BytesIO(bytes(package)))
    info = directory.getinfo(SHEET)
    # Declare 100 bytes in both headers of the sheet (local +22, central directory +24).
    central = next(offset for offset in range(len(package))
                   if package.startswith(b"PK\x01\x02", offset)
                   and package[offset + 46:offset + 46 + len(SHEET)] == SHEET.encode())
    for offset in (info.header_offset + 22, central + 24):
        package[offset:offset + 4] = (100).to_bytes(4, "little")
    assert "damaged" in refusal(bytes(package))


def test_a_lying_dimension_and_a_far_away_cell():
    data = workbook_of(CASES)
    lying = rewritten(data, SHEET, lying_dimension)
    assert len(read(lying).table) == 2  # the stated size is not what is read
    far = rewritten(data, SHEET, lambda xml: xml.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'))
    assert "values in column 16,384; at most 10,000 columns are read" in refusal(far)


def test_an_xml_entity_is_never_expanded():
    billion_laughs = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    data = rewritten(workbook_of(CASES), SHEET,
                     lambda xml: xml.replace(b"<worksheet", billion_laughs + b"<worksheet", 1))
    assert "damaged" in refusal(data)


def test_too_many_sheets(monkeypatch):
    monkeypatch.setattr(workbook, "MAX_SHEETS", 2)
    assert "holds 3 sheets; at most 2 can be opened" in refusal(
        workbook_of(CASES, after=["b", "c"]))


def test_recognising_a_workbook_loads_neither_pandas_nor_numpy():
    """The drop zone's intake (and the command line's parser, which reads its sizes) stay
    light: the workbook module loads pandas only to read a sheet."""
    import subprocess
    import sys

    from tests.helpers import ROOT

    code = ("import sys, dxcore.intake; "
            "print(sorted(m for m in ('pandas', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
