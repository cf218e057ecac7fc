"""The shared UI helpers that need no Streamlit session: sentences, tables and the escaping
of text from uploads."""

import html
from pathlib import Path

import numpy as np
import pytest
from markdown_it import MarkdownIt  # a CommonMark parser, as the browser renders it

from dxcore.cards import ModelCard
from dxcore.contract import DecisionRule, Result
from dxcore.records.model import CaseBatch, CaseResult
from dxui.common import (
    RECORDED_COMMAND,
    card_metrics_table,
    clinical,
    models_table,
    plain,
    targets_text,
)
from dxui.records import errors_markdown
from dxui.results import decision_sentence, rule_text, upload_key

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


def result(probabilities: list[list[float]], rule: DecisionRule) -> Result:
    """A result as the contract's postprocess makes one (decisions by ``rule``)."""
    p = np.array(probabilities)
    return Result("m", rule, p, rule.decide(p), {}, p, detail=None)


def prediction(p: float, threshold: float) -> Result:
    return result([[1 - p, p]], DecisionRule(["NORMAL", "PNEUMONIA"], "PNEUMONIA", threshold))


ECG_RULE = DecisionRule(["N", "S", "V", "F"], log_offsets={"N": 0.0, "S": 0.0, "V": 0.0})


def test_decision_sentence_states_the_rule():
    assert decision_sentence(prediction(0.87, 0.43), 0, "image") == (
        "The model reads this image as **PNEUMONIA**: P(PNEUMONIA) = 0.87, at or above the "
        "decision threshold 0.43.")


def test_decision_sentence_never_shows_a_tie_that_decided_either_way():
    sentence = decision_sentence(prediction(0.4299, 0.4301), 0, "image")
    assert "**NORMAL**" in sentence and "0.4299, below the decision threshold 0.4301" in sentence


def test_decision_sentence_of_an_argmax_rule_names_its_classes():
    beats = result([[0.2, 0.1, 0.3, 0.4]], ECG_RULE)  # F is the most probable, never returned
    # the class given stands for F, so its probability is P(V or F), the largest shown
    assert decision_sentence(beats, 0, "beat") == (
        "The model reads this beat as **V**: P(V or F) = 0.70, the most probable of N, S and "
        "V.")


def test_rule_text_says_what_the_card_applies():
    assert rule_text(prediction(0.5, 0.27).rule) == "**PNEUMONIA if P(PNEUMONIA) ≥ 0.27**"
    folded = ("F is never returned, so its probability is counted with the class given "
              "(shown as P(N or F))")
    assert rule_text(ECG_RULE) == f"**the most probable of N, S and V** (plain argmax); {folded}"
    shifted = DecisionRule(["N", "S", "V", "F"], log_offsets={"N": 0.0, "S": 0.5, "V": -0.25})
    assert rule_text(shifted) == (
        "**the most probable of N, S and V** after adding each class's log-probability offset "
        f"(N +0.00, S +0.50, V -0.25); {folded}")


def test_upload_key_covers_names_and_bytes():
    key = upload_key({"a.hea": b"1", "a.dat": b"2"})
    assert key == upload_key({"a.dat": b"2", "a.hea": b"1"})  # not the order of the files
    assert key != upload_key({"a.hea": b"1", "a.dat": b"3"})
    assert key != upload_key({"b.hea": b"1", "a.dat": b"2"})
    assert len(key) == 64


def test_card_metrics_table_rows():
    table = card_metrics_table(card(METRICS))
    assert table.to_dict("records") == [
        {"Metric": "AUC", "Value": "0.962", "95% CI": "0.948–0.975"},
        {"Metric": "Sensitivity", "Value": "0.950", "95% CI": "0.930–0.970"},
        {"Metric": "Calibration error (ECE)", "Value": "0.031", "95% CI": "—"},
        {"Metric": "Test set size", "Value": "624 (390 PNEUMONIA)", "95% CI": ""},
    ]
    assert card_metrics_table(card({})).empty


def test_card_metrics_table_says_why_a_metric_has_no_value_and_separates_thousands():
    metrics = {"F_ppv": {"value": None, "ci95": None},
               "F_sensitivity": {"value": float("nan"), "ci95": [float("nan")] * 2},
               "V_ppv": {"value": 0.488, "ci95": [0.18, 0.947]},
               "misclassified": {"value": 5952, "of": 49705},
               "n": {"value": 49705, "N": 44259}}
    rows = {row["Metric"]: (row["Value"], row["95% CI"])
            for row in card_metrics_table(card(metrics)).to_dict("records")}
    assert rows == {"F PPV": ("not defined (no F calls)", "—"),
                    "F sensitivity": ("not defined (no F beats in the test set)", "—"),
                    "V PPV": ("0.488", "0.180–0.947"),
                    "Wrongly classified test cases": ("5,952 of 49,705", "—"),
                    "Test set size": ("49,705", "")}
    assert "F_sensitivity" not in card(metrics).headline()


def test_clinical_wording_drops_command_lines():
    assert clinical("V PPV from 0.67 to 0.82 (scripts/ecg_cv.py --members 3).") == (
        "V PPV from 0.67 to 0.82.")
    assert clinical("give its rate (--fs on the command line)") == "give its rate"
    assert clinical("python -m dxcore train ecg-beats --epochs 6") == RECORDED_COMMAND
    assert clinical("fusion (F) beats, -250 to +461 ms") == "fusion (F) beats, -250 to +461 ms"


def test_models_table_shows_headline_metrics_with_intervals():
    [row] = models_table([card(METRICS)]).to_dict("records")
    assert row == {"Model": "Chest", "ID": "cxr-pneumonia", "Modality": "Image",
                   "Task": "Pneumonia", "Test n": "624",
                   "Headline test metrics (95% CI)":
                       "AUC 0.962 (0.948-0.975) · Sensitivity 0.950 (0.930-0.970)",
                   "Targets": "none stated"}


def test_models_table_names_each_modality_in_words_without_importing_it():
    """A built-in modality's word before its package is imported (the home page imports
    no TensorFlow), a registered plug-in's from its registration, else the card's name."""
    from tests import toy_modality as toy

    cards = [ModelCard({**card({}).fields, "modality": name}, Path("."))
             for name in ("image", "ecg", "record", toy.MODALITY, "eeg-sleep")]
    assert list(models_table(cards)["Modality"]) == [
        "Image", "ECG", "Record", "Toy beats", "Eeg-Sleep"]


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


# What a hostile file may hold in a cell, a column name, a lead name or a DICOM attribute.
HOSTILE_TEXTS = [
    "![x](http://evil.example/track.png)",
    "<img src=http://evil.example/i.png>",
    "<script>alert(1)</script>",
    "[click here](http://evil.example/)",
    "<http://evil.example/>",
    "**bold** _it_ `code` ~~gone~~",
    "# heading",
    "- a list item",
    "1. numbered",
    "> quoted",
    "a | b\n---|---\nc | d",
    ":red[coloured] $x^2$",
    "&lt; &amp; &#60;",
    "back\\slash\\*",
]


# CommonMark with GitHub's tables and strikethrough, as Streamlit renders Markdown.
GFM = MarkdownIt("commonmark").enable(["table", "strikethrough"])


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_plain_markdown_renders_as_the_text_itself(text):
    """CommonMark (as Streamlit's Markdown renderer reads it) makes one paragraph of the
    escaped text that says exactly the text: no image, link, tag, emphasis or block."""
    rendered = GFM.render(plain(text))
    assert rendered == f"<p>{html.escape(text, quote=False)}</p>\n"


def test_plain_keeps_letters_digits_and_spaces():
    assert plain("Lead MLII 360 Hz") == "Lead MLII 360 Hz"
    assert plain(42) == "42"
    assert plain("é ü 中") == "é ü 中"


def test_errors_markdown_escapes_each_rows_message_and_keeps_the_list():
    cell = "Thal: '![x](http://evil.example/t.png)' is not one of 3, 6 or 7"
    batch = CaseBatch("heart-disease", [CaseResult(1, {}, error=f"Row 1, {cell}."),
                                        CaseResult(2, {}, prediction="absent")], notes=[])
    rendered = GFM.render(errors_markdown(batch))
    assert "<img" not in rendered and "<a " not in rendered
    assert f"<li>Row 1, {html.escape(cell, quote=False)}.</li>" in rendered
