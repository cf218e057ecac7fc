"""``python -m dxcore``: the JSON contract, error objects and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dxcore.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv: str) -> tuple[int, list[dict], str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
    return status, lines, captured.err


def test_models_json_lists_the_shipped_model(capsys, cxr_model):
    status, lines, _ = run_cli(capsys, "models", "--json")
    assert status == 0
    listed = {line["id"]: line for line in lines}
    assert set(listed["cxr-pneumonia"]["test_metrics"]) >= {"auc", "accuracy"}


def test_predict_json_one_object_per_input_and_errors_do_not_stop_the_rest(
        capsys, cxr_model, test_xray_path, tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("this is not an image")
    missing = tmp_path / "missing.jpeg"
    status, lines, _ = run_cli(capsys, "predict", "cxr-pneumonia", str(test_xray_path),
                               str(not_an_image), str(missing), str(test_xray_path), "--json")
    assert status == 1  # some input failed
    assert [line["input"] for line in lines] == [str(test_xray_path), str(not_an_image),
                                                str(missing), str(test_xray_path)]
    good, bad, gone, again = lines
    assert set(good) == {"input", "model", "probabilities", "prediction"}
    assert good["model"] == "cxr-pneumonia"
    assert set(good["probabilities"]) == {"NORMAL", "PNEUMONIA"}
    assert sum(good["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert good["prediction"] in good["probabilities"]
    assert again == good  # deterministic
    assert set(bad) == {"input", "error"} and "not an image" in bad["error"]
    assert set(gone) == {"input", "error"} and "cannot be opened" in gone["error"]


def test_predict_exit_zero_when_every_input_succeeds(capsys, cxr_model, test_xray_path):
    status, lines, _ = run_cli(capsys, "predict", "cxr-pneumonia", str(test_xray_path), "--json")
    assert status == 0 and len(lines) == 1 and "error" not in lines[0]


def test_predict_with_explanation_writes_the_overlay(capsys, cxr_model, test_xray_path,
                                                     tmp_path):
    status, (line,), _ = run_cli(capsys, "predict", "cxr-pneumonia", str(test_xray_path),
                                 "--explain", "gradcam++", "--out", str(tmp_path), "--json")
    assert status == 0
    assert line["explanation"]["method"] == "gradcam++"
    assert Path(line["explanation"]["overlay"]).is_file()
    assert 0 <= line["explanation"]["peak_xy"][0] < 224


def test_unknown_model_is_one_clear_line_and_exit_one(capsys):
    status, lines, err = run_cli(capsys, "predict", "no-such-model", "x.png", "--json")
    assert status == 1 and lines == []
    assert "no model called 'no-such-model'" in err and "Traceback" not in err


def test_the_real_entry_point_prints_no_traceback(cxr_model, tmp_path):
    """One real ``python -m dxcore`` process: clean stdout (JSON only), no traceback."""
    broken = tmp_path / "broken.jpeg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)  # a JPEG cut off after its header
    result = subprocess.run(
        [sys.executable, "-m", "dxcore", "predict", "cxr-pneumonia", str(broken), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"input": str(broken), "error": json.loads(
        result.stdout)["error"]}
    assert "Traceback" not in result.stdout + result.stderr
