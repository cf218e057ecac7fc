"""The bad-input catalogue, Excel workbooks (issue 27): damaged, encrypted, old, macro-enabled,
bomb-like and otherwise hostile workbooks of cases, through what the Case records page and
the drop zone call (the model's ``predict`` on ``{file name: bytes}``); each is one clear
DxError, or answered with its caveat among the table's notes."""

from __future__ import annotations

import pytest

from tests.catalogue import BadInput, assert_answered_with_note, assert_refused, ids
from tests.drops import zip_of
from tests.test_workbook import ole2
from tests.workbooks import SHEET, lying_dimension, rewritten, workbook_of

HEADER = ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang",
          "oldpeak", "slope", "ca", "thal"]
CASE = [63, 1, 1, 145, 233, 1, 2, 150, 0, 2.3, 3, 0, 6]  # made up, as a spreadsheet holds it


def _book(*rows, **options) -> bytes:
    return workbook_of([HEADER, *rows] if rows else [HEADER, CASE], as_typed=True, **options)


def _upload(data: bytes, name: str = "cases.xlsx") -> dict[str, bytes]:
    return {name: data}


CASES = [
    BadInput("xlsx-cut-short", lambda: _upload(_book()[:900]), expect="damaged or incomplete"),
    BadInput("xlsx-encrypted", lambda: _upload(ole2("EncryptionInfo", "EncryptedPackage")),
             expect="protected by a password"),
    BadInput("xls-old-format", lambda: _upload(ole2("Workbook"), "cases.xls"),
             expect="Excel 97-2003 workbook (.xls)"),
    BadInput("xlsm-macros", lambda: _upload(rewritten(
        _book(), added={"xl/vbaProject.bin": bytes(512)}), "cases.xlsm"),
             expect="macro-enabled workbook"),
    BadInput("xlsx-entity", lambda: _upload(rewritten(_book(), SHEET, lambda xml: xml.replace(
        b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><worksheet', 1))),
             expect="damaged"),
    BadInput("xlsx-far-cell", lambda: _upload(rewritten(_book(), SHEET, lambda xml: xml.replace(
        b"</sheetData>", b'<row r="9"><c r="XFD9"><v>1</v></c></row></sheetData>'))),
             expect="at most 10,000 columns are read"),
    BadInput("xlsx-formula-without-result", lambda: _upload(_book(
        [*CASE[:4], "=E1*2", *CASE[5:]])), expect="holds a formula whose result was never"),
    BadInput("xlsx-value-beyond-header", lambda: _upload(_book([*CASE, None, 7])),
             expect="row 1 has values beyond the 13 columns"),
    BadInput("xlsx-empty", lambda: _upload(workbook_of([], as_typed=True)),
             expect="every sheet is empty"),
    BadInput("docx-as-cases", lambda: _upload(zip_of(
        {"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"}), "cases.docx"),
             expect="Word or PowerPoint document"),
    # --- answered, with what was odd said
    BadInput("xlsx-several-sheets", lambda: _upload(_book(before=["Notes"], after=["Old"])),
             warns="Read the sheet 'Cases' of cases.xlsx"),
    BadInput("xlsx-error-cell", lambda: _upload(_book([*CASE[:4], "#N/A", *CASE[5:]])),
             warns="must be a number; got '#N/A'"),
    # answered as if it stated its true size (test_a_lying_dimension_reads_the_cells_there_are)
    BadInput("xlsx-lying-dimension",
             lambda: _upload(rewritten(_book(), SHEET, lying_dimension))),
]


@pytest.mark.parametrize("case", ids([c for c in CASES if c.expect]))
def test_refused(heart_model, case):
    assert_refused(case, lambda: heart_model.predict(case.make()))


@pytest.mark.parametrize("case", ids([c for c in CASES if c.warns]))
def test_answered_with_a_note(heart_model, case):
    result = heart_model.predict(case.make())
    batch = result.detail
    assert_answered_with_note(case, [*batch.notes, *(r.error for r in batch.results
                                                     if r.error)])


def test_a_lying_dimension_reads_the_cells_there_are(heart_model):
    case = next(c for c in CASES if c.name == "xlsx-lying-dimension")
    [read] = heart_model.predict(case.make()).detail.results
    [plain] = heart_model.predict(_upload(_book())).detail.results
    assert read.error is None and read.probabilities == plain.probabilities
