"""Fixtures for the page tests: the app under ``streamlit.testing.v1.AppTest``.

The pages run models from the registry (``saved_models/``, or ``$DX_MODELS_DIR`` when set):
the chest X-ray page ``cxr-pneumonia``, the ECG page ``ecg-beats`` (while it is not in
``saved_models/``, point ``$DX_MODELS_DIR`` at a folder that holds both), the case-record
page ``heart-disease`` and ``ckd``. Tests skip when the model they need is not registered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.ecg.conftest import mitdb_root  # noqa: F401  (the ECG page tests use it too)

APP = Path(__file__).resolve().parents[2] / "app.py"
# The first run imports TensorFlow and loads the model: far slower than AppTest's 3 s default.
TIMEOUT = 90


def open_app(page: str | None = None) -> AppTest:
    """The app run once, switched to ``page`` and run again (``None``: the default page)."""
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page is not None:
        app.switch_page(page).run()
    return app


@pytest.fixture(scope="session")
def cxr_card():
    """The ``cxr-pneumonia`` model card; skips when no such model is registered."""
    from dxcore.registry import list_cards, models_dir

    cards = {card.id: card for card in list_cards()}
    if "cxr-pneumonia" not in cards:
        pytest.skip(f"no cxr-pneumonia model card in {models_dir()}: run "
                    "python -m dxcore train cxr-pneumonia")
    return cards["cxr-pneumonia"]


@pytest.fixture(scope="session")
def ecg_card():
    """The ``ecg-beats`` model card; skips when no such model is registered."""
    from dxcore.registry import list_cards, models_dir

    cards = {card.id: card for card in list_cards()}
    if "ecg-beats" not in cards:
        pytest.skip(f"no ecg-beats model card in {models_dir()}: set DX_MODELS_DIR to a "
                    "folder holding one (python -m dxcore train ecg-beats --out "
                    "DIR/ecg-beats)")
    return cards["ecg-beats"]


def registered_card(model_id: str):
    """The card of ``model_id`` in the registry; skips when no such model is registered."""
    from dxcore.registry import list_cards, models_dir

    cards = {card.id: card for card in list_cards()}
    if model_id not in cards:
        pytest.skip(f"no {model_id} model card in {models_dir()}: run "
                    f"python -m dxcore train {model_id}")
    return cards[model_id]


@pytest.fixture(scope="session")
def heart_card():
    """The ``heart-disease`` model card; skips when no such model is registered."""
    return registered_card("heart-disease")


@pytest.fixture(scope="session")
def ckd_card():
    """The ``ckd`` model card; skips when no such model is registered."""
    return registered_card("ckd")


@pytest.fixture
def open_page(cxr_card) -> Callable[[str | None], AppTest]:
    """``open_page("app_pages/chest_xray.py")``: :func:`open_app`, once the chest X-ray
    model is known to be there."""
    return open_app


def assert_targets_warned(app: AppTest, card) -> None:
    """One warning naming each target the card's model misses, or none when it meets them."""
    from dxui.common import BELOW_TARGETS, metric_label

    warnings = [warning.value for warning in app.warning if BELOW_TARGETS in warning.value]
    unmet = card.unmet_targets()
    assert len(warnings) == (1 if unmet else 0)
    for check in unmet:
        assert check.describe(metric_label(check.metric)) in warnings[0]
