"""The bad-input catalogue of model cards: a copy of the shipped chest X-ray model (card,
weights, domain and population guards, test report) in a temporary models folder, one fault
each, run through what a page does (``get_model(id).predict`` of an upload, the registry
reading every card first); a subset also through ``python -m dxcore models`` and ``predict``.

Nothing in ``saved_models/`` is changed: every case works on its own copy.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import pytest

from dxcore.cards import CARD_FILE, sha256_of
from dxcore.registry import clear_cache, get_model
from tests.catalogue import BadInput, assert_refused, ids
from tests.catalogue.test_images import xray_png
from tests.helpers import run_cli
from tests.test_cards import rewrite_config

MODEL_ID = "cxr-pneumonia"
SHIPPED = Path(__file__).resolve().parents[2] / "saved_models" / MODEL_ID
NAMED_FILES = ("model.keras", "model.tflite", "domain_guard.npz", "population_guard.npz",
               "test_report.json")

Fault = Callable[[dict[str, Any], Path], None]


def models_folder(fault: Fault, card_text: str | None = None) -> Path:
    """A temporary models folder holding a copy of the shipped model with ``fault`` applied
    to its card (a dict) and its folder; ``card_text`` replaces the card's text outright."""
    if not SHIPPED.is_dir():
        pytest.skip(f"the shipped model {MODEL_ID} is not in saved_models/")
    root = Path(tempfile.mkdtemp(prefix="dx-card-case-"))
    folder = root / MODEL_ID
    folder.mkdir()
    for name in NAMED_FILES:
        shutil.copy(SHIPPED / name, folder / name)
    card = json.loads((SHIPPED / CARD_FILE).read_text())
    fault(card, folder)
    (folder / CARD_FILE).write_text(card_text if card_text is not None else json.dumps(card))
    return root


def setting(path: str, value: Any) -> Fault:
    """The fault of the card field ``path`` (dotted) set to ``value``."""
    *parents, last = path.split(".")

    def fault(card: dict[str, Any], folder: Path) -> None:
        for key in parents:
            card = card[key]
        card[last] = value
    return fault


def removing(key: str) -> Fault:
    return lambda card, folder: card.pop(key)


def linked_outside(name: str) -> Fault:
    """``name`` in the model's folder becomes a link to a copy outside it."""
    def fault(card: dict[str, Any], folder: Path) -> None:
        outside = folder.parent / "elsewhere"
        outside.mkdir(exist_ok=True)
        (folder / name).rename(outside / name)
        (folder / name).symlink_to(outside / name)
    return fault


def hostile_weights(edit_layer: Callable[[dict], None] | None = None) -> Fault:
    """The weights replaced by a file whose checksum the card states: a network ending in a
    Lambda layer (``edit_layer`` None), or the shipped network with its last layer's config
    changed by ``edit_layer``."""
    def fault(card: dict[str, Any], folder: Path) -> None:
        weights = folder / card["weights_file"]
        if edit_layer is None:
            inputs = keras.Input((8,))
            keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs)).save(weights)
        else:
            rewrite_config(SHIPPED / card["weights_file"], weights, edit_layer)
        card["weights_sha256"] = sha256_of(weights)
    return fault


def to_tfsm_layer(layer: dict) -> None:
    layer.update(module="keras.layers", class_name="TFSMLayer", registered_name=None,
                 config={"filepath": "/tmp", "call_endpoint": "serve", "name": "tfsm"})


def to_os_system(layer: dict) -> None:
    layer.update(module="os", class_name="system", registered_name=None)


def flip_a_byte(name: str) -> Fault:
    def fault(card: dict[str, Any], folder: Path) -> None:
        content = bytearray((folder / name).read_bytes())
        content[len(content) // 2] ^= 0xFF
        (folder / name).write_bytes(bytes(content))
    return fault


def deleting(name: str) -> Fault:
    return lambda card, folder: (folder / name).unlink()


def unchanged(card: dict[str, Any], folder: Path) -> None:
    """No fault in the card itself (the case replaces the card's text)."""


def field(name: str) -> str:
    return f"field '{name}'"


CARD_CASES = [
    BadInput("class-names-a-string", lambda: models_folder(setting("class_names", "NORMAL")),
             expect=field("class_names")),
    BadInput("class-names-one-class", lambda: models_folder(setting("class_names", ["NORMAL"])),
             expect=field("class_names")),
    BadInput("threshold-a-string", lambda: models_folder(
        setting("runtime.decision.threshold", "0.27")), expect=field("runtime.decision.threshold")),
    BadInput("threshold-above-one", lambda: models_folder(
        setting("runtime.decision.threshold", 1.5)), expect=field("runtime.decision.threshold")),
    BadInput("side-as-text", lambda: models_folder(setting("runtime.input.side", "abc")),
             expect=field("runtime.input.side")),
    BadInput("side-zero", lambda: models_folder(setting("runtime.input.side", 0)),
             expect=field("runtime.input.side")),
    BadInput("side-negative", lambda: models_folder(setting("runtime.input.side", -128)),
             expect=field("runtime.input.side")),
    BadInput("unknown-normalisation", lambda: models_folder(
        setting("runtime.input.normalization", "minmax")),
        expect=field("runtime.input.normalization")),
    BadInput("temperature-zero", lambda: models_folder(
        setting("runtime.calibration_temperature", 0)),
        expect=field("runtime.calibration_temperature")),
    BadInput("unknown-modality", lambda: models_folder(setting("modality", "ultrasound")),
             expect="Unknown modality 'ultrasound' (field 'modality'"),
    BadInput("modality-a-number", lambda: models_folder(setting("modality", 7)),
             expect=field("modality")),
    BadInput("weights-in-a-parent-folder", lambda: models_folder(
        setting("weights_file", "../../elsewhere.keras")), expect=field("weights_file")),
    BadInput("weights-at-an-absolute-path", lambda: models_folder(
        setting("weights_file", "/tmp/elsewhere.keras")), expect=field("weights_file")),
    BadInput("weights-linked-outside", lambda: models_folder(linked_outside("model.keras")),
             expect="field 'weights_file': 'model.keras' leads outside"),
    BadInput("guard-parameters-in-a-parent-folder", lambda: models_folder(
        setting("runtime.domain_guard.parameters_file", "../domain_guard.npz")),
        expect=field("runtime.domain_guard.parameters_file")),
    BadInput("guard-parameters-linked-outside", lambda: models_folder(
        linked_outside("domain_guard.npz")),
        expect="field 'runtime.domain_guard.parameters_file': 'domain_guard.npz' leads outside"),
    BadInput("population-parameters-in-a-parent-folder", lambda: models_folder(setting(
        "runtime.population.image_guard.parameters_file", "../population_guard.npz")),
        expect=field("runtime.population.image_guard.parameters_file")),
    BadInput("population-parameters-linked-outside", lambda: models_folder(
        linked_outside("population_guard.npz")),
        expect="field 'runtime.population.image_guard.parameters_file': "
               "'population_guard.npz' leads outside"),
    BadInput("population-age-limit-not-a-number", lambda: models_folder(
        setting("runtime.population.adult_age_years", "eighteen")),
        expect=field("runtime.population.adult_age_years")),
    BadInput("test-report-at-an-absolute-path", lambda: models_folder(
        setting("test_report.file", "/etc/test_report.json")), expect=field("test_report.file")),
    BadInput("test-report-linked-outside", lambda: models_folder(
        linked_outside("test_report.json")), expect=field("test_report.file")),
    BadInput("training-log-in-a-parent-folder", lambda: models_folder(
        setting("training", {"log_file": "..\\log.json"})), expect=field("training.log_file")),
    BadInput("card-not-json", lambda: models_folder(unchanged, '{"id": "cxr-pneumonia",'),
             expect="cannot be read"),
    BadInput("card-a-json-list", lambda: models_folder(unchanged, "[]"),
             expect="is not a JSON object"),
    BadInput("card-without-schema-version", lambda: models_folder(removing("schema_version")),
             expect="has no schema_version"),
    BadInput("card-of-a-later-format", lambda: models_folder(setting("schema_version", "3.0")),
             expect="has schema_version '3.0'"),
    BadInput("weights-missing", lambda: models_folder(deleting("model.keras")),
             expect="are missing"),
    BadInput("weights-changed", lambda: models_folder(flip_a_byte("model.keras")),
             expect="checksum mismatch"),
    BadInput("compiled-network-missing", lambda: models_folder(deleting("model.tflite")),
             expect="compiled model file of 'cxr-pneumonia' is missing"),
    BadInput("compiled-network-changed", lambda: models_folder(flip_a_byte("model.tflite")),
             expect="checksum mismatch"),
    BadInput("guard-parameters-missing", lambda: models_folder(deleting("domain_guard.npz")),
             expect="domain guard of model 'cxr-pneumonia'"),
    BadInput("guard-parameters-changed", lambda: models_folder(
        flip_a_byte("domain_guard.npz")), expect="checksum mismatch"),
    BadInput("population-parameters-missing", lambda: models_folder(
        deleting("population_guard.npz")), expect="population guard of model 'cxr-pneumonia'"),
    BadInput("population-parameters-changed", lambda: models_folder(
        flip_a_byte("population_guard.npz")), expect="checksum mismatch"),
    BadInput("weights-with-a-lambda-layer", lambda: models_folder(hostile_weights()),
             expect="contains code or layers that are not allowed to run; it was not loaded"),
    BadInput("weights-with-a-tfsm-layer", lambda: models_folder(hostile_weights(to_tfsm_layer)),
             expect="contains code or layers that are not allowed to run"),
    BadInput("weights-naming-os-system", lambda: models_folder(hostile_weights(to_os_system)),
             expect="is not a model this version of dxcore can read; it was not loaded"),
]

CLI_CASES = ["side-zero", "unknown-modality", "weights-linked-outside",
             "weights-with-a-lambda-layer", "weights-changed"]
# Faults found only when the model is used, which listing the models never does: its
# weights loaded, its modality's model made (a plug-in's card is listed like any other).
LOADING_CASES = {"unknown-modality", "weights-with-a-lambda-layer", "weights-changed"}


@pytest.fixture
def case_folder(request) -> Callable[[BadInput], Path]:
    """``case_folder(case)``: the case's models folder, removed after the test."""
    made: list[Path] = []

    def make(case: BadInput) -> Path:
        made.append(case.make())
        return made[-1]
    yield make
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)
    clear_cache()


@pytest.mark.parametrize("case", ids(CARD_CASES))
def test_card_case_through_the_page_path(case_folder, case):
    folder = case_folder(case)
    upload = {"chest.png": xray_png()}

    def as_the_page_does() -> None:
        # The prediction runs the compiled network; the saliency map loads the Keras weights
        # (a hostile weights file is refused there, before any of it runs).
        model = get_model(MODEL_ID, folder)
        model.explain(model.predict(upload), "gradcam++")

    assert_refused(case, as_the_page_does)


@pytest.mark.parametrize("case", ids([case for case in CARD_CASES if case.name in CLI_CASES]))
@pytest.mark.parametrize("command", ["models", "predict"])
def test_card_case_through_the_command_line(case_folder, case, command, monkeypatch, capsys,
                                            tmp_path):
    monkeypatch.setenv("DX_MODELS_DIR", str(case_folder(case)))
    upload = tmp_path / "chest.png"
    upload.write_bytes(xray_png())
    argv = ["models", "--json"] if command == "models" else \
        ["predict", MODEL_ID, str(upload), "--json", "--explain", "gradcam++"]
    status, lines, err = run_cli(capsys, *argv)
    if command == "models" and case.name in LOADING_CASES:
        assert status == 0 and [line["id"] for line in lines] == [MODEL_ID]  # nothing loaded
        return
    assert status == 1 and "Traceback" not in err
    if lines:  # refused once the input was read: its one error object, as for a bad input
        # (hostile Keras weights: the compiled network answered, the explanation read them)
        [line] = lines
        assert err == "" and case.expect.lower() in line["error"].lower()
        return
    assert err.startswith("Error: ") and err.count("\n") == 1
    assert case.expect.lower() in err.lower()



def test_every_cli_case_is_in_the_catalogue():
    assert set(CLI_CASES) <= {case.name for case in CARD_CASES}
    assert LOADING_CASES.issubset(CLI_CASES)
