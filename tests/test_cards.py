"""Model cards and the registry: the checksum stamp, discovery, lazy checked loading, and the
clear refusals for damaged, swapped or missing weights, unknown ids and incomplete cards."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from dxcore.cards import CARD_FILE, REQUIRED_FIELDS, ModelCard, read_card, write_card
from dxcore.errors import DxError
from dxcore.images import LoadedImage
from dxcore.images.network import chest_xray_cnn
from dxcore.registry import clear_cache, get_card, get_model, list_cards

SIDE = 32
WEIGHTS = "model.keras"


def card_fields(model_id: str) -> dict:
    """Every required field except the checksum, which ``write_card`` stamps."""
    return {
        "id": model_id,
        "name": f"Tiny test model {model_id}",
        "modality": "image",
        "task": "NORMAL vs PNEUMONIA (test fixture, untrained)",
        "class_names": ["NORMAL", "PNEUMONIA"],
        "input": {"side": SIDE, "channels": 1},
        "decision_threshold": 0.5,
        "calibration_temperature": 1.0,
        "training_data": "none",
        "test_metrics": {"auc": {"value": 0.5, "ci95": [0.4, 0.6]}},
        "intended_use": "unit tests only",
        "limitations": "random weights",
        "date": "2025-01-01",
        "weights_file": WEIGHTS,
    }


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> tuple[keras.Model, Path]:
    """A small untrained CNN, in memory and saved once as a .keras file."""
    keras.utils.set_random_seed(3)
    model = chest_xray_cnn(SIDE)
    path = tmp_path_factory.mktemp("weights") / WEIGHTS
    model.save(path)
    return model, path


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
        return write_card(card_fields(model_id), folder)

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


def test_write_card_stamps_the_weights_checksum(tmp_path, saved_model):
    shutil.copy(saved_model[1], tmp_path / WEIGHTS)
    fields = card_fields("tiny-cxr")
    card = write_card(fields, tmp_path)
    expected = hashlib.sha256((tmp_path / WEIGHTS).read_bytes()).hexdigest()
    assert card["weights_sha256"] == expected
    assert json.loads((tmp_path / CARD_FILE).read_text())["weights_sha256"] == expected
    assert "weights_sha256" not in fields  # the caller's dict is left alone
    assert read_card(tmp_path / CARD_FILE).fields == card.fields
    assert card.folder == tmp_path and card.weights_path == tmp_path / WEIGHTS
    assert card.headline() == {"auc": "0.500 (0.400-0.600)"}


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


@pytest.mark.parametrize("missing", REQUIRED_FIELDS)
def test_card_missing_a_required_field_is_refused(tmp_path, missing):
    fields = {**card_fields("tiny-cxr"), "weights_sha256": "0" * 64}
    del fields[missing]
    (tmp_path / "tiny-cxr").mkdir()
    (tmp_path / "tiny-cxr" / CARD_FILE).write_text(json.dumps(fields))
    with pytest.raises(DxError, match=f"lacks: {missing}"):
        list_cards(tmp_path)


def test_card_that_is_not_json_is_refused(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / CARD_FILE).write_text('{"id": "broken",')
    with pytest.raises(DxError, match="cannot be read"):
        get_card("broken", tmp_path)


def test_targets_are_checked_against_the_test_metrics():
    card = ModelCard({
        "test_metrics": {"auc": {"value": 0.95}, "V_ppv": {"value": 0.49},
                         "misclassified": {"value": 2, "of": 34}},
        "targets": {"auc": {"at_least": 0.95}, "V_ppv": {"at_least": 0.85},
                    "misclassified": {"at_most": 2}, "accuracy": {"at_least": 0.9}}},
        Path("."))
    checks = {check.metric: check for check in card.target_checks()}
    assert [name for name, check in checks.items() if check.met] == ["auc", "misclassified"]
    assert [check.metric for check in card.unmet_targets()] == ["V_ppv", "accuracy"]
    assert checks["accuracy"].value is None  # a target never measured is not met
    assert checks["accuracy"].describe() == "accuracy not measured (target at least 0.9)"
    assert ModelCard({"test_metrics": {}}, Path(".")).target_checks() == []
