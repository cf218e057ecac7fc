"""``python -m dxcore predict`` with a record model: one JSON object per row, error objects
for invalid rows (the others still run), JSON input alike, exit 1 when any row failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
HEADER = "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal,comment\n"
ROWS = ["63,1,1,145,233,1,2,150,0,2.3,3,0,6,first visit\n",
        "430,1,4,20,286,0,2,108,1,1.5,2,3,3,typo\n",
        "41,0,2,,,0,2,172,0,1.4,1,?,3,gaps\n"]
KEYS = {"input", "row", "model", "probabilities", "prediction", "atypicality"}


@pytest.fixture
def cases_csv(tmp_path) -> Path:
    path = tmp_path / "cases.csv"
    path.write_text(HEADER + "".join(ROWS))
    return path


def test_one_object_per_row_and_an_error_object_for_the_bad_row(capsys, heart_model,
                                                                  cases_csv):
    status, lines, err = run_cli(capsys, "predict", "heart-disease", str(cases_csv), "--json")
    assert status == 1  # a row failed
    assert [line["row"] for line in lines] == [1, 2, 3]
    good, bad, gaps = lines
    assert set(good) == KEYS and good["input"] == str(cases_csv)
    assert good["model"] == "heart-disease"
    assert set(good["probabilities"]) == {"no heart disease", "heart disease"}
    assert good["prediction"] in good["probabilities"]
    assert isinstance(good["atypicality"], float) and 0 <= good["atypicality"] <= 100
    assert set(bad) == {"input", "row", "error"}
    assert bad["error"].startswith("Row 2, Age (years): 430 is outside the plausible range")
    assert "Resting blood pressure (mm Hg): 20" in bad["error"]
    assert set(gaps) == KEYS | {"notes"} and "trestbps, chol, ca" in gaps["notes"][0]
    assert "Ignored 1 column this model does not use: comment." in err  # stdout stays JSON


def test_json_input_works_the_same_way(capsys, heart_model, tmp_path):
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([{"age": 63, "sex": 1, "cp": 4, "oldpeak": 2.3},
                                {"age": "sixty", "sex": 1}]))
    status, (good, bad), _ = run_cli(capsys, "predict", "heart-disease", str(path), "--json")
    assert status == 1
    assert set(good) >= KEYS and good["row"] == 1
    assert bad == {"input": str(path), "row": 2,
                   "error": "Row 2, Age (years) must be a number; got 'sixty'."}


def test_exit_zero_when_every_row_succeeds(capsys, heart_model, tmp_path):
    path = tmp_path / "one.csv"
    path.write_text(HEADER + ROWS[0])
    status, lines, _ = run_cli(capsys, "predict", "heart-disease", str(path), "--json")
    assert status == 0 and len(lines) == 1 and "error" not in lines[0]


def test_unreadable_file_is_one_error_object_and_the_next_file_still_runs(
        capsys, heart_model, tmp_path, cases_csv):
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    status, lines, _ = run_cli(capsys, "predict", "heart-disease", str(broken),
                               str(cases_csv), "--json")
    assert status == 1
    assert set(lines[0]) == {"input", "error"} and "not valid JSON" in lines[0]["error"]
    assert [line["row"] for line in lines[1:]] == [1, 2, 3]


def test_explanation_sentences(capsys, heart_model, cases_csv):
    _, lines, _ = run_cli(capsys, "predict", "heart-disease", str(cases_csv), "--explain",
                          "ig", "--json")
    explanation = lines[0]["explanation"]
    assert len(explanation["sentences"]) == 5
    assert all("the probability of heart disease" in s for s in explanation["sentences"])


def test_the_real_entry_point_prints_no_traceback(heart_model, cases_csv):
    result = subprocess.run(
        [sys.executable, "-m", "dxcore", "predict", "heart-disease", str(cases_csv), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1
    assert [json.loads(line)["row"] for line in result.stdout.splitlines()] == [1, 2, 3]
    assert "Traceback" not in result.stdout + result.stderr
