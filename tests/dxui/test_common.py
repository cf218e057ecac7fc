"""The shared UI helpers that need no Streamlit session: sentences and tables."""

from pathlib import Path

from dxcore.models import Prediction

from dxcore.cards import ModelCard
from dxui.common import card_metrics_table, decision_sentence, models_table, targets_text

METRICS = {
    "auc": {"value": 0.9621, "ci95": [0.9483, 0.9751]},
    "sensitivity": {"value": 0.95, "ci95": [0.93, 0.97]},
    "ece": {"value": 0.031},
    "n": {"value": 624, "positives": 390},
}


def card(test_metrics: dict, targets: dict | None = None) -> ModelCard:
    fields = {"id": "cxr-pneumonia", "name": "Chest", "modality": "image", "task": "Pneumonia",
              "class_names": ["NORMAL", "PNEUMONIA"], "positive_class": "PNEUMONIA",
              "test_metrics": test_metrics}
    if targets is not None:
        fields["targets"] = targets
    return ModelCard(fields, Path("."))


def prediction(p: float, threshold: float) -> Prediction:
    label = "PNEUMONIA" if p >= threshold else "NORMAL"
    return Prediction({"NORMAL": 1 - p, "PNEUMONIA": p}, label, threshold, "PNEUMONIA", None)


def test_decision_sentence_states_the_rule():
    assert decision_sentence(prediction(0.87, 0.43)) == (
        "The model reads this image as **PNEUMONIA**: P(PNEUMONIA) = 0.87, at or above the "
        "decision threshold 0.43.")


def test_decision_sentence_never_shows_a_tie_that_decided_either_way():
    sentence = decision_sentence(prediction(0.4299, 0.4301))
    assert "**NORMAL**" in sentence and "0.4299, below the decision threshold 0.4301" in sentence


def test_card_metrics_table_rows():
    table = card_metrics_table(card(METRICS))
    assert table.to_dict("records") == [
        {"Metric": "AUC", "Value": "0.962", "95% CI": "0.948–0.975"},
        {"Metric": "Sensitivity", "Value": "0.950", "95% CI": "0.930–0.970"},
        {"Metric": "Calibration error (ECE)", "Value": "0.031", "95% CI": "—"},
        {"Metric": "Test set size", "Value": "624 (390 PNEUMONIA)", "95% CI": ""},
    ]
    assert card_metrics_table(card({})).empty


def test_models_table_shows_headline_metrics_with_intervals():
    [row] = models_table([card(METRICS)]).to_dict("records")
    assert row == {"Model": "Chest", "ID": "cxr-pneumonia", "Modality": "Image",
                   "Task": "Pneumonia", "Test n": "624",
                   "Headline test metrics (95% CI)":
                       "AUC 0.962 (0.948-0.975) · Sensitivity 0.950 (0.930-0.970)",
                   "Targets": "none stated"}


def test_models_table_without_test_metrics():
    [row] = models_table([card({})]).to_dict("records")
    assert row["Test n"] == "—"
    assert row["Headline test metrics (95% CI)"] == "not measured"


def test_targets_text_names_each_missed_target_in_words():
    assert targets_text(card(METRICS, {"auc": {"at_least": 0.96}})) == "met"
    missed = card({**METRICS, "misclassified": {"value": 4, "of": 34}},
                  {"auc": {"at_least": 0.97}, "misclassified": {"at_most": 2}})
    assert targets_text(missed) == (
        "missed: AUC 0.962 (target at least 0.97); Wrongly classified test cases 4 (target "
        "at most 2)")


def test_card_metrics_table_shows_counts_as_counts():
    table = card_metrics_table(card({"misclassified": {"value": 4, "of": 34}}))
    assert table.to_dict("records") == [
        {"Metric": "Wrongly classified test cases", "Value": "4 of 34", "95% CI": "—"}]
