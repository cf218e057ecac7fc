"""The registry of shipped models: every ``saved_models/*/card.json`` is one model.

Example:
    >>> from dxcore.registry import list_cards
    >>> [card.id for card in list_cards()]        # doctest: +SKIP
    ['cxr-pneumonia']
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from dxcore.cards import CARD_FILE, ModelCard, read_card
from dxcore.datasets import PROJECT_ROOT
from dxcore.errors import DxError
from dxcore.models import DxModel, model_for


def models_dir() -> Path:
    """``$DX_MODELS_DIR`` if set, else the repository's ``saved_models/``."""
    return Path(os.environ.get("DX_MODELS_DIR") or PROJECT_ROOT / "saved_models")


def list_cards(folder: Path | None = None) -> list[ModelCard]:
    folder = folder or models_dir()
    return [read_card(path) for path in sorted(folder.glob(f"*/{CARD_FILE}"))]


def get_card(model_id: str, folder: Path | None = None) -> ModelCard:
    for card in list_cards(folder):
        if card.id == model_id:
            return card
    known = ", ".join(card.id for card in list_cards(folder)) or "none"
    raise DxError(f"There is no model called '{model_id}'. Shipped models: {known}.")


@cache
def get_model(model_id: str, folder: Path | None = None) -> DxModel:
    """The model with this id; its weights load on first use, once per process."""
    return model_for(get_card(model_id, folder))
