"""A modality registers itself: the toy plug-in of ``tests/toy_modality.py`` (UCR ECG200
beats), trained in seconds, runs through ``models``, ``predict --json``, ``--explain`` and
``evaluate`` of the real command line with no core file touched. ``DX_MODELS_DIR`` points
at a folder that holds the toy model only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dxcore.explain import explainers_for
from dxcore.registry import get_card, get_model, recipe_for
from tests import toy_modality as toy
from tests.helpers import run_cli, run_entry_point

BEAT_KEYS = {"input", "beat", "model", "probabilities", "prediction"}
BEATS_IN_FILE = 6


@pytest.fixture
def toy_cli(toy_models_dir: Path, monkeypatch) -> Path:
    """The command line sees the toy model only."""
    monkeypatch.setenv("DX_MODELS_DIR", str(toy_models_dir))
    return toy_models_dir


@pytest.fixture(scope="module")
def test_beats(dataset) -> tuple[np.ndarray, np.ndarray]:
    return toy.read_ucr(dataset("ecg200") / "ECG200_TEST.txt")


@pytest.fixture
def beats_file(test_beats, tmp_path) -> Path:
    """The first test beats without their labels, one per line, as a user would give them."""
    path = tmp_path / "beats.txt"
    np.savetxt(path, test_beats[0][:BEATS_IN_FILE], fmt="%.7e")
    return path


def test_models_json_lists_the_plug_in_model_with_its_test_metrics(capsys, toy_cli):
    status, lines, _ = run_cli(capsys, "models", "--json")
    assert status == 0
    assert [(line["id"], line["modality"]) for line in lines] == [(toy.MODEL_ID, toy.MODALITY)]
    assert {"auc", "accuracy"} <= set(lines[0]["test_metrics"])
    assert lines[0]["targets_missed"] == []


def test_predict_json_gives_one_object_per_beat_under_the_cards_rule(capsys, toy_cli,
                                                                   beats_file):
    status, lines, err = run_cli(capsys, "predict", toy.MODEL_ID, str(beats_file), "--json")
    assert status == 0, err
    assert [line["beat"] for line in lines] == list(range(1, BEATS_IN_FILE + 1))
    for line in lines:
        assert set(line) == BEAT_KEYS and line["input"] == str(beats_file)
        assert list(line["probabilities"]) == toy.CLASS_NAMES
        assert sum(line["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    threshold = get_card(toy.MODEL_ID, toy_cli).threshold
    called = [line["prediction"] == toy.POSITIVE for line in lines]
    assert called == [line["probabilities"][toy.POSITIVE] >= threshold for line in lines]


@pytest.mark.parametrize("method", explainers_for(toy.MODALITY))
def test_explain_adds_each_beats_explanation(capsys, toy_cli, beats_file, method):
    status, lines, err = run_cli(capsys, "predict", toy.MODEL_ID, str(beats_file), "--explain",
                                 method, "--json")
    assert status == 0, err
    for line in lines:
        assert line["explanation"]["method"] == method
        assert 0 <= line["explanation"]["peak_sample"] < toy.SAMPLES


def test_a_malformed_line_is_an_error_object_naming_it(capsys, toy_cli, beats_file, tmp_path):
    short = tmp_path / "short.txt"
    rows = beats_file.read_text().splitlines()
    short.write_text(rows[0] + "\n" + " ".join(rows[1].split()[:-1]) + "\n")
    status, lines, _ = run_cli(capsys, "predict", toy.MODEL_ID, str(short), str(beats_file),
                               "--json")
    assert status == 1  # one file failed, the other still ran
    assert lines[0] == {"input": str(short), "code": "invalid_input",
                        "error": "Line 2 has 95 values; a beat has 96 samples."}
    assert len(lines) == 1 + BEATS_IN_FILE and "error" not in lines[1]


def test_held_out_accuracy_is_well_above_chance(toy_cli, test_beats):
    """On the 100 ECG200_TEST beats, never seen in training or calibration, through
    ``predict`` and the card's decision rule. Chance is the majority class's share (0.64);
    the recipe's ``evaluate`` stored the same figure in the card."""
    beats, labels = test_beats
    result = get_model(toy.MODEL_ID).predict(beats)
    accuracy = float(np.mean((result.decisions == toy.POSITIVE) == labels.astype(bool)))
    chance = max(labels.mean(), 1 - labels.mean())
    assert accuracy >= chance + 0.15  # 0.90 with seed 0
    stored = _card(toy_cli)["test_metrics"]
    assert stored["accuracy"]["value"] == pytest.approx(accuracy)
    assert stored["auc"]["value"] >= 0.9
    assert recipe_for(toy.MODEL_ID) is toy  # the plug-in's recipe was registered with it


def test_a_process_that_never_imported_the_plug_in_refuses_it_in_one_sentence(toy_cli,
                                                                             beats_file):
    """No plug-in discovery: ``python -m dxcore`` knows only the built-in modalities (see
    CONTRIBUTING.md), so a plug-in's card is listed but refused when used; the refusal
    must still be one sentence."""
    refused = run_entry_point("predict", toy.MODEL_ID, str(beats_file), "--json")
    assert refused.returncode == 1 and refused.stdout == ""
    assert f"Unknown modality '{toy.MODALITY}'" in refused.stderr
    assert "Traceback" not in refused.stderr


def _card(folder: Path) -> dict:
    return get_card(toy.MODEL_ID, folder).fields
