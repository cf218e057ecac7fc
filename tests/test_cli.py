"""``python -m dxcore``: the same JSON contract, error objects and exit codes for every
model kind (images, ECG records, tables of cases)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from dxcore.cards import ModelCard
from dxcore.cli import main, models_markdown
from dxcore.ecg import load_record
from dxcore.registry import list_cards
from tests.helpers import ROOT, run_cli, run_entry_point

IMAGE_KEYS = {"input", "model", "probabilities", "prediction", "prediction_set", "coverage"}
ECG_KEYS = {"input", "model", "fs", "beats", "summary", "rhythm"}
CASE_KEYS = {"input", "row", "model", "probabilities", "prediction", "prediction_set",
             "coverage", "atypicality"}
HEADER = "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal,comment\n"
ROWS = ["67,1,4,160,286,0,2,108,1,1.5,2,3,3,first visit\n",
        "430,1,4,20,286,0,2,108,1,1.5,2,3,3,typo\n",
        "41,0,2,,,?,2,172,0,1.4,1,0,3,gaps\n"]


@pytest.fixture
def cases_csv(tmp_path) -> Path:
    path = tmp_path / "cases.csv"
    path.write_text(HEADER + "".join(ROWS))
    return path


@pytest.fixture(scope="module")
def csv_250(mitdb_root, tmp_path_factory) -> Path:
    """The first minute of record 100 resampled to 250 Hz, as a CSV without time column."""
    record = load_record(mitdb_root / "100")
    signals = resample_poly(record.signals[:360 * 60].astype(float), 25, 36, axis=0)
    path = tmp_path_factory.mktemp("csv") / "minute.csv"
    np.savetxt(path, signals, delimiter=",", header="MLII,V5", comments="", fmt="%.4f")
    return path


# --- models -------------------------------------------------------------------------


def test_models_json_lists_every_shipped_model_with_its_headline(capsys, cxr_model, ecg_model):
    status, lines, _ = run_cli(capsys, "models", "--json")
    assert status == 0
    listed = {line["id"]: line for line in lines}
    assert set(listed["cxr-pneumonia"]["test_metrics"]) >= {"auc", "accuracy"}
    assert listed["ecg-beats"]["modality"] == "ecg"
    assert {"S_sensitivity", "V_ppv", "accuracy"} <= set(listed["ecg-beats"]["test_metrics"])


def readme_models_table() -> str:
    """The README's models table: the lines between its two marker comments."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("<!-- models table"))
    end = lines.index("<!-- end of models table -->")
    return "\n".join(lines[start + 1:end])


def test_the_readme_models_table_is_what_the_shipped_cards_give():
    """One figure everywhere: the README's table is generated from the cards, never typed."""
    expected = models_markdown(list_cards(ROOT / "saved_models"))
    assert readme_models_table() == expected, (
        "README.md's models table differs from the model cards: replace it (between its "
        "marker comments) with the output of `python -m dxcore models --markdown`")


def test_models_markdown_prints_the_table(capsys, monkeypatch):
    monkeypatch.delenv("DX_MODELS_DIR", raising=False)
    assert main(["models", "--markdown"]) == 0
    assert capsys.readouterr().out.rstrip("\n") == models_markdown(list_cards())


def test_the_models_table_marks_missed_targets_and_metrics_not_reported():
    card = ModelCard({"id": "toy", "task": "A | B", "test_metrics": {
        "accuracy": {"value": 0.9, "ci95": [0.8, 0.95]}, "misclassified": {"value": 3},
        "n": {"value": 30}}, "targets": {"accuracy": {"at_least": 0.92},
                                         "misclassified": {"at_most": 3}}}, Path("."))
    [header, _, row] = models_markdown([card]).splitlines()
    assert header == ("| model | task | test AUC | test accuracy | sensitivity | specificity "
                      "| targets |")
    assert row == ("| `toy` | A \\| B | — | 0.900 (0.800-0.950), 3 of 30 wrong | — | — | "
                   "Accuracy >= 0.92 **missed**; Wrongly classified test cases <= 3 met |")


def test_unknown_model_is_one_clear_line_and_exit_one(capsys):
    status, lines, err = run_cli(capsys, "predict", "no-such-model", "x.png", "--json")
    assert status == 1 and lines == []
    assert "no model called 'no-such-model'" in err and "Traceback" not in err


def test_an_unknown_recipe_is_refused_before_any_training(capsys, tmp_path):
    status, _, err = run_cli(capsys, "train", "cxr-pneumonia", "--recipe", "v9",
                             "--out", str(tmp_path / "cxr-pneumonia"))
    assert status == 1 and "no recipe named 'v9'" in err and "v1, v3" in err
    status, _, err = run_cli(capsys, "train", "heart-disease", "--recipe", "v3",
                             "--out", str(tmp_path / "heart-disease"))
    assert status == 1 and "no recipe named 'v3'" in err
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written


def test_compiling_a_network_of_two_inputs_is_refused(capsys, ecg_model):
    status, _, err = run_cli(capsys, "compile", "ecg-beats")
    assert status == 1 and "reads 2 inputs" in err and "Traceback" not in err
    assert not (ecg_model.card.folder / "model.tflite").exists()


# --- images -------------------------------------------------------------------------


def test_predict_json_one_object_per_image_and_errors_do_not_stop_the_rest(
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
    assert set(good) == IMAGE_KEYS
    assert good["model"] == "cxr-pneumonia"
    assert set(good["probabilities"]) == {"NORMAL", "PNEUMONIA"}
    assert sum(good["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert good["prediction"] in good["probabilities"]
    assert again == good  # deterministic
    assert set(bad) == {"input", "error", "code"} and bad["code"] == "invalid_input"
    assert "not an image" in bad["error"]
    assert set(gone) == {"input", "error", "code"} and "cannot be opened" in gone["error"]


def test_an_adults_dicom_is_refused_with_the_out_of_population_code(
        capsys, cxr_model, train_xray_path, tmp_path):
    """DICOM files made here from a training child's film, one stating an adult's age."""
    from PIL import Image

    from tests.images.test_reader import dicom_bytes

    pixels = np.asarray(Image.open(train_xray_path).convert("L"))
    adult, child = tmp_path / "adult.dcm", tmp_path / "child.dcm"
    adult.write_bytes(dicom_bytes(pixels, PatientAge="045Y"))
    child.write_bytes(dicom_bytes(pixels, PatientAge="004Y"))
    status, lines, err = run_cli(capsys, "predict", "cxr-pneumonia", str(adult), str(child),
                                 "--json")
    assert status == 1 and "Traceback" not in err and "045Y" not in err
    refusal, answer = lines
    assert refusal == {"input": str(adult), "code": "out_of_population", "reason": "dicom_age",
                       "error": refusal["error"]}
    assert refusal["error"].startswith("This film is of a 45-year-old patient")
    assert set(answer) == IMAGE_KEYS


@pytest.mark.parametrize("command", ["calibrate", "evaluate"])
def test_a_model_without_a_population_guard_says_so_before_any_work(capsys, heart_model,
                                                                    command):
    status, _, err = run_cli(capsys, command, "heart-disease", "--population")
    assert status == 1
    assert err.strip() == f"Error: The model 'heart-disease' has no population guard to " \
                          f"{'fit' if command == 'calibrate' else 'measure'}."


def test_predict_exit_zero_when_every_input_succeeds(capsys, cxr_model, test_xray_path):
    status, lines, _ = run_cli(capsys, "predict", "cxr-pneumonia", str(test_xray_path), "--json")
    assert status == 0 and len(lines) == 1 and "error" not in lines[0]


def test_image_explanation_writes_the_overlay(capsys, cxr_model, test_xray_path, tmp_path):
    status, (line,), _ = run_cli(capsys, "predict", "cxr-pneumonia", str(test_xray_path),
                                 "--explain", "gradcam++", "--out", str(tmp_path), "--json")
    assert status == 0
    assert line["explanation"]["method"] == "gradcam++"
    assert Path(line["explanation"]["overlay"]).is_file()
    assert 0 <= line["explanation"]["peak_xy"][0] < 224


def test_an_unknown_explanation_method_fails_once_naming_the_choices(capsys, cxr_model,
                                                                    test_xray_path):
    status, lines, err = run_cli(capsys, "predict", "cxr-pneumonia", str(test_xray_path),
                                 "--explain", "ig", "--json")
    assert status == 1 and lines == []
    assert "gradcam++, scorecam, smoothgrad" in err


# --- ECG records --------------------------------------------------------------------


def test_wfdb_name_and_hea_path_give_the_same_result(capsys, ecg_model, mitdb_root):
    status, (by_name, by_header), _ = run_cli(
        capsys, "predict", "ecg-beats", str(mitdb_root / "100"), str(mitdb_root / "100.hea"),
        "--json")
    assert status == 0
    assert set(by_name) == ECG_KEYS and by_name["model"] == "ecg-beats" and by_name["fs"] == 360
    assert by_name["beats"] == by_header["beats"]
    beat = by_name["beats"][0]
    assert set(beat) == {"sample", "prediction", "probabilities", "prediction_set"}
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
    assert status == 0 and set(line) >= ECG_KEYS and line["fs"] == 250
    samples = [b["sample"] for b in line["beats"]]
    assert max(samples) < 250 * 60 and samples == sorted(samples)
    assert line["summary"]["beat_positions"] == "detected (XQRS and a search-back)"
    assert 70 <= len(samples) <= 80  # record 100 beats about 75 times a minute
    assert any("millivolts" in note for note in line["notes"])


def test_a_csv_without_its_rate_names_the_option_on_the_command_line(capsys, ecg_model,
                                                                     tmp_path):
    """The message is plain on the page; the command line adds the option that gives it."""
    from dxcore.cli import main
    from tests.helpers import synthetic_ecg

    path = tmp_path / "strip.csv"
    np.savetxt(path, synthetic_ecg(), delimiter=",", header="MLII,V5", comments="")
    assert main(["predict", "ecg-beats", str(path)]) == 1
    assert "enter the sampling rate it was recorded at, in Hz. (--fs HZ)" in \
        capsys.readouterr().out


def test_ecg_errors_are_objects_and_do_not_stop_the_rest(capsys, ecg_model, mitdb_root,
                                                         csv_250, tmp_path):
    header_only = tmp_path / "100.hea"
    header_only.write_bytes((mitdb_root / "100.hea").read_bytes())
    status, lines, _ = run_cli(capsys, "predict", "ecg-beats", str(csv_250),
                               str(header_only), str(tmp_path / "missing"),
                               str(mitdb_root / "100"), "--json")
    assert status == 1
    no_rate, no_dat, missing, good = lines
    assert set(no_rate) == {"input", "error", "code", "needs"} and no_rate["needs"] == "fs"
    assert "sampling rate" in no_rate["error"]
    assert set(no_dat) == {"input", "error", "code"} and "needs the signal file 100.dat" in \
        no_dat["error"]
    assert set(missing) == {"input", "error", "code"} and "cannot be opened" in missing["error"]
    assert set(good) >= ECG_KEYS


def test_lead_option(capsys, ecg_model, mitdb_root):
    status, (v5,), _ = run_cli(capsys, "predict", "ecg-beats", str(mitdb_root / "100"),
                               "--lead", "V5", "--json")
    assert status == 0 and v5["summary"]["lead"] == "V5"
    status, (unknown,), _ = run_cli(capsys, "predict", "ecg-beats", str(mitdb_root / "100"),
                                    "--lead", "V9", "--json")
    assert status == 1 and "no lead called 'V9'. Its leads are: MLII, V5" in unknown["error"]


def test_ecg_explanation_of_the_beats_not_called_n(capsys, ecg_model, mitdb_root):
    status, (line,), _ = run_cli(capsys, "predict", "ecg-beats", str(mitdb_root / "100"),
                                 "--explain", "gradcam", "--json")
    assert status == 0
    explained = [beat for beat in line["beats"] if "explanation" in beat]
    assert explained and all(beat["prediction"] != "N" for beat in explained)
    assert len(explained) == sum(beat["prediction"] != "N" for beat in line["beats"])
    peaks = [beat["explanation"]["peak_s"] for beat in explained]
    assert all(-0.25 <= peak <= 0.47 for peak in peaks)  # within the beat's window


# --- tables of cases ----------------------------------------------------------------


def test_one_object_per_row_and_an_error_object_for_the_bad_row(capsys, heart_model,
                                                                  cases_csv):
    status, lines, err = run_cli(capsys, "predict", "heart-disease", str(cases_csv), "--json")
    assert status == 1  # a row failed
    assert [line["row"] for line in lines] == [1, 2, 3]
    good, bad, gaps = lines
    assert set(good) == CASE_KEYS and good["input"] == str(cases_csv)
    assert good["model"] == "heart-disease"
    assert set(good["probabilities"]) == {"no heart disease", "heart disease"}
    assert good["prediction"] in good["probabilities"]
    assert isinstance(good["atypicality"], float) and 0 <= good["atypicality"] <= 100
    assert set(bad) == {"input", "row", "error", "code"} and bad["code"] == "invalid_input"
    assert bad["error"].startswith("Row 2, Age (years): 430 is outside the plausible range")
    assert "Resting blood pressure (mm Hg): 20" in bad["error"]
    assert set(gaps) == CASE_KEYS | {"notes"} and "trestbps, chol, fbs" in gaps["notes"][0]
    assert "Ignored 1 column this model does not use: comment." in err  # stdout stays JSON


def test_json_input_works_the_same_way(capsys, heart_model, tmp_path):
    path = tmp_path / "cases.json"
    case = dict(zip(HEADER.split(",")[:13], ROWS[0].split(",")[:13], strict=True))
    path.write_text(json.dumps([{**case, "chol": None}, {**case, "age": "sixty"}]))
    status, (good, bad), _ = run_cli(capsys, "predict", "heart-disease", str(path), "--json")
    assert status == 1
    assert set(good) >= CASE_KEYS and good["row"] == 1
    assert bad == {"input": str(path), "row": 2, "code": "invalid_input",
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
    assert set(lines[0]) == {"input", "error", "code"} and "not valid JSON" in lines[0]["error"]
    assert [line["row"] for line in lines[1:]] == [1, 2, 3]


def test_case_explanation_sentences(capsys, heart_model, cases_csv):
    _, lines, _ = run_cli(capsys, "predict", "heart-disease", str(cases_csv), "--explain",
                          "ig", "--json")
    explanation = lines[0]["explanation"]
    assert len(explanation["sentences"]) == 5
    assert all("the probability of heart disease" in s for s in explanation["sentences"])
    assert "explanation" not in lines[1]  # the refused row has nothing to explain


def test_text_mode_prints_one_line_per_result(capsys, heart_model, cases_csv):
    from dxcore.cli import main

    assert main(["predict", "heart-disease", str(cases_csv)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all(line.startswith(f"{cases_csv}: ") for line in out)
    assert "atypicality" in out[0] and "Row 2, Age (years)" in out[1]


# --- the real entry point -----------------------------------------------------------


def test_the_real_entry_point_prints_no_traceback(cxr_model, ecg_model, heart_model,
                                                  mitdb_root, cases_csv, tmp_path):
    """Real ``python -m dxcore`` processes: clean stdout (JSON only), no traceback."""
    broken = tmp_path / "broken.jpeg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)  # a JPEG cut off after its header
    header_only = tmp_path / "100.hea"
    header_only.write_bytes((mitdb_root / "100.hea").read_bytes())
    for model_id, path, check in [
            ("cxr-pneumonia", broken, lambda lines: set(lines[0]) == {"input", "error", "code"}),
            ("ecg-beats", header_only, lambda lines: "100.dat" in lines[0]["error"]),
            ("heart-disease", cases_csv, lambda lines: [x["row"] for x in lines] == [1, 2, 3])]:
        result = run_entry_point("predict", model_id, str(path), "--json")
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert result.returncode == 1 and check(lines), model_id
        assert "Traceback" not in result.stdout + result.stderr


def test_the_real_entry_point_prints_no_tensorflow_start_up_lines(cxr_model, test_xray_path):
    """TensorFlow's native lines (CUDA drivers, CPU instructions) never reach the terminal:
    stderr holds our own words only."""
    result = run_entry_point("predict", "cxr-pneumonia", str(test_xray_path))
    assert result.returncode == 0
    assert result.stderr == ""
    assert "cuda" not in result.stdout.lower()


def test_out_naming_an_existing_file_is_one_clear_error(capsys, cxr_model, test_xray_path,
                                                        tmp_path):
    existing = tmp_path / "overlays"
    existing.write_text("not a folder")
    status, lines, err = run_cli(capsys, "predict", "cxr-pneumonia", str(test_xray_path),
                                 "--explain", "gradcam++", "--out", str(existing))
    assert status == 1 and lines == []
    assert err == f"Error: --out names the file {existing}; give a folder for the overlays " \
                  "(it is created if missing).\n"
    assert existing.read_text() == "not a folder"  # nothing overwritten


# --- issue 11: terminal safety and one bad input among several ------------------------

ESCAPES = "\x1b[2J\x1b[H FAKE RESULT"


def test_text_mode_and_stderr_carry_no_terminal_escape_codes(capsys, heart_model, tmp_path):
    # The escape codes are in the file's name (on every stdout line), a column name (the
    # "ignored column" note on stderr) and a cell the row's error message echoes.
    path = tmp_path / f"cases{ESCAPES}.csv"
    header = HEADER.strip().replace("comment", f"case id{ESCAPES}")
    path.write_text(f"{header}\n{ROWS[0].replace('first visit', ESCAPES)}"
                    f"{ROWS[0].replace('67', ESCAPES, 1)}")
    from dxcore.cli import main

    assert main(["predict", "heart-disease", str(path)]) == 1
    captured = capsys.readouterr()
    for stream in (captured.out, captured.err):
        assert "\x1b" not in stream and "FAKE RESULT" in stream
    assert len(captured.out.splitlines()) == 2  # one line per row: no line was faked
    assert "must be a number" in captured.out


def test_an_error_message_on_stderr_carries_no_escape_codes(capsys, heart_model, tmp_path):
    from dxcore.cli import main

    existing = tmp_path / f"out{ESCAPES}\x9b31m"
    existing.write_text("")
    assert main(["predict", "heart-disease", "x.csv", "--out", str(existing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: --out names the file") and "\x1b" not in err
    assert "\x9b" not in err


def test_an_ecg_lead_name_with_escape_codes_is_shown_harmlessly(capsys, ecg_model,
                                                                mitdb_root, tmp_path):
    from tests.helpers import real_ecg

    path = tmp_path / "ecg.csv"
    lead = real_ecg(mitdb_root, seconds=20.0)[:, 0]
    path.write_text(f"lead{ESCAPES}\n" + "\n".join(f"{v:.4f}" for v in lead) + "\n")
    from dxcore.cli import main

    main(["predict", "ecg-beats", str(path), "--fs", "360"])
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err
    assert "FAKE RESULT" in captured.err  # the note naming the lead analysed


def _broken_and_good(kind: str, tmp_path: Path, mitdb_root: Path | None,
                     xray: Path | None) -> tuple[str, Path, Path]:
    """A model, an unreadable input of its kind and a good one."""
    if kind == "image":
        bad = tmp_path / "broken.jpeg"
        bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
        return "cxr-pneumonia", bad, xray
    if kind == "ecg":
        bad = tmp_path / "100"
        (tmp_path / "100.hea").write_bytes((mitdb_root / "100.hea").read_bytes())
        (tmp_path / "100.dat").write_bytes(b"\x00" * 3)  # one frame: far too short
        return "ecg-beats", bad, mitdb_root / "100"
    bad, good = tmp_path / "broken.csv", tmp_path / "good.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    good.write_text(HEADER + ROWS[0])
    return "heart-disease", bad, good


@pytest.mark.parametrize("kind", ["image", "ecg", "cases"])
def test_one_unreadable_file_first_and_the_second_still_runs(kind, request, capsys,
                                                             tmp_path):
    needs = {"image": ("cxr_model", "test_xray_path"), "ecg": ("ecg_model", "mitdb_root"),
             "cases": ("heart_model",)}[kind]
    fixtures = {name: request.getfixturevalue(name) for name in needs}
    model_id, bad, good = _broken_and_good(kind, tmp_path, fixtures.get("mitdb_root"),
                                           fixtures.get("test_xray_path"))
    status, lines, err = run_cli(capsys, "predict", model_id, str(bad), str(good), "--json")
    assert status == 1 and "Traceback" not in err
    first, *rest = lines
    assert set(first) == {"input", "error", "code"} and first["input"] == str(bad)
    assert rest and all("error" not in line and line["input"] == str(good) for line in rest)
    assert all("probabilities" in line or "beats" in line for line in rest)


# --- folders and ZIP files ----------------------------------------------------------------


def test_predict_reads_a_folder_with_its_subfolders_in_name_order(capsys, cxr_model, tmp_path,
                                                                  test_xray_bytes):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.jpeg").write_bytes(test_xray_bytes)
    (tmp_path / "a.jpeg").write_bytes(test_xray_bytes)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.jpeg").write_bytes(b"skipped")
    status, lines, _ = run_cli(capsys, "predict", "cxr-pneumonia", str(tmp_path), "--json")
    assert status == 1  # one input could not be read
    assert [Path(line["input"]).relative_to(tmp_path).as_posix() for line in lines] == [
        "a.jpeg", "b/two.jpeg", "notes.txt"]
    assert set(lines[0]) == IMAGE_KEYS and lines[0]["probabilities"] == lines[1]["probabilities"]
    assert lines[2]["code"] == "invalid_input"


def test_predict_reads_a_zip_in_memory_and_refuses_a_zip_inside_it(capsys, cxr_model, tmp_path,
                                                                   test_xray_bytes):
    from tests.drops import zip_of

    archive = tmp_path / "day.zip"
    archive.write_bytes(zip_of({"scans/one.jpeg": test_xray_bytes,
                                "inner.zip": zip_of({"x.jpeg": test_xray_bytes})}))
    status, lines, _ = run_cli(capsys, "predict", "cxr-pneumonia", str(archive), "--json")
    assert status == 1
    by_input = {line["input"]: line for line in lines}
    assert set(by_input) == {f"{archive}/scans/one.jpeg", f"{archive}/inner.zip"}
    assert set(by_input[f"{archive}/scans/one.jpeg"]) == IMAGE_KEYS
    assert "ZIP inside a ZIP" in by_input[f"{archive}/inner.zip"]["error"]
    assert not list(tmp_path.glob("*/"))  # nothing unpacked to disk


def test_predict_reads_wfdb_records_from_a_folder_and_a_zip(capsys, ecg_model, mitdb_root,
                                                            tmp_path):
    from tests.drops import short_record, zip_of

    record = short_record(mitdb_root, 20)
    folder = tmp_path / "records"
    folder.mkdir()
    for name, data in record.items():
        (folder / name).write_bytes(data)
    (tmp_path / "records.zip").write_bytes(zip_of({f"day/{n}": d for n, d in record.items()}))
    status, lines, _ = run_cli(capsys, "predict", "ecg-beats", str(folder),
                               str(tmp_path / "records.zip"), "--json")
    assert status == 0
    assert [line["input"] for line in lines] == [str(folder / "100.hea"),
                                                 f"{tmp_path / 'records.zip'}/day/100"]
    assert lines[0]["beats"] == lines[1]["beats"]


# --- adapting to the site's prevalence ----------------------------------------------------


@pytest.fixture(scope="module")
def training_folder(dataset, tmp_path_factory) -> Path:
    """A folder of 20 images of the official train folder (14 pneumonia, 6 normal): links
    to the files, which are read in place."""
    train = dataset("chest_xray") / "train"
    folder = tmp_path_factory.mktemp("site")
    for name, count in (("PNEUMONIA", 14), ("NORMAL", 6)):
        for path in sorted((train / name).glob("*.jpeg"))[:count]:
            (folder / path.name).symlink_to(path)
    return folder


def test_adapt_gives_the_batch_prior_first_then_every_answer_adapted(capsys, cxr_model,
                                                                      training_folder):
    status, (head, *adapted), _ = run_cli(capsys, "predict", "cxr-pneumonia",
                                          str(training_folder), "--adapt", "--json")
    assert status == 0 and len(adapted) == 20
    prior = head["site_prior"]
    assert head["model"] == "cxr-pneumonia" and prior["source"] == "batch"
    assert prior["answers"] == 20 and head["training_prior"]["PNEUMONIA"] == pytest.approx(
        0.742, abs=0.001)
    low, high = prior["ci95"]["PNEUMONIA"]
    assert low <= prior["shares"]["PNEUMONIA"] <= high and high - low < 0.6

    _, plain, _ = run_cli(capsys, "predict", "cxr-pneumonia", str(training_folder), "--json")
    assert all(set(line) == IMAGE_KEYS for line in plain)  # without --adapt: unchanged
    shift = cxr_model.label_shift
    from dxcore.label_shift import SitePrior

    site = SitePrior(prior["shares"], "batch")
    for line, unadapted in zip(adapted, plain, strict=True):
        assert set(line) == IMAGE_KEYS | {"site_prior", "unadapted_probabilities"}
        assert line["input"] == unadapted["input"]
        assert line["prediction"] == unadapted["prediction"]
        assert line["unadapted_probabilities"] == unadapted["probabilities"]
        assert line["site_prior"]["shares"] == prior["shares"]
        expected = shift.adapted(np.array([list(unadapted["probabilities"].values())]), site)
        assert list(line["probabilities"].values()) == pytest.approx(expected[0].tolist(),
                                                                    abs=1e-3)


def test_adapt_in_text_says_the_prior_in_words(capsys, cxr_model, training_folder):
    from dxcore.cli import main

    assert main(["predict", "cxr-pneumonia", str(training_folder), "--adapt"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("site prior: about ") and "% pneumonia (95% interval " in first
    assert first.endswith("the model was trained on 74%")


def test_adapt_is_refused_for_a_model_without_the_calibration(capsys, heart_model, cases_csv):
    status, lines, err = run_cli(capsys, "predict", "heart-disease", str(cases_csv), "--adapt")
    assert status == 1 and not lines
    assert "no label-shift calibration" in err and "Traceback" not in err
