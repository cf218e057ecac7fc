"""Fixtures for the record models: the shipped models (skipping with the reason when one is
not in ``saved_models/``) and their datasets (skipping when absent)."""

from __future__ import annotations

import pytest

from dxcore.datasets import data_dir

RECORD_MODELS = ("heart-disease", "ckd", "leukemia-golub")
DATASET_FOLDERS = {"heart-disease": "heart_disease", "ckd": "ckd", "leukemia-golub": "golub"}


def shipped(model_id: str):
    """The shipped model, loaded once per session by the registry's cache."""
    from dxcore.registry import get_model, list_cards

    if model_id not in {card.id for card in list_cards()}:
        pytest.skip(f"saved_models/{model_id} is not there: run python -m dxcore train "
                    f"{model_id}")
    return get_model(model_id).load()


def dataset(model_id: str) -> None:
    """Skip unless the dataset the model was trained on is present."""
    folder = data_dir() / DATASET_FOLDERS[model_id]
    if not folder.is_dir():
        pytest.skip(f"{folder.name} dataset not found at {folder}; set DX_DATA_DIR")


@pytest.fixture(scope="session")
def heart_model():
    return shipped("heart-disease")


@pytest.fixture(scope="session")
def golub_model(tmp_path_factory):
    """The shipped ``leukemia-golub`` model; while it is not shipped (below its test
    target), a quick stand-in trained in a few seconds on the official training profiles,
    so the gene-profile explanations are still tested on learned weights."""
    from dxcore.registry import list_cards

    if "leukemia-golub" in {card.id for card in list_cards()}:
        return shipped("leukemia-golub")
    dataset("leukemia-golub")
    return _quick_golub_model(tmp_path_factory.mktemp("golub"))


def _quick_golub_model(folder):
    from datetime import date

    from dxcore.cards import write_card
    from dxcore.datasets import golub
    from dxcore.models import RecordModel
    from dxcore.recipes import leukemia_golub
    from dxcore.records import training
    from dxcore.records.atypicality import reconstruction_error, reference_quantiles
    from dxcore.records.encoding import encode
    from dxcore.records.schema import Schema

    table, y = golub.official_split("train")
    spec = leukemia_golub.input_spec(list(table.columns))
    schema = Schema.from_json(spec)
    x = encode(training.dataset_values(table, schema)[0], schema, {})
    settings = training.Settings(hidden=16, code=4, epochs=30, batch_size=8)
    network = training.fit_network(x, y, settings, seed=0)
    network.save(folder / "model.keras")
    errors = reconstruction_error(network(x, training=False)["deviation"].numpy())
    card = write_card({
        "id": "leukemia-golub-quick", "name": "test stand-in", "modality": "record",
        "task": "ALL vs AML (test stand-in)", "class_names": ["ALL", "AML"],
        "positive_class": "AML", "input": {**spec, "imputation": {"values": {}}},
        "decision_threshold": 0.5, "calibration_temperature": 1.0,
        "atypicality": {"reference_quantiles": reference_quantiles(errors)},
        "training_data": "Golub official training profiles", "test_metrics": {},
        "intended_use": "tests only", "limitations": "30 epochs, uncalibrated",
        "date": date.today().isoformat(), "weights_file": "model.keras"}, folder)
    return RecordModel(card).load()


@pytest.fixture(scope="session")
def heart_test_split(heart_model):
    """The heart-disease test split (tables of text cells, labels)."""
    from dxcore.recipes import heart_disease

    dataset("heart-disease")
    return heart_disease.split()[2:]
