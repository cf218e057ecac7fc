"""The card's decision rule (dxcore.results.DecisionRule), applied in one place for every
model: a threshold on the positive class, or log-probability offsets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dxcore.cards import ModelCard
from dxcore.results import DecisionRule


def test_threshold_rule_returns_the_positive_class_at_or_above_its_threshold():
    rule = DecisionRule(["a", "b", "c"], positive_class="b", threshold=0.2)
    probabilities = np.array([[0.7, 0.2, 0.1],     # at the threshold: b
                              [0.7, 0.19, 0.11],   # below: the most probable other class
                              [0.1, 0.15, 0.75]])
    assert rule.decide(probabilities).tolist() == ["b", "a", "c"]


def test_offset_rule_adds_offsets_and_never_returns_a_class_without_one():
    card = ModelCard({"class_names": ["N", "S", "V", "F"], "runtime": {
        "decision": {"log_offsets": {"N": 0.0, "S": 1.0, "V": 0.0}}}}, Path("."))
    probabilities = np.array([[0.5, 0.3, 0.1, 0.1],    # S: log 0.3 + 1 > log 0.5
                              [0.1, 0.1, 0.1, 0.7],    # F is never returned
                              [0.2, 0.02, 0.7, 0.08]])
    assert DecisionRule.from_card(card).decide(probabilities).tolist() == ["S", "S", "V"]


def test_a_card_without_offsets_gets_the_threshold_rule():
    card = ModelCard({"class_names": ["no", "yes"], "runtime": {
        "decision": {"positive_class": "yes", "threshold": 0.6}}}, Path("."))
    rule = DecisionRule.from_card(card)
    assert (rule.positive_class, rule.threshold, rule.log_offsets) == ("yes", 0.6, None)
