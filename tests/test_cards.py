"""Model cards (format 2.0) and the registry: the JSON Schema and the clear refusal of a card
that breaks it, the runtime accessors, the interface check, field-list files, the checksum
stamp, discovery, lazy checked loading, the refusals for damaged, swapped or missing weights
and unknown ids; and every shipped card against the schema."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import h5py
import jsonschema
import keras
import numpy as np
import pytest

from dxcore.card_writing import (
    FIELDS_FILE,
    interface_of,
    save_weights_file,
    training_software,
    write_card,
    write_json,
)
from dxcore.cards import (
    CARD_FILE,
    REQUIRED_FIELDS,
    SCHEMA_FILE,
    SCHEMA_VERSION,
    ModelCard,
    read_card,
    validate_card,
    verify_explainer_layer,
    verify_interface,
)
from dxcore.cli import main as cli_main
from dxcore.errors import DxError
from dxcore.images import LoadedImage
from dxcore.images.network import chest_xray_cnn
from dxcore.images.training import card_interface as image_interface
from dxcore.records.network import record_autoencoder
from dxcore.records.preprocessing import input_columns
from dxcore.records.schema import Schema
from dxcore.registry import clear_cache, get_card, get_model, list_cards, model_for

SIDE = 32
WEIGHTS = "model.keras"
SHIPPED = Path(__file__).resolve().parents[1] / "saved_models"


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> tuple[keras.Model, Path]:
    """A small untrained CNN, in memory and saved once as a .keras file."""
    keras.utils.set_random_seed(3)
    model = chest_xray_cnn(SIDE)
    path = tmp_path_factory.mktemp("weights") / WEIGHTS
    model.save(path)
    return model, path


def card_fields(model_id: str, network: keras.Model) -> dict:
    """A complete image card except the version and checksum, which ``write_card`` stamps."""
    return {
        "id": model_id,
        "name": f"Tiny test model {model_id}",
        "modality": "image",
        "task": "NORMAL vs PNEUMONIA (test fixture, untrained)",
        "class_names": ["NORMAL", "PNEUMONIA"],
        "licence": None,
        "intended_use": "unit tests only",
        "limitations": ["random weights"],
        "date": "2025-01-01",
        "software": {**training_software(), "source": "test fixture"},
        "training_data": {"dataset": "none", "dataset_id": "test:none", "licence": None,
                          "references": ["none"], "split": "none"},
        "interface": image_interface(network),
        "runtime": {"input": {"side": SIDE, "normalization": "unit"},
                    "decision": {"positive_class": "PNEUMONIA", "threshold": 0.5},
                    "calibration_temperature": 1.0, "explainer_layer": "last_conv"},
        "test_metrics": {"auc": {"value": 0.5, "ci95": [0.4, 0.6]}},
        "weights_file": WEIGHTS,
    }


@pytest.fixture
def fields(saved_model) -> dict:
    return card_fields("tiny-cxr", saved_model[0])


@pytest.fixture(autouse=True)
def fresh_registry_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def install(tmp_path, saved_model):
    """``install(model_id)`` puts the saved weights and a stamped card under tmp_path/<id>/."""

    def _install(model_id: str = "tiny-cxr"):
        folder = tmp_path / model_id
        folder.mkdir()
        shutil.copy(saved_model[1], folder / WEIGHTS)
        return write_card(card_fields(model_id, saved_model[0]), folder)

    return _install


@pytest.fixture
def load_calls(monkeypatch) -> list:
    """Records every call to ``keras.saving.load_model`` (still loading for real)."""
    calls = []
    original = keras.saving.load_model

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", spy)
    return calls


def write_raw(folder: Path, fields: dict) -> Path:
    """Write ``fields`` as a card without any stamping or checking."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CARD_FILE).write_text(json.dumps(fields))
    return folder / CARD_FILE


def stamped(fields: dict) -> dict:
    return {**copy.deepcopy(fields), "schema_version": SCHEMA_VERSION, "weights_sha256": "0" * 64}


# --- writing, reading, the registry ------------------------------------------------------


def test_write_card_stamps_the_version_and_the_weights_checksum(tmp_path, saved_model, fields):
    shutil.copy(saved_model[1], tmp_path / WEIGHTS)
    card = write_card(fields, tmp_path)
    expected = hashlib.sha256((tmp_path / WEIGHTS).read_bytes()).hexdigest()
    assert card["weights_sha256"] == expected and card["schema_version"] == "2.0"
    written = json.loads((tmp_path / CARD_FILE).read_text())
    assert written["weights_sha256"] == expected
    assert list(written)[:3] == ["schema_version", "id", "name"]  # the schema's order
    assert "weights_sha256" not in fields and "schema_version" not in fields  # left alone
    assert read_card(tmp_path / CARD_FILE).fields == card.fields
    assert card.folder == tmp_path and card.weights_path == tmp_path / WEIGHTS
    assert card.headline() == {"auc": "0.500 (0.400-0.600)"}


def test_write_card_refuses_an_invalid_card_and_writes_nothing(tmp_path, saved_model, fields):
    shutil.copy(saved_model[1], tmp_path / WEIGHTS)
    fields["runtime"]["calibration_temperature"] = -1.0
    with pytest.raises(DxError, match="runtime.calibration_temperature"):
        write_card(fields, tmp_path)
    assert not (tmp_path / CARD_FILE).exists()


def test_runtime_accessors_read_the_typed_section(install):
    card = install()
    assert card.input_spec == {"side": SIDE, "normalization": "unit"}
    assert card.threshold == 0.5 and isinstance(card.threshold, float)
    assert card.temperature == 1.0 and card.log_offsets is None
    assert card.positive_class == "PNEUMONIA" and card.class_names == ["NORMAL", "PNEUMONIA"]
    assert card.explainer_layer == "last_conv"
    offsets = ModelCard({"class_names": ["N", "S", "V", "F"], "runtime": {
        "decision": {"log_offsets": {"N": 0.0, "S": 1.0}}, "calibration_temperature": 2}},
        Path("."))
    assert offsets.log_offsets == {"N": 0.0, "S": 1.0} and offsets.threshold is None
    assert offsets.temperature == 2.0 and offsets.positive_class == "F"


def test_list_cards_finds_every_card(tmp_path, install):
    install("tiny-b")
    install("tiny-a")
    (tmp_path / "not-a-model").mkdir()  # a folder without a card is ignored
    assert [card.id for card in list_cards(tmp_path)] == ["tiny-a", "tiny-b"]
    assert get_card("tiny-b", tmp_path).folder == tmp_path / "tiny-b"


def test_get_model_loads_the_checked_weights_once(tmp_path, install, load_calls):
    install()
    model = get_model("tiny-cxr", tmp_path)
    assert load_calls == []  # weights load lazily, on first use
    network = model.network
    assert isinstance(network, keras.Model) and network.output_shape == (None, 2)
    assert model.network is network and get_model("tiny-cxr", tmp_path) is model
    assert len(load_calls) == 1


def test_registry_model_predicts_an_image(tmp_path, install):
    install()
    ramp = np.linspace(0, 1, 80 * 60, dtype=np.float32).reshape(80, 60)
    result = get_model("tiny-cxr", tmp_path).predict(LoadedImage(ramp, "PNG"))
    assert result.model_input.shape == (1, SIDE, SIDE, 1)
    probabilities = result.probabilities_of(0)
    assert set(probabilities) == {"NORMAL", "PNEUMONIA"}
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert result.decisions[0] in probabilities


def test_logits_are_the_same_in_memory_and_after_save_and_reload(tmp_path, install, saved_model):
    install()
    x = np.random.default_rng(0).random((4, SIDE, SIDE, 1), dtype=np.float32)
    in_memory = np.asarray(saved_model[0](x, training=False))
    reloaded = np.asarray(get_model("tiny-cxr", tmp_path).network(x, training=False))
    np.testing.assert_allclose(reloaded, in_memory, rtol=1e-5, atol=1e-6)
    assert np.ptp(in_memory[:, 1] - in_memory[:, 0]) > 0  # the check is not vacuous


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def replace_with_another_model(path: Path) -> None:
    keras.utils.set_random_seed(4)
    chest_xray_cnn(SIDE).save(path)


@pytest.mark.parametrize(
    "tamper", [flip_one_byte, replace_with_another_model], ids=["one-byte-changed", "replaced"]
)
def test_altered_weights_are_refused_and_not_loaded(tmp_path, install, load_calls, tamper):
    card = install()
    tamper(card.weights_path)
    model = get_model("tiny-cxr", tmp_path)
    with pytest.raises(DxError, match="checksum mismatch"):
        _ = model.network
    with pytest.raises(DxError, match="checksum"):
        model.load()
    assert load_calls == [] and model._network is None


def test_missing_weights_are_refused(tmp_path, install, load_calls):
    card = install()
    card.weights_path.unlink()
    with pytest.raises(DxError, match="weights of model 'tiny-cxr' are missing"):
        get_model("tiny-cxr", tmp_path).load()
    assert load_calls == []


def test_unknown_model_id_names_the_shipped_models(tmp_path, install):
    install("tiny-a")
    install("tiny-b")
    with pytest.raises(DxError, match=r"no model called 'nope'\. Shipped models: tiny-a, tiny-b"):
        get_model("nope", tmp_path)


def test_unknown_model_id_with_no_models_at_all(tmp_path):
    with pytest.raises(DxError, match="Shipped models: none"):
        get_card("nope", tmp_path)


# --- validation: one clear error naming the field ----------------------------------------


def test_the_card_schema_is_a_valid_json_schema():
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert tuple(schema["required"]) == REQUIRED_FIELDS


@pytest.mark.parametrize("missing", [name for name in REQUIRED_FIELDS if name != "schema_version"])
def test_card_missing_a_required_field_is_refused(tmp_path, fields, missing):
    card = stamped(fields)
    del card[missing]
    path = write_raw(tmp_path / "tiny-cxr", card)
    with pytest.raises(DxError, match=f"not valid: field '{missing}': missing"):
        list_cards(tmp_path)
    with pytest.raises(DxError, match=missing):
        read_card(path)


def break_threshold_type(card):
    card["runtime"]["decision"]["threshold"] = "0.5"


def break_threshold_range(card):
    card["runtime"]["decision"]["threshold"] = 1.5


def misspell_a_runtime_field(card):
    card["runtime"]["temprature"] = card["runtime"].pop("calibration_temperature")


def add_an_unknown_runtime_field(card):
    card["runtime"]["offsets"] = {"NORMAL": 0.0}


def add_an_unknown_field(card):
    card["decision_threshold"] = 0.5  # a format-1 field


def drop_the_image_side(card):
    del card["runtime"]["input"]["side"]


def unknown_positive_class(card):
    card["runtime"]["decision"]["positive_class"] = "pneumonia"


def offsets_of_an_unknown_class(card):
    card["runtime"]["decision"] = {"log_offsets": {"NORMAL": 0.0, "Q": 1.0}}


def free_batch_axis_as_zero(card):
    card["interface"]["inputs"][0]["shape"][0] = 0


def logits_wider_than_the_classes(card):
    card["interface"]["outputs"][0]["shape"] = [None, 3]


def bad_dataset_id(card):
    card["training_data"]["dataset_id"] = "Kermany 2018"


def bad_checksum(card):
    card["weights_sha256"] = "not a checksum"


def software_without_keras(card):
    del card["software"]["keras"]


def class_names_as_a_string(card):
    card["class_names"] = "NORMAL"


def side_as_text(card):
    card["runtime"]["input"]["side"] = "abc"


def side_of_zero(card):
    card["runtime"]["input"]["side"] = 0


def negative_side(card):
    card["runtime"]["input"]["side"] = -128


def weights_in_another_folder(card):
    card["weights_file"] = "../../elsewhere.keras"


def weights_at_an_absolute_path(card):
    card["weights_file"] = "/tmp/elsewhere.keras"


def guard_parameters_elsewhere(card):
    card["runtime"]["domain_guard"] = {"parameters_file": "../guard.npz",
                                       "parameters_sha256": "0" * 64}


def label_shift_cases_elsewhere(card):
    card["runtime"]["label_shift"] = label_shift_of(card, cases_file="../cases.json")


def label_shift_prior_of_other_classes(card):
    card["runtime"]["label_shift"] = label_shift_of(card, training_prior={"A": 0.3, "B": 0.7})


def label_shift_prior_not_adding_up(card):
    card["runtime"]["label_shift"] = label_shift_of(
        card, training_prior={name: 0.6 for name in card["class_names"]})


def label_shift_of(card, **changed) -> dict:
    names = card["class_names"]
    return {"training_prior": {name: 1 / len(names) for name in names}, "temperature": 1.2,
            "bias": {name: 0.0 for name in names}, "cases_file": "label_shift_cases.json",
            "cases_sha256": "0" * 64, **changed}


def report_elsewhere(card):
    card["test_report"] = {"file": "/etc/report.json", "sha256": "0" * 64}


def training_log_elsewhere(card):
    card["training"] = {"log_file": "..\\log.json"}


@pytest.mark.parametrize("breaks, field", [
    (break_threshold_type, "runtime.decision.threshold"),
    (break_threshold_range, "runtime.decision.threshold"),
    (misspell_a_runtime_field, "runtime.calibration_temperature"),
    (add_an_unknown_runtime_field, "runtime.offsets"),
    (add_an_unknown_field, "decision_threshold"),
    (drop_the_image_side, "runtime.input.side"),
    (unknown_positive_class, "runtime.decision.positive_class"),
    (offsets_of_an_unknown_class, "runtime.decision.log_offsets"),
    (free_batch_axis_as_zero, "interface.inputs[0].shape[0]"),
    (logits_wider_than_the_classes, "interface.outputs"),
    (bad_dataset_id, "training_data.dataset_id"),
    (bad_checksum, "weights_sha256"),
    (software_without_keras, "software.keras"),
    (class_names_as_a_string, "class_names"),
    (side_as_text, "runtime.input.side"),
    (side_of_zero, "runtime.input.side"),
    (negative_side, "runtime.input.side"),
    (weights_in_another_folder, "weights_file"),
    (weights_at_an_absolute_path, "weights_file"),
    (guard_parameters_elsewhere, "runtime.domain_guard.parameters_file"),
    (label_shift_cases_elsewhere, "runtime.label_shift.cases_file"),
    (label_shift_prior_of_other_classes, "runtime.label_shift.training_prior"),
    (label_shift_prior_not_adding_up, "runtime.label_shift.training_prior"),
    (report_elsewhere, "test_report.file"),
    (training_log_elsewhere, "training.log_file"),
], ids=lambda value: value.__name__ if callable(value) else None)
def test_invalid_card_gets_one_error_naming_the_field(tmp_path, fields, breaks, field):
    card = stamped(fields)
    breaks(card)
    path = write_raw(tmp_path / "tiny-cxr", card)
    with pytest.raises(DxError) as refused:
        read_card(path)
    message = str(refused.value)
    assert message.startswith(f"The model card {path} is not valid: field '{field}'")
    assert "\n" not in message and "Traceback" not in message


@pytest.mark.parametrize("version, said", [
    (None, r"has no schema_version \(a card older than format 2.0\)"),
    ("1.0", "has schema_version '1.0'"), ("3.0", "has schema_version '3.0'")])
def test_card_of_another_format_version_is_refused(tmp_path, fields, version, said):
    card = stamped(fields)
    if version is None:
        del card["schema_version"]
    else:
        card["schema_version"] = version
    with pytest.raises(DxError, match=f"{said}; this version of dxcore reads format 2.0"):
        read_card(write_raw(tmp_path / "tiny-cxr", card))


def test_card_that_is_not_json_is_refused(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / CARD_FILE).write_text('{"id": "broken",')
    with pytest.raises(DxError, match="cannot be read"):
        get_card("broken", tmp_path)


def test_the_cli_says_which_field_is_wrong_without_a_traceback(tmp_path, fields, monkeypatch,
                                                               capsys):
    card = stamped(fields)
    break_threshold_range(card)
    write_raw(tmp_path / "tiny-cxr", card)
    monkeypatch.setenv("DX_MODELS_DIR", str(tmp_path))
    assert cli_main(["models"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("Error: The model card ") and "Traceback" not in captured.err
    assert "field 'runtime.decision.threshold': 1.5 is greater than the maximum of 1" in \
        captured.err and captured.err.count("\n") == 1


@pytest.mark.parametrize("field, name", [("weights_file", WEIGHTS),
                                         ("test_report.file", "test_report.json")])
def test_a_named_file_that_links_outside_the_folder_is_refused(tmp_path, saved_model, fields,
                                                                field, name):
    folder = tmp_path / "models" / "tiny-cxr"
    folder.mkdir(parents=True)
    outside = tmp_path / "elsewhere" / name
    outside.parent.mkdir()
    shutil.copy(saved_model[1], outside)
    (folder / name).symlink_to(outside)
    card = stamped(fields)
    if field == "test_report.file":
        shutil.copy(saved_model[1], folder / WEIGHTS)
        card["test_report"] = {"file": name, "sha256": "0" * 64}
    path = write_raw(folder, card)
    with pytest.raises(DxError, match=f"field '{field}': '{name}' leads outside the model's "
                                      "folder"):
        read_card(path)


def test_a_weights_link_made_after_reading_is_refused_when_loading(tmp_path, install,
                                                                   saved_model):
    model = model_for(install())
    outside = tmp_path / "elsewhere.keras"
    shutil.copy(saved_model[1], outside)
    (model.card.folder / WEIGHTS).unlink()
    (model.card.folder / WEIGHTS).symlink_to(outside)
    with pytest.raises(DxError, match="field 'weights_file': 'model.keras' leads outside the "
                                      "model's folder; the model was not used"):
        model.load()


def test_a_card_of_an_unknown_modality_is_listed_but_refused_naming_the_field(
        tmp_path, fields, monkeypatch, capsys):
    card = stamped(fields)
    card["modality"] = "ultrasound"
    write_raw(tmp_path / "tiny-cxr", card)
    assert [card.id for card in list_cards(tmp_path)] == ["tiny-cxr"]  # a plug-in's card
    with pytest.raises(DxError, match=r"Unknown modality 'ultrasound' \(field 'modality' of "
                                      "the model card of 'tiny-cxr'\)"):
        get_model("tiny-cxr", tmp_path)
    monkeypatch.setenv("DX_MODELS_DIR", str(tmp_path))
    assert cli_main(["predict", "tiny-cxr", str(tmp_path / "x.png")]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("Error: Unknown modality 'ultrasound'") and \
        "Traceback" not in captured.err and captured.err.count("\n") == 1


# --- Keras safe mode ---------------------------------------------------------------------


def rewrite_config(source: Path, target: Path, edit) -> None:
    """A copy of the .keras file ``source`` whose config.json ``edit`` changed."""
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    edit(config["config"]["layers"][-1])
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)


def lambda_layer_file(path: Path, network: keras.Model) -> None:
    inputs = keras.Input(network.inputs[0].shape[1:])
    keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs)).save(path)


def tfsm_layer_file(path: Path, network: keras.Model) -> None:
    def to_tfsm(layer):
        layer.update(module="keras.layers", class_name="TFSMLayer", registered_name=None,
                     config={"filepath": str(path.parent), "call_endpoint": "serve",
                             "name": "tfsm"})
    network.save(path.with_suffix(".plain.keras"))
    rewrite_config(path.with_suffix(".plain.keras"), path, to_tfsm)


def os_system_file(path: Path, network: keras.Model) -> None:
    def to_os_system(layer):
        layer.update(module="os", class_name="system", registered_name=None)
    network.save(path.with_suffix(".plain.keras"))
    rewrite_config(path.with_suffix(".plain.keras"), path, to_os_system)


@pytest.mark.parametrize("hostile, said", [
    (lambda_layer_file, "contains code or layers that are not allowed to run"),
    (tfsm_layer_file, "contains code or layers that are not allowed to run"),
    (os_system_file, "is not a model this version of dxcore can read"),
], ids=["lambda", "tfsm-layer", "os-system"])
def test_a_model_file_safe_mode_refuses_gives_one_clear_error(tmp_path, saved_model, hostile,
                                                              said):
    folder = tmp_path / "tiny-cxr"
    folder.mkdir()
    hostile(folder / WEIGHTS, saved_model[0])
    write_card(card_fields("tiny-cxr", saved_model[0]), folder)  # its checksum: the file's own
    with pytest.raises(DxError, match=f"The model file of 'tiny-cxr' \\(model.keras\\) {said}; "
                                      "it was not loaded"):
        get_model("tiny-cxr", tmp_path).load()


# --- the interface -----------------------------------------------------------------------


def test_interface_is_read_off_the_network(saved_model):
    interface = image_interface(saved_model[0])
    assert interface["inputs"] == [{
        "name": "image", "dtype": "float32", "shape": [None, SIDE, SIDE, 1],
        "range": [0.0, 1.0], "channels": ["grey"],
        "description": interface["inputs"][0]["description"]}]
    assert [(o["name"], o["dtype"], o["shape"]) for o in interface["outputs"]] == [
        ("logits", "float32", [None, 2])]


def test_verify_interface_accepts_the_network_it_describes(install, saved_model):
    verify_interface(install(), saved_model[0])


def test_verify_interface_names_every_difference(install):
    card = install()
    keras.utils.set_random_seed(5)
    with pytest.raises(DxError) as refused:
        verify_interface(card, chest_xray_cnn(SIDE * 2, classes=3))
    message = str(refused.value)
    assert message.startswith("The network of model 'tiny-cxr' does not match its card's "
                              "interface: ")
    assert "input 0 'image': shape [None, 64, 64, 1] in the network, [None, 32, 32, 1]" in message
    assert "output 'logits': shape [None, 3] in the network, [None, 2] in the card" in message


def test_verify_interface_checks_names_channels_and_dict_outputs():
    network = record_autoencoder(np.zeros(3), np.ones(3), hidden=4, code=2)
    interface = interface_of(network, {"record": {"channels": ["a", "b", "c"]}})
    assert [o["name"] for o in interface["outputs"]] == ["logits", "deviation"]
    card = ModelCard({"id": "tiny-record", "interface": interface}, Path("."))
    verify_interface(card, network)

    renamed = copy.deepcopy(interface)
    renamed["inputs"][0]["name"] = "case"
    renamed["inputs"][0]["channels"] = ["a", "b"]
    renamed["outputs"] = [o for o in renamed["outputs"] if o["name"] == "logits"]
    renamed["outputs"].append({"name": "reconstruction", "dtype": "float32", "shape": [None, 3]})
    with pytest.raises(DxError) as refused:
        verify_interface(ModelCard({"id": "tiny-record", "interface": renamed}, Path(".")),
                         network)
    message = str(refused.value)
    for part in ("input 0 'case': name 'record' in the network, 'case' in the card",
                 "2 channels named for a last axis of 3", "output 'deviation' only in the "
                 "network", "output 'reconstruction' only in the card"):
        assert part in message


def test_a_network_without_the_cards_explainer_layer_is_refused_when_it_loads(tmp_path,
                                                                              saved_model):
    folder = tmp_path / "tiny-cxr"
    folder.mkdir()
    shutil.copy(saved_model[1], folder / WEIGHTS)
    fields = card_fields("tiny-cxr", saved_model[0])
    fields["runtime"]["explainer_layer"] = "conv_9"
    write_card(fields, folder)  # the card alone is valid: only the network can say
    with pytest.raises(DxError) as refused:
        _ = get_model("tiny-cxr", tmp_path).network
    assert str(refused.value) == ("The model card of 'tiny-cxr' is not valid: field "
                                  "'runtime.explainer_layer': the network has no layer named "
                                  "'conv_9'; the model was not loaded.")


def test_the_explainer_layer_is_checked_only_where_the_card_names_one(saved_model):
    network = saved_model[0]
    verify_explainer_layer(ModelCard({"id": "tiny", "runtime": {}}, Path(".")), network)
    verify_explainer_layer(ModelCard({"id": "tiny", "runtime": {
        "explainer_layer": "last_conv"}}, Path(".")), network)


# --- record cards: a field list in a file of its own -------------------------------------


def record_card(folder: Path, probes: int = 3) -> dict:
    """A record card whose fields (a block of ``probes`` numeric fields) live in FIELDS_FILE."""
    names = [f"p{k}" for k in range(probes)]
    entries = [{"names": names, "label": "{name} expression", "type": "numeric"}]
    network = record_autoencoder(np.zeros(probes), np.ones(probes), hidden=4, code=2)
    save_weights_file(network, folder / WEIGHTS)
    return {
        "id": "tiny-profile", "name": "Tiny profile", "modality": "record", "task": "A vs B",
        "class_names": ["A", "B"], "licence": None, "intended_use": "tests",
        "limitations": [], "date": "2025-01-01",
        "software": {**training_software(), "source": "test fixture"},
        "training_data": {"dataset": "none", "dataset_id": "test:none", "licence": None,
                          "references": ["none"], "split": "none"},
        "interface": interface_of(network),
        "runtime": {
            "input": {"fields_file": write_json(folder, FIELDS_FILE, {"fields": entries}),
                      "top_fields": 2},
            "decision": {"positive_class": "B", "threshold": 0.4},
            "calibration_temperature": 1.0, "imputation": {},
            "atypicality_quantiles": [0.1, 0.2, 0.3]},
        "test_metrics": {}, "weights_file": WEIGHTS,
    }


def test_a_field_list_file_is_read_transparently_and_checked(tmp_path):
    card = write_card(record_card(tmp_path), tmp_path)
    stored = card["runtime"]["input"]
    assert stored["fields_sha256"] == hashlib.sha256(
        (tmp_path / FIELDS_FILE).read_bytes()).hexdigest()
    assert "fields" not in stored  # the card itself stays lean
    assert Schema.from_json(card.input_spec).names == ["p0", "p1", "p2"]
    assert card.input_spec["top_fields"] == 2 and card.atypicality_quantiles == [0.1, 0.2, 0.3]
    assert card.imputation == {} and card.threshold == 0.4 and card.positive_class == "B"


def test_a_changed_field_list_is_refused(tmp_path):
    write_card(record_card(tmp_path), tmp_path)
    content = json.loads((tmp_path / FIELDS_FILE).read_text())
    content["fields"][0]["names"].reverse()  # the same probes in another order
    (tmp_path / FIELDS_FILE).write_text(json.dumps(content))
    card = read_card(tmp_path / CARD_FILE)
    with pytest.raises(DxError, match="field list of model 'tiny-profile'.*checksum mismatch"):
        _ = card.input_spec


def test_an_invalid_field_list_is_refused_naming_the_field(tmp_path):
    fields = record_card(tmp_path)
    (tmp_path / FIELDS_FILE).write_text(json.dumps({"fields": [{"names": ["p0"], "label": "x"}]}))
    with pytest.raises(DxError, match=r"field list .* is not valid: field 'fields\[0\].type'"):
        write_card(fields, tmp_path)
    assert not (tmp_path / CARD_FILE).exists()


def test_a_missing_field_list_is_refused_when_the_card_is_read(tmp_path):
    write_card(record_card(tmp_path), tmp_path)
    (tmp_path / FIELDS_FILE).unlink()
    with pytest.raises(DxError, match="field 'runtime.input.fields_file': fields.json is not "
                                      "beside the card"):
        read_card(tmp_path / CARD_FILE)


def test_record_cards_need_imputation_and_quantiles(tmp_path):
    fields = stamped(record_card(tmp_path))
    fields["runtime"]["input"]["fields_sha256"] = "0" * 64
    validate_card(fields, tmp_path / CARD_FILE)
    for key in ("imputation", "atypicality_quantiles"):
        broken = copy.deepcopy(fields)
        del broken["runtime"][key]
        with pytest.raises(DxError, match=f"field 'runtime.{key}': missing"):
            validate_card(broken, tmp_path / CARD_FILE)
    fields["runtime"]["atypicality_quantiles"] = [0.3, 0.2]
    with pytest.raises(DxError, match="'runtime.atypicality_quantiles': not in non-decreasing"):
        validate_card(fields, tmp_path / CARD_FILE)


# --- weights without optimizer state -----------------------------------------------------


def stored_groups(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive, \
            h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as store:
        return sorted(store.keys())


def test_save_weights_file_drops_the_optimizer_state_and_keeps_the_weights(tmp_path):
    keras.utils.set_random_seed(6)
    network = chest_xray_cnn(SIDE)
    network.compile(optimizer=keras.optimizers.AdamW(1e-3),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(1).random((8, SIDE, SIDE, 1), dtype=np.float32)
    network.fit(x, np.arange(8) % 2, epochs=1, verbose=0)
    network.save(tmp_path / "compiled.keras")
    save_weights_file(network, tmp_path / WEIGHTS)

    assert "optimizer" in stored_groups(tmp_path / "compiled.keras")
    assert "optimizer" not in stored_groups(tmp_path / WEIGHTS)
    assert (tmp_path / WEIGHTS).stat().st_size < 0.5 * (tmp_path / "compiled.keras").stat().st_size
    reloaded = keras.saving.load_model(tmp_path / WEIGHTS, compile=False, safe_mode=True)
    assert np.array_equal(np.asarray(reloaded(x, training=False)),
                          np.asarray(network(x, training=False)))


def test_training_software_records_the_running_versions():
    import tensorflow as tf

    software = training_software()
    assert software["tensorflow"] == tf.__version__ and software["keras"] == keras.__version__
    assert software["numpy"] == np.__version__ and software["python"].count(".") == 2


# --- the shipped cards -------------------------------------------------------------------

SHIPPED_CARDS = sorted(SHIPPED.glob(f"*/{CARD_FILE}"))


def longest_list(item) -> int:
    if isinstance(item, list):
        return max([len(item), *map(longest_list, item)])
    if isinstance(item, dict):
        return max([0, *map(longest_list, item.values())])
    return 0


def test_every_model_is_shipped_with_a_card():
    assert {path.parent.name for path in SHIPPED_CARDS} == {
        "ckd", "cxr-pneumonia", "ecg-beats", "heart-disease", "leukemia-golub"}


@pytest.mark.parametrize("path", SHIPPED_CARDS, ids=lambda path: path.parent.name)
def test_shipped_card_is_valid_and_lean(path):
    fields = json.loads(path.read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).validate(fields)
    card = read_card(path)  # the schema and the cross-references
    assert card.id == path.parent.name and card["schema_version"] == SCHEMA_VERSION
    card.verify_weights()
    assert "optimizer" not in stored_groups(card.weights_path)
    # Lean: no long lists (per-epoch logs, probe lists) in the card itself. The size bound
    # leaves room for test_evaluations, which grows by one entry (~300 bytes) with every
    # test measurement ever made and is never shortened (heart-disease: 13 by 2026-12-07).
    assert len(path.read_bytes()) < 40_000 and longest_list(fields) <= 101
    log = fields.get("training", {}).get("log_file")
    if log is not None:
        assert json.loads((path.parent / log).read_text())["model"] == card.id
    software = card["software"]
    # Cards trained before training recorded versions name the pins instead; either way
    # the versions are the pinned ones.
    assert ("requirements.txt" in software["source"]
            or software["source"] == "recorded by the training run")
    requirements = (SHIPPED.parent / "requirements.txt").read_text()
    for library in ("tensorflow", "keras", "numpy"):
        assert f"{library}=={software[library]}" in requirements
    if card["modality"] == "record":
        schema = Schema.from_json(card.input_spec)
        width = card.interface["inputs"][0]["shape"][-1]
        assert width == len(input_columns(schema))  # values, one-hot, any indicators
        assert width == len(schema.numeric) + sum(len(f.categories) for f in schema.categorical
                                                  ) + len(schema) * schema.missing_indicators


def test_the_golub_probes_are_in_their_own_file():
    card = read_card(SHIPPED / "leukemia-golub" / CARD_FILE)
    assert "fields" not in card["runtime"]["input"]
    schema = Schema.from_json(card.input_spec)
    assert len(schema) == 7129 and schema.names[0] == "AFFX-BioB-5_at"
    assert card.input_spec["top_fields"] == 20


def test_every_shipped_card_counts_its_test_evaluations():
    """Each measurement of a test split is on the card (date, recipe, why), one of them
    the shipped model's."""
    for card in list_cards():
        history = card.get("test_evaluations")
        assert history, card.id
        assert all(entry["date"] and entry["recipe"] and entry["purpose"] for entry in history)
        assert any(entry.get("shipped") for entry in history), card.id


def test_storing_test_metrics_counts_the_measurement(tmp_path, install):
    from dxcore.evaluation import store_test_metrics

    card = install()
    before = len(card.get("test_evaluations", []))
    stored = store_test_metrics(card, {"auc": {"value": 0.7, "ci95": [0.6, 0.8]}}, "a test")
    assert stored["test_metrics"]["auc"]["value"] == 0.7
    assert len(stored["test_evaluations"]) == before + 1
    assert stored["test_evaluations"][-1]["purpose"] == "a test"
