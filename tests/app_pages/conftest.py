"""Fixtures for the page tests: the app under ``streamlit.testing.v1.AppTest``.

The pages run the shipped ``cxr-pneumonia`` model from the registry (``saved_models/``, or
``$DX_MODELS_DIR`` when set); the tests skip when it is not registered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"
# The first run imports TensorFlow and loads the model: far slower than AppTest's 3 s default.
TIMEOUT = 90


@pytest.fixture(scope="session")
def cxr_card():
    """The ``cxr-pneumonia`` model card; skips when no such model is registered."""
    from dxcore.registry import list_cards, models_dir

    cards = {card.id: card for card in list_cards()}
    if "cxr-pneumonia" not in cards:
        pytest.skip(f"no cxr-pneumonia model card in {models_dir()}: run "
                    "python -m dxcore train cxr-pneumonia")
    return cards["cxr-pneumonia"]


@pytest.fixture
def open_page(cxr_card) -> Callable[[str | None], AppTest]:
    """``open_page("app_pages/chest_xray.py")``: the app run once, switched to that page and
    run again (``None``: the default page)."""

    def run(page: str | None = None) -> AppTest:
        app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        if page is not None:
            app.switch_page(page).run()
        return app

    return run
