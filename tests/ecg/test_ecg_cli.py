"""``python -m dxcore predict ecg-beats``: the JSON contract per record (WFDB name, .hea,
CSV with --fs), sample indices at the input's own rate, error objects and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from dxcore.cli import main
from dxcore.ecg import load_record

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"input", "model", "fs", "beats", "summary"}


def run_cli(capsys, *argv: str) -> tuple[int, list[dict], str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, [json.loads(line) for line in captured.out.splitlines() if line], \
        captured.err


@pytest.fixture(scope="module")
def csv_250(mitdb_root, tmp_path_factory) -> Path:
    """The first minute of record 100 resampled to 250 Hz, as a CSV without time column."""
    record = load_record(mitdb_root / "100")
    signals = resample_poly(record.signals[:360 * 60].astype(float), 25, 36, axis=0)
    path = tmp_path_factory.mktemp("csv") / "minute.csv"
    np.savetxt(path, signals, delimiter=",", header="MLII,V5", comments="", fmt="%.4f")
    return path


def test_wfdb_name_and_hea_path_give_the_same_result(capsys, ecg_model, mitdb_root):
    status, (by_name, by_header), _ = run_cli(
        capsys, "predict", "ecg-beats", str(mitdb_root / "100"), str(mitdb_root / "100.hea"),
        "--json")
    assert status == 0
    assert set(by_name) == KEYS and by_name["model"] == "ecg-beats" and by_name["fs"] == 360
    assert by_name["beats"] == by_header["beats"]
    beat = by_name["beats"][0]
    assert set(beat) == {"sample", "prediction", "probabilities"}
    assert set(beat["probabilities"]) == {"N", "S", "V", "F"}
    assert sum(beat["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    summary = by_name["summary"]
    assert summary["beats"] == len(by_name["beats"]) == 2273  # the reference beats of 100
    assert summary["beat_positions"] == "reference annotations"
    assert summary["duration_s"] == pytest.approx(1805.56, abs=0.01)
    assert 60 < summary["mean_heart_rate_bpm"] < 90
    assert summary["reference_agreement"]["agreement_percent"] > 95
    assert set(summary) >= {"beats_per_class", "ectopic_burden_percent", "longest_v_run",
                            "episodes", "lead"}


def test_csv_with_fs_reports_samples_at_its_own_rate(capsys, ecg_model, csv_250):
    status, (line,), _ = run_cli(capsys, "predict", "ecg-beats", str(csv_250), "--fs", "250",
                                 "--json")
    assert status == 0 and set(line) >= KEYS and line["fs"] == 250
    samples = [b["sample"] for b in line["beats"]]
    assert max(samples) < 250 * 60 and samples == sorted(samples)
    assert line["summary"]["beat_positions"] == "detected (XQRS)"
    assert 70 <= len(samples) <= 80  # record 100 beats about 75 times a minute
    assert any("millivolts" in note for note in line["notes"])


def test_errors_are_objects_and_do_not_stop_the_rest(capsys, ecg_model, mitdb_root, csv_250,
                                                     tmp_path):
    header_only = tmp_path / "100.hea"
    header_only.write_bytes((mitdb_root / "100.hea").read_bytes())
    status, lines, _ = run_cli(capsys, "predict", "ecg-beats", str(csv_250),
                               str(header_only), str(tmp_path / "missing"),
                               str(mitdb_root / "100"), "--json")
    assert status == 1
    no_rate, no_dat, missing, good = lines
    assert set(no_rate) == {"input", "error"} and "sampling rate" in no_rate["error"]
    assert set(no_dat) == {"input", "error"} and "needs the signal file 100.dat" in \
        no_dat["error"]
    assert set(missing) == {"input", "error"} and "cannot be opened" in missing["error"]
    assert set(good) >= KEYS


def test_lead_option(capsys, ecg_model, mitdb_root):
    status, (v5,), _ = run_cli(capsys, "predict", "ecg-beats", str(mitdb_root / "100"),
                               "--lead", "V5", "--json")
    assert status == 0 and v5["summary"]["lead"] == "V5"
    status, (unknown,), _ = run_cli(capsys, "predict", "ecg-beats", str(mitdb_root / "100"),
                                    "--lead", "V9", "--json")
    assert status == 1 and "no lead called 'V9'. Its leads are: MLII, V5" in unknown["error"]


def test_models_lists_the_ecg_model_with_its_headline(capsys, ecg_model):
    status, lines, _ = run_cli(capsys, "models", "--json")
    listed = {line["id"]: line for line in lines}
    assert status == 0 and listed["ecg-beats"]["modality"] == "ecg"
    assert {"S_sensitivity", "V_ppv", "accuracy"} <= set(listed["ecg-beats"]["test_metrics"])


def test_explain_option_is_refused_for_ecg(capsys, ecg_model, mitdb_root):
    status, lines, err = run_cli(capsys, "predict", "ecg-beats", str(mitdb_root / "100"),
                                 "--explain", "gradcam", "--json")
    assert status == 1 and lines == [] and "for image models" in err


def test_the_real_entry_point_prints_no_traceback(ecg_model, mitdb_root, tmp_path):
    header_only = tmp_path / "100.hea"
    header_only.write_bytes((mitdb_root / "100.hea").read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "dxcore", "predict", "ecg-beats", str(header_only), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1
    line = json.loads(result.stdout)
    assert set(line) == {"input", "error"} and "100.dat" in line["error"]
    assert "Traceback" not in result.stdout + result.stderr
