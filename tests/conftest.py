"""Shared fixtures.

Datasets are read in place from ``dxcore.datasets.data_dir()`` (``$DX_DATA_DIR`` or
``../shared/data``); nothing from them is ever copied into the repository. Tests that need a
dataset skip, saying where it was looked for, when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dxcore.datasets import data_dir as resolve_data_dir

# --- Datasets ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The datasets folder; skips the test when the chest X-ray dataset is not in it."""
    folder = resolve_data_dir()
    if not (folder / "chest_xray").is_dir():
        pytest.skip(f"chest_xray dataset not found at {folder / 'chest_xray'}; set DX_DATA_DIR")
    return folder


@pytest.fixture(scope="session")
def test_xray_path(data_dir: Path) -> Path:
    """One real chest X-ray from the official test split (224x224 RGB JPEG, gray content)."""
    folder = data_dir / "chest_xray" / "test" / "NORMAL"
    path = next(iter(sorted(folder.glob("*.jpeg"))), None)
    if path is None:
        pytest.skip(f"no test images found in {folder}; set DX_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def test_xray_bytes(test_xray_path: Path) -> bytes:
    """The bytes of ``test_xray_path``, read once."""
    return test_xray_path.read_bytes()


# --- Shipped models ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def cxr_model():
    """The shipped ``cxr-pneumonia`` model, loaded once (skips when it is not registered)."""
    from dxcore.registry import get_model, list_cards

    if "cxr-pneumonia" not in {card.id for card in list_cards()}:
        pytest.skip("saved_models/cxr-pneumonia is not there: run python -m dxcore train "
                    "cxr-pneumonia")
    return get_model("cxr-pneumonia").load()


@pytest.fixture(scope="session")
def test_batch(cxr_model, data_dir: Path):
    """Eight test-set images (four of each class) prepared as the model reads them."""
    import numpy as np

    from dxcore.datasets import chest_xray

    test = chest_xray.official_split("test", data_dir)
    chosen = [test.paths[i] for i in (0, 60, 120, 180, 300, 400, 500, 600)]
    side = int(cxr_model.card["input"]["side"])
    return np.asarray(chest_xray.load_pixels(chosen, side))
