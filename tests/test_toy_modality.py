"""A modality registers itself: the toy plug-in of ``tests/toy_modality.py`` (UCR ECG200
beats), trained in seconds, runs through ``models``, ``predict --json``, ``--explain``,
``report`` and ``evaluate`` of the real command line, the drop zone's intake and the PDF
reports, with no shared file touched: none of them names a modality
(``tests/test_import_graph.py`` checks) and the toy's file format and report sections are
its registration's. ``DX_MODELS_DIR`` points at a folder that holds the toy model only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dxcore.explain import explainers_for
from dxcore.intake import group_files, predict_cases
from dxcore.pdf_report import cases_for, worklist_report
from dxcore.registry import get_card, get_model, list_cards, recipe_for
from tests import toy_modality as toy
from tests.drops import zip_of
from tests.helpers import ROOT, run_cli, run_entry_point, text_of

BEAT_KEYS = {"input", "beat", "model", "probabilities", "prediction"}
BEATS_IN_FILE = 6


@pytest.fixture
def toy_cli(toy_models_dir: Path, monkeypatch) -> Path:
    """The command line sees the toy model only."""
    monkeypatch.setenv("DX_MODELS_DIR", str(toy_models_dir))
    return toy_models_dir


@pytest.fixture
def beats_file(ecg200_test_beats, tmp_path) -> Path:
    """The first test beats without their labels, one per line, as a user would give them."""
    path = tmp_path / "beats.txt"
    path.write_bytes(toy.beats_text(ecg200_test_beats[0][:BEATS_IN_FILE]))
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


def test_held_out_accuracy_is_well_above_chance(toy_cli, ecg200_test_beats):
    """On the 100 ECG200_TEST beats, never seen in training or calibration, through
    ``predict`` and the card's decision rule. Chance is the majority class's share (0.64);
    the recipe's ``evaluate`` stored the same figure in the card."""
    beats, labels = ecg200_test_beats
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


# --- the shared surfaces, none of which names the toy ------------------------------------


def test_the_drop_zone_recognises_a_file_of_beats_by_the_toys_format(toy_cli, beats_file,
                                                                    ecg200_test_beats):
    """The toy's registered format takes its file whatever its name, before the case-table
    format would (a file of beats with commas is a table too), and the toy's model answers
    each beat as ``predict`` does; a file no format in use takes is refused in the words of
    the formats in use, the toy's included."""
    cards = [*list_cards(toy_cli), *list_cards(ROOT / "saved_models")]
    comma = ",".join(f"{value:.5f}" for value in ecg200_test_beats[0][0]) + "\n"
    found = group_files({"export": beats_file.read_bytes(), "one.csv": comma.encode(),
                         "notes.bin": b"\x00\x01"}, cards=cards)
    assert [(case.name, case.kind, case.model_id, case.rows) for case in found.cases] == [
        ("export", toy.MODALITY, toy.MODEL_ID, BEATS_IN_FILE), ("one.csv", toy.MODALITY,
                                                                toy.MODEL_ID, 1)]
    [(name, error)] = found.problems
    assert name == "notes.bin" and "a file of beats (text, 96 samples a line)" in str(error)
    model = get_model(toy.MODEL_ID, toy_cli)
    outcomes = predict_cases(found.cases, model_of=lambda model_id: model)
    assert [len(outcome.result) for outcome in outcomes] == [BEATS_IN_FILE, 1]
    direct = model.predict(beats_file)
    assert outcomes[0].result.as_json() == direct.as_json()


def test_a_pdf_report_of_a_file_of_beats_has_the_toys_sections(toy_cli, beats_file):
    """The shared layout (notice, decision rule, model, summary) around the toy's sections:
    a case per beat, the beat as the model read it, its explanation's words."""
    model = get_model(toy.MODEL_ID, toy_cli)
    cases = cases_for(model, {"beats.txt": beats_file.read_bytes()})
    pages = text_of(worklist_report(cases))
    assert len(pages) == 1 + BEATS_IN_FILE
    assert pages[0].startswith(f"Dx worklist report - {BEATS_IN_FILE} cases")
    assert f"1 beats.txt beat 1 {toy.MODEL_ID}" in pages[0]
    for number, page in enumerate(pages[1:], start=1):
        assert page.startswith(f"Dx case report - case {number}: beats.txt beat {number}")
        assert f"Beat {number} of {BEATS_IN_FILE}, {toy.SAMPLES} samples" in page
        assert "peaks at sample" in page and "Explanation (Grad-CAM, for" in page
        assert "This model has no domain guard." in page
        assert f"threshold {model.card.threshold:.3f}" in page


def test_the_cli_reports_and_reads_a_zip_of_beats_with_the_toys_format(capsys, toy_cli,
                                                                        beats_file, tmp_path):
    from dxcore.cli import main

    out = tmp_path / "beats.pdf"
    assert main(["report", toy.MODEL_ID, str(beats_file), "--out", str(out), "--no-explain"]) == 0
    assert f"{BEATS_IN_FILE} cases (0 without an answer)" in capsys.readouterr().out
    assert len(text_of(out.read_bytes())) == 1 + BEATS_IN_FILE
    archive = tmp_path / "beats.zip"
    archive.write_bytes(zip_of({"day/beats": beats_file.read_bytes(), "day/x.bin": b"\x00"}))
    status, lines, _ = run_cli(capsys, "predict", toy.MODEL_ID, str(archive), "--json")
    assert status == 1  # the file that is no file of beats
    answered = [line for line in lines if "error" not in line]
    assert [line["input"] for line in answered] == [f"{archive}/day/beats"] * BEATS_IN_FILE
    [refused] = [line for line in lines if "error" in line]
    assert refused["input"] == f"{archive}/day/x.bin"
    assert "expected a file of beats" in refused["error"]


def _card(folder: Path) -> dict:
    return get_card(toy.MODEL_ID, folder).fields
