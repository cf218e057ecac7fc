"""Measuring a shipped model on its official test split and storing the result in its card."""

from __future__ import annotations

import json
from datetime import date

from dxcore.cards import CARD_FILE, ModelCard, write_card
from dxcore.registry import get_model, recipe_for


def evaluate(model_id: str, data: str | None = None, resamples: int = 2000) -> dict:
    """The model's test metrics with bootstrap 95% CIs, as its recipe defines them."""
    return recipe_for(model_id).evaluate(get_model(model_id), data, resamples)


def store_test_metrics(card: ModelCard, metrics: dict, purpose: str) -> ModelCard:
    """Write ``metrics`` into the card and count the measurement in its
    ``test_evaluations`` (the date, the recipe's training command and why it was made)."""
    fields = json.loads((card.folder / CARD_FILE).read_text())
    fields["test_metrics"] = metrics
    recipe = (fields.get("training") or {}).get("command", "not recorded")
    fields["test_evaluations"] = [*fields.get("test_evaluations", []), {
        "date": date.today().isoformat(), "recipe": recipe, "purpose": purpose,
        "shipped": True}]
    return write_card(fields, card.folder)
