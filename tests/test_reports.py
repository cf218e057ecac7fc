"""The test report (dxcore.reports) on synthetic predictions, stored beside a copied card, and
once on the real chest X-ray test split in memory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dxcore.cards import ModelCard
from dxcore.predictions import Predictions
from dxcore.reports import CURVE_POINTS, FAILURES_SHOWN, build_report, read_report

BINARY = ["NORMAL", "PNEUMONIA"]
BEATS = ["N", "S", "V", "F"]


def card(class_names: list[str], decision: dict, temperature: float = 2.0) -> ModelCard:
    return ModelCard({"id": "synthetic", "class_names": class_names, "weights_sha256": "ab",
                      "runtime": {"decision": decision,
                                  "calibration_temperature": temperature}}, Path("."))


def binary_cases(n: int = 1000, seed: int = 0) -> Predictions:
    """Overlapping classes, over-confident logits (as an uncalibrated network gives them)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    margin = 3.0 * (labels - 0.5) + rng.normal(0, 2.5, n)
    logits = np.stack([np.zeros(n), margin], axis=1)
    return Predictions([f"case {i}" for i in range(n)], labels, logits, "synthetic split")


def test_binary_report_curve_operating_point_and_confusion_agree():
    cases = binary_cases()
    threshold = 0.4
    report = build_report(cases, card(BINARY, {"positive_class": "PNEUMONIA",
                                               "threshold": threshold}))

    assert list(report["roc"]) == ["PNEUMONIA"]
    roc = report["roc"]["PNEUMONIA"]
    assert 2 <= len(roc["fpr"]) <= CURVE_POINTS and len(roc["fpr"]) == len(roc["tpr"])
    assert roc["fpr"][0] == 0 and roc["fpr"][-1] == 1 and roc["tpr"][-1] == 1
    assert np.all(np.diff(roc["fpr"]) >= 0)
    assert 0.7 < roc["auc"] < 0.95
    # The operating point is the rule applied to the calibrated probabilities.
    p = cases.probabilities(2.0)[:, 1]
    positive = cases.labels == 1
    point = report["operating_points"]["PNEUMONIA"]
    assert point["sensitivity"] == pytest.approx((p[positive] >= threshold).mean(), abs=1e-4)
    assert point["specificity"] == pytest.approx((p[~positive] < threshold).mean(), abs=1e-4)
    [[tn, fp], [fn, tp]] = report["confusion_matrix"]["counts"]
    assert report["confusion_matrix"]["classes"] == BINARY
    assert tn + fp + fn + tp == report["cases"] == 1000
    assert tp / (tp + fn) == pytest.approx(point["sensitivity"], abs=1e-4)
    json.dumps(report, allow_nan=False)  # strict JSON


def test_calibration_shows_in_the_reliability_bins():
    """Logits made three times too large: temperature 3 brings the bins to the diagonal."""
    rng = np.random.default_rng(1)
    n = 4000
    true_logit = rng.normal(0, 1.5, n)
    labels = (rng.uniform(size=n) < 1 / (1 + np.exp(-true_logit))).astype(int)
    cases = Predictions([str(i) for i in range(n)], labels,
                        np.stack([np.zeros(n), 3 * true_logit], axis=1), "synthetic")
    report = build_report(cases, card(BINARY, {"positive_class": "PNEUMONIA",
                                               "threshold": 0.5}, temperature=3.0))

    before, after = report["reliability"]["before"], report["reliability"]["after"]
    assert before["predicted"] == "P(PNEUMONIA)"
    assert after["ece"] < 0.03 < before["ece"]
    assert sum(b["cases"] for b in after["bins"]) == n
    for b in after["bins"]:
        assert b["low"] <= b["mean_predicted"] <= b["high"]


def test_failures_are_the_most_confidently_wrong_cases():
    cases = binary_cases(300)
    report = build_report(cases, card(BINARY, {"positive_class": "PNEUMONIA",
                                               "threshold": 0.5}))
    shown = report["failures"]

    assert len(shown) == FAILURES_SHOWN
    assert all(f["true_class"] != f["predicted"] for f in shown)
    confidence = [f["probability"] for f in shown]
    assert confidence == sorted(confidence, reverse=True)
    wrong_total = sum(report["confusion_matrix"]["counts"][0][1:]) + \
        report["confusion_matrix"]["counts"][1][0]
    assert wrong_total > FAILURES_SHOWN  # the gallery shows the worst of many, not all
    worst = shown[0]
    index = cases.case_ids.index(worst["case_id"])
    p = cases.probabilities(2.0)[index]
    assert worst["probability"] == pytest.approx(p[BINARY.index(worst["predicted"])], abs=1e-4)
    assert worst["probability_of_true_class"] == pytest.approx(1 - worst["probability"],
                                                               abs=1e-4)


def test_multiclass_report_has_one_curve_per_decision_class():
    rng = np.random.default_rng(2)
    n = 600
    labels = rng.integers(0, 4, n)
    logits = rng.normal(0, 1, (n, 4)) + 2.5 * np.eye(4)[labels]
    cases = Predictions([f"233:{100 * i}" for i in range(n)], labels, logits, "beats")
    report = build_report(cases, card(BEATS, {"log_offsets": {"N": 0, "S": 0, "V": 0}}, 1.0))

    assert list(report["roc"]) == ["N", "S", "V"]  # F is never decided: no operating point
    assert all(0.8 < report["roc"][name]["auc"] <= 1 for name in report["roc"])
    counts = np.array(report["confusion_matrix"]["counts"])
    assert counts[:, 3].sum() == 0  # never decided F
    assert counts.sum() == n
    assert report["reliability"]["after"]["predicted"] == "confidence of the most probable class"
    assert all(f["predicted"] != "F" for f in report["failures"])


def test_stored_report_is_read_back_and_refused_when_changed(tmp_path, cxr_model):
    from dxcore.card_writing import write_card
    from dxcore.evaluation import store_test_report

    folder = tmp_path / cxr_model.card.id
    shutil.copytree(cxr_model.card.folder, folder)
    fields = json.loads((folder / "card.json").read_text())
    fields.pop("test_report", None)  # the shipped card's own report, set aside
    (folder / "test_report.json").unlink(missing_ok=True)
    copied = write_card(fields, folder)
    assert read_report(copied) == (None, "No test report stored for this model.")

    report = build_report(binary_cases(200), copied)
    stored = store_test_report(copied, report)
    assert stored["test_report"]["file"] == "test_report.json"
    assert read_report(stored) == (report, None)
    assert stored["test_evaluations"] == copied["test_evaluations"]  # not a measurement

    (folder / "test_report.json").write_text(json.dumps({**report, "cases": 1}))
    shown, problem = read_report(stored)
    assert shown is None and "checksum mismatch" in problem


@pytest.mark.slow
def test_report_of_the_real_chest_xray_test_split(cxr_model, data_dir,
                                                   shipped_test_predictions):
    card = cxr_model.card
    report = build_report(shipped_test_predictions("cxr-pneumonia"), card)

    assert report["cases"] == 624
    assert report["roc"]["PNEUMONIA"]["auc"] == pytest.approx(
        card["test_metrics"]["auc"]["value"], abs=1e-3)
    point = report["operating_points"]["PNEUMONIA"]
    assert point["sensitivity"] == pytest.approx(
        card["test_metrics"]["sensitivity"]["value"], abs=1e-3)
    assert point["specificity"] == pytest.approx(
        card["test_metrics"]["specificity"]["value"], abs=1e-3)
    for failure in report["failures"]:
        assert (data_dir / "chest_xray" / failure["case_id"]).is_file()


def test_the_calibration_words_say_what_the_test_split_showed(cxr_model):
    from dxcore.reports import calibration_text, read_report

    report, _ = read_report(cxr_model.card)
    before, after = (report["reliability"][k]["ece"] for k in ("before", "after"))
    text = calibration_text(cxr_model.card)
    assert f"from {before:.3f} to {after:.3f}" in text and "calibrated" not in text
