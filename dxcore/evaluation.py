"""Measuring a shipped model on its official test split and storing the result in its card."""

from __future__ import annotations

import json

from dxcore.cards import CARD_FILE, ModelCard, write_card
from dxcore.registry import get_model, recipe_for


def evaluate(model_id: str, data: str | None = None, resamples: int = 2000) -> dict:
    """The model's test metrics with bootstrap 95% CIs, as its recipe defines them."""
    return recipe_for(model_id).evaluate(get_model(model_id), data, resamples)


def store_test_metrics(card: ModelCard, metrics: dict) -> ModelCard:
    fields = json.loads((card.folder / CARD_FILE).read_text())
    fields["test_metrics"] = metrics
    return write_card(fields, card.folder)
