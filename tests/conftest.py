"""Root fixtures: the shipped models and the datasets, each skipping with the reason when
absent (CI always has both).

Datasets are read in place from ``dxcore.datasets.data_dir()`` (``$DX_DATA_DIR`` or
``../shared/data``); nothing from them is ever copied into the repository. Two factories
serve every test: ``shipped_model(id)`` and ``dataset(folder)``; the named fixtures below
are the models and files most tests share.

What runs over a whole split (a shipped model's predictions of its test split or of its
recipe's calibration cases) is computed once per session, on first use, by the factories
``shipped_test_predictions(id)`` and ``shipped_calibration_predictions(id)``: a test needing
it asks for the factory, never recomputes it, and only reads what it gets. The suite runs on
every core (pytest-xdist, ``pyproject.toml``): a session is a worker's, so each worker that
runs such a test computes the split once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dxcore.contract import DxModel
from dxcore.datasets import data_dir as resolve_data_dir
from dxcore.predictions import Predictions

# The conformance checks the package ships (dxcore.testing) assert as tests do: rewritten,
# so that a failing check shows the values it compared.
pytest.register_assert_rewrite("dxcore.testing")

# The audit trail (dxcore.audit) is off in tests, set before any test or server process
# starts, so that no run writes to the real log; a test that checks the log points
# DX_AUDIT_LOG at a temporary file itself.
os.environ["DX_AUDIT_LOG"] = "off"
# Likewise no administrator's site prevalence (dxcore.site_prior) is read: answers are
# adapted only where a test sets one.
os.environ["DX_SITE_PRIORS"] = "off"


@pytest.fixture(scope="session")
def shipped_model() -> Callable[[str], DxModel]:
    """``shipped_model("ecg-beats")``: the shipped model, loaded once per test process
    (the registry caches it); skips when it is not in ``saved_models/``."""
    from dxcore.errors import DxError
    from dxcore.registry import get_model

    def load(model_id: str) -> DxModel:
        try:
            return get_model(model_id).load()
        except DxError as error:
            pytest.skip(f"the shipped model {model_id} is not available ({error}); run "
                        f"python -m dxcore train {model_id}")
    return load


@pytest.fixture(scope="session")
def dataset() -> Callable[[str], Path]:
    """``dataset("mitdb")``: the dataset folder; skips when it is absent."""
    def find(name: str) -> Path:
        folder = resolve_data_dir() / name
        if not folder.is_dir() or not any(folder.iterdir()):
            pytest.skip(f"{name} dataset not found at {folder}; set DX_DATA_DIR")
        return folder
    return find


@pytest.fixture(scope="session")
def shipped_test_predictions(shipped_model, dataset) -> Callable[[str], Predictions]:
    """``shipped_test_predictions("cxr-pneumonia")``: the shipped model's predictions of its
    recipe's test split (the 624 test images for the chest X-ray model), computed once per
    session when first asked for; skips when the model or its dataset is absent."""
    return _split_predictions_once(shipped_model, dataset, "test_predictions")


@pytest.fixture(scope="session")
def shipped_calibration_predictions(shipped_model, dataset) -> Callable[[str], Predictions]:
    """``shipped_calibration_predictions("cxr-pneumonia")``: the shipped model's
    predictions of its recipe's calibration cases (the chest X-ray validation split's 652
    images), computed once per session when first asked for; skips as
    ``shipped_test_predictions`` does."""
    return _split_predictions_once(shipped_model, dataset, "calibration_predictions")


def _split_predictions_once(shipped_model: Callable[[str], DxModel],
                            dataset: Callable[[str], Path],
                            recipe_step: str) -> Callable[[str], Predictions]:
    """A factory of ``recipe.<recipe_step>(model, data)`` per model id, each computed on its
    first call and then shared (every test reads the same object: none may change it)."""
    from dxcore.registry import recipe_for

    computed: dict[str, Predictions] = {}

    def predictions(model_id: str) -> Predictions:
        if model_id not in computed:
            model = shipped_model(model_id)
            data = dataset(model.card["training_data"]["data_folder"]).parent
            computed[model_id] = getattr(recipe_for(model_id), recipe_step)(model, str(data))
        return computed[model_id]
    return predictions


@pytest.fixture(scope="session")
def toy_models_dir(dataset, tmp_path_factory) -> Path:
    """A models folder holding only the toy plug-in model of ``tests/toy_modality.py``,
    trained on UCR ECG200 in a few seconds (point ``DX_MODELS_DIR`` at it for the CLI);
    skips when ecg200 is absent."""
    from tests import toy_modality

    data = dataset("ecg200").parent
    folder = tmp_path_factory.mktemp("toy-models")
    toy_modality.build(folder, data)
    return folder


@pytest.fixture(scope="session")
def ecg200_test_beats(dataset) -> tuple[np.ndarray, np.ndarray]:
    """UCR ECG200's test beats and labels, the toy plug-in's test split; skips when ecg200
    is absent."""
    from tests import toy_modality

    return toy_modality.read_ucr(dataset("ecg200") / "ECG200_TEST.txt")


# --- The models and data most tests share -------------------------------------------


@pytest.fixture(scope="session")
def cxr_model(shipped_model):
    return shipped_model("cxr-pneumonia")


@pytest.fixture(scope="session")
def ecg_model(shipped_model):
    return shipped_model("ecg-beats")


@pytest.fixture(scope="session")
def heart_model(shipped_model):
    return shipped_model("heart-disease")


@pytest.fixture(scope="session")
def golub_model(shipped_model):
    return shipped_model("leukemia-golub")


@pytest.fixture(scope="session")
def ckd_model(shipped_model):
    return shipped_model("ckd")


@pytest.fixture(scope="session")
def data_dir(dataset) -> Path:
    """The datasets folder, when it holds the chest X-ray dataset."""
    return dataset("chest_xray").parent


@pytest.fixture(scope="session")
def mitdb_root(dataset) -> Path:
    return dataset("mitdb")


@pytest.fixture(scope="session")
def test_xray_path(dataset) -> Path:
    """One real chest X-ray from the official test split (224x224 RGB JPEG, gray content)."""
    folder = dataset("chest_xray") / "test" / "NORMAL"
    path = next(iter(sorted(folder.glob("*.jpeg"))), None)
    if path is None:
        pytest.skip(f"no test images found in {folder}; set DX_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def train_xray_path(dataset) -> Path:
    """One real chest X-ray of a child from the official train split (the training side:
    what a check of a guard fitted on training data may read)."""
    folder = dataset("chest_xray") / "train" / "NORMAL"
    path = next(iter(sorted(folder.glob("*.jpeg"))), None)
    if path is None:
        pytest.skip(f"no training images found in {folder}; set DX_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def test_xray_bytes(test_xray_path: Path) -> bytes:
    """The bytes of ``test_xray_path``, read once."""
    return test_xray_path.read_bytes()


@pytest.fixture(scope="session")
def test_batch(cxr_model, data_dir: Path) -> np.ndarray:
    """Eight test-set images (four of each class) prepared as the model reads them."""
    from dxcore.images import chest_xray

    test = chest_xray.official_split("test", data_dir)
    chosen = [test.paths[i] for i in (0, 60, 120, 180, 300, 400, 500, 600)]
    spec = cxr_model.card.input_spec
    return np.asarray(chest_xray.load_pixels(chosen, int(spec["side"]),
                                             normalization=spec.get("normalization", "unit")))


@pytest.fixture(scope="session")
def heart_test_split(heart_model, dataset):
    """The heart-disease test split (tables of text cells, labels)."""
    from dxcore.records.recipes import heart_disease

    dataset("heart_disease")
    return heart_disease.split()[2:]
