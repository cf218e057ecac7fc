"""Measuring a shipped model on its official test split and storing the result in its card."""

from __future__ import annotations

import json

from dxcore.cards import CARD_FILE, ModelCard, write_card
from dxcore.metrics import report_binary
from dxcore.recipes import recipe_for
from dxcore.registry import get_model


def evaluate(model_id: str, data: str | None = None, resamples: int = 2000) -> dict:
    """Test metrics with bootstrap 95% CIs (resampling test images)."""
    model = get_model(model_id)
    labels, probability, _ = recipe_for(model_id).test_predictions(model, data)
    return report_binary(labels, probability, model.card["decision_threshold"],
                         resamples=resamples)


def store_test_metrics(card: ModelCard, metrics: dict) -> ModelCard:
    fields = json.loads((card.folder / CARD_FILE).read_text())
    fields["test_metrics"] = metrics
    return write_card(fields, card.folder)
