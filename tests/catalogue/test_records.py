"""The bad-input catalogue, case records: broken, odd and hostile CSV and JSON files of
cases. Each upload goes through what the case-record page calls, the model's ``predict``
on ``{file name: bytes}`` (read, validate, guard, network, atypicality); a refused file
is a DxError, an answered one shows its caveat among the notes the page shows (the
table's notes, each row's refusal or imputation). A subset also through the CLI.

The cases are heart-disease rows built from the first case of the Cleveland file (read in
place; skipped when absent), plus gene profiles for the leukaemia model and CKD values.
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from dxcore.datasets import data_dir
from dxcore.records.reader import MAX_CASE_FILE_BYTES, MAX_CASES
from tests.catalogue import BadInput, assert_answered_with_note, assert_refused, ids
from tests.helpers import run_cli

FIELDS = ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang",
          "oldpeak", "slope", "ca", "thal"]


@cache
def _case() -> dict[str, str]:
    """The second Cleveland case (67-year-old man, asymptomatic chest pain...), as text
    cells (the first is among the 1% the model refuses as unlike its training sites')."""
    path = data_dir() / "heart_disease" / "processed.cleveland.data"
    if not path.is_file():
        pytest.skip(f"heart-disease data not found at {path}; set DX_DATA_DIR")
    second = path.read_text().splitlines()[1].split(",")
    return dict(zip(FIELDS, second[:len(FIELDS)], strict=True))


def _csv(changes: dict[str, str] | None = None, separator: str = ",", extra: str = "",
         encoding: str = "utf-8", name: str = "cases.csv", id_value: str = "A-17") -> dict:
    """One case as CSV with an id column (which the model ignores, with a note)."""
    case = {"id": id_value, **_case(), **(changes or {})}
    text = separator.join(case) + "\n" + separator.join(case.values()) + extra + "\n"
    return {name: text.encode(encoding)}


def _json(content) -> dict[str, bytes]:
    return {"cases.json": content if isinstance(content, bytes)
            else json.dumps(content).encode()}


def _heart(upload_or_make) -> tuple[str, dict[str, bytes]]:
    return "heart-disease", upload_or_make


@cache
def _golub_probes() -> list[str]:
    from dxcore.registry import get_model

    return get_model("leukemia-golub").schema.names


def _golub(count: int) -> dict[str, bytes]:
    """A profile with only its first ``count`` probes."""
    probes = _golub_probes()[:count]
    return {"profile.csv": (",".join(probes) + "\n" + ",".join(["120"] * count)
                            + "\n").encode()}


HOSTILE_FORMULA = "=cmd|' /C calc'!A0"

CASES = [
    # --- files that are no table of cases
    BadInput("empty", lambda: _heart({"cases.csv": b""}), expect="is empty"),
    BadInput("blank", lambda: _heart({"cases.csv": b" \n\n"}), expect="is empty"),
    BadInput("header-only", lambda: _heart({"cases.csv": ",".join(FIELDS).encode()}),
             expect="holds no cases"),
    BadInput("binary", lambda: _heart({"cases.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"}),
             expect="not a text file"),
    BadInput("nul-bytes", lambda: _heart({"cases.csv": b"age,sex\n6\x003,1\n"}),
             expect="not a text file"),
    BadInput("wrong-columns", lambda: _heart({"cases.csv": b"name,weight\nAnna,61\n"}),
             expect="None of the columns this model reads is in the file"),
    BadInput("two-files", lambda: _heart({**_csv(), "more.csv": _csv()["cases.csv"]}),
             expect="Upload one file of cases (CSV, JSON or Excel) at a time"),
    BadInput("unclosed-quote", lambda: _heart({"cases.csv": b'age,sex\n"63,1\n'}),
             expect="with quotes closed"),
    BadInput("more-values-than-header", lambda: _heart(_csv(extra=",7")),
             expect="row 1 has 15 values, but the header names 14 columns"),
    BadInput("repeated-column", lambda: _heart(
        {"cases.csv": b"age,sex,age\n63,1,64\n"}), expect="the column age appears more"),
    BadInput("too-many-cases", lambda: _heart(
        {"cases.csv": b"age\n" + b"63\n" * (MAX_CASES + 1)}),
             expect=f"at most {MAX_CASES:,} can be analysed at once"),
    BadInput("file-too-large", lambda: _heart(
        {"cases.csv": b"age\n" + b"6" * MAX_CASE_FILE_BYTES}),
             expect=f"is over {MAX_CASE_FILE_BYTES // 2 ** 20} MB"),
    # --- JSON
    BadInput("json-invalid", lambda: _heart(_json(b'{"age": 63,')), expect="not valid JSON"),
    BadInput("json-nested-10k", lambda: _heart(_json(b"[" * 10_000 + b"]" * 10_000)),
             expect="nested too deeply"),
    BadInput("json-list-of-lists", lambda: _heart(_json([[63, 1]])),
             expect="expected one JSON object (a case) or a list of objects"),
    BadInput("json-a-number", lambda: _heart(_json(5)),
             expect="expected one JSON object (a case) or a list of objects"),
    BadInput("json-empty-list", lambda: _heart(_json([])), expect="holds no cases"),
    BadInput("json-nan", lambda: _heart(_json(b'{"age": NaN, "sex": 1}')),
             expect="JSON does not allow as a number"),
    BadInput("json-infinity", lambda: _heart(_json(b'[{"age": Infinity}]')),
             expect="JSON does not allow as a number"),
    BadInput("json-5000-digit-number", lambda: _heart(_json(b'{"age": ' + b"9" * 5000 + b"}")),
             expect="JSON does not allow as a number"),
    BadInput("json-object-in-a-field", lambda: _heart(_json({**_case(), "age": {"x": 1}})),
             warns="Age (years) must be a number"),
    BadInput("json-true-as-a-number", lambda: _heart(_json({**_case(), "chol": True})),
             warns="must be a number; got 'True'"),
    # --- values
    BadInput("age-500", lambda: _heart(_csv({"age": "500"})),
             warns="Age (years): 500 is outside the plausible range"),
    BadInput("cholesterol-negative", lambda: _heart(_csv({"chol": "-233"})),
             warns="-233 is outside the plausible range"),
    BadInput("text-in-a-number", lambda: _heart(_csv({"age": "sixty-three"})),
             warns="Age (years) must be a number; got 'sixty-three'"),
    BadInput("category-not-a-code", lambda: _heart(_csv({"cp": "7"})),
             warns="'7' is not one of"),
    BadInput("formula-in-a-number", lambda: _heart(_csv({"chol": HOSTILE_FORMULA})),
             warns="must be a number; got '=cmd|' /C calc'!A0'"),
    BadInput("formula-as-case-id", lambda: _heart(_csv(id_value=HOSTILE_FORMULA)),
             warns="Ignored 1 column this model does not use: id"),
    BadInput("huge-cell", lambda: _heart(_csv({"age": "9" * 2_000_000})),
             warns="(2,000,000 characters)"),
    BadInput("escape-codes-in-a-cell", lambda: _heart(_csv({"age": "\x1b[2J\x1b[H63"})),
             warns="Age (years) must be a number"),
    BadInput("fields-missing", lambda: _heart(_csv({"chol": "", "fbs": "?"})),
             warns="Not recorded: chol, fbs."),
    BadInput("too-few-findings", lambda: _heart({"cases.csv": b"age,sex\n63,1\n"}),
             warns="too few findings to answer"),
    # --- layouts and encodings spreadsheets write (read as the plain file)
    BadInput("bom", lambda: _heart(_csv(encoding="utf-8-sig")),
             warns="Ignored 1 column this model does not use: id"),
    BadInput("utf16", lambda: _heart(_csv(encoding="utf-16")),
             warns="Ignored 1 column this model does not use: id"),
    BadInput("latin1-text", lambda: _heart(_csv(encoding="latin-1", id_value="Müller")),
             warns="Ignored 1 column this model does not use: id"),
    BadInput("semicolons-decimal-commas", lambda: _heart(_csv(
        {"oldpeak": _case()["oldpeak"].replace(".", ",")}, separator=";")),
             warns="Ignored 1 column this model does not use: id"),
    BadInput("trailing-comma", lambda: _heart(_csv(extra=",")),
             warns="Ignored 1 column this model does not use: id"),
    BadInput("quoted-newline-in-id", lambda: _heart(_csv(id_value='"A\n17"')),
             warns="Ignored 1 column this model does not use: id"),
    # --- other models
    BadInput("golub-missing-probes", lambda: ("leukemia-golub", _golub(3000)),
             warns="the required columns"),
    BadInput("ckd-text-in-a-number", lambda: ("ckd", {"ckd.csv": b"age,bp,sg,al,hemo\n"
                                                      b"48,80,1.020,1,high\n"}),
             warns="must be a number; got 'high'"),
]


def _notes(result) -> list[str]:
    """What the page shows with a batch: the table's notes, each row's refusal, and each
    answered row's notes."""
    batch = result.detail
    return [*batch.notes, *(line.get("error") or note for line in
                            batch.as_json(result, {}) for note in
                            (line.get("notes") or [None]) if line.get("error") or note)]


def _page(shipped_model, case: BadInput):
    model_id, upload = case.make()
    return shipped_model(model_id).predict(upload)


@pytest.mark.parametrize("case", ids([c for c in CASES if c.expect]))
def test_refused(shipped_model, case):
    assert_refused(case, lambda: _page(shipped_model, case))


@pytest.mark.parametrize("case", ids([c for c in CASES if c.warns]))
def test_answered_with_a_note(shipped_model, case):
    result = _page(shipped_model, case)
    assert_answered_with_note(case, _notes(result))
    batch = result.detail
    assert all(r.error or all(0 <= p <= 1 for p in r.probabilities.values())
               for r in batch.results)


@pytest.mark.parametrize("name", ["bom", "utf16", "latin1-text", "semicolons-decimal-commas",
                                  "trailing-comma", "quoted-newline-in-id"])
def test_spreadsheet_layouts_give_the_plain_files_prediction(heart_model, name):
    case = next(c for c in CASES if c.name == name)
    [plain] = heart_model.predict(_csv()).detail.results
    [read] = heart_model.predict(case.make()[1]).detail.results
    assert read.error is None and read.probabilities == plain.probabilities


CLI_CASES = ["binary", "wrong-columns", "json-nested-10k", "json-nan", "repeated-column",
             "unclosed-quote", "more-values-than-header", "too-many-cases"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_refused_by_the_cli(heart_model, capsys, tmp_path, name):
    """The command line: exit 1, one strict-JSON error object, no traceback."""
    case = next(c for c in CASES if c.name == name)
    _, upload = case.make()
    [(file, data)] = upload.items()
    (tmp_path / file).write_bytes(data)
    status, lines, err = run_cli(capsys, "predict", "heart-disease", str(tmp_path / file),
                                 "--json")
    assert status == 1 and "Traceback" not in err
    [line] = lines
    assert set(line) == {"input", "error", "code"}
    assert case.expect.lower() in line["error"].lower()
