"""The shipped chest X-ray model on the official test split (624 images), as the card says,
against the card's targets (issue 15's, kept by issue 24): AUC >= 0.97 and accuracy >= 0.88
at the card's threshold, neither reached yet (expected failures, strict, so that reaching
them is noticed); AUC >= 0.96 (issue 2's first target) is still held."""

from __future__ import annotations

import pytest

from dxcore.evaluation import evaluate

pytestmark = pytest.mark.slow  # the 624 test images


@pytest.fixture(scope="module")
def test_metrics(cxr_model, data_dir, shipped_test_predictions):
    return evaluate("cxr-pneumonia", str(data_dir), resamples=300,
                    cases=shipped_test_predictions("cxr-pneumonia"))


def test_auc_holds_issue_2s_target(test_metrics):
    assert test_metrics["n"]["value"] == 624
    assert test_metrics["auc"]["value"] >= 0.96


@pytest.mark.xfail(strict=True, reason="AUC target of the card (0.97) not reached: 0.961 "
                   "(recipe v1, kept by issue 24)")
def test_auc_reaches_the_cards_target(test_metrics, cxr_model):
    assert test_metrics["auc"]["value"] >= cxr_model.card["targets"]["auc"]["at_least"]


@pytest.mark.xfail(strict=True, reason="issue 2 accuracy target not reached: 0.857 at the "
                   "validation threshold (specificity 0.63), below the 0.88 target")
def test_accuracy_reaches_the_target(test_metrics):
    assert test_metrics["accuracy"]["value"] >= 0.88


def test_the_card_holds_what_evaluate_measures(test_metrics, cxr_model):
    card = cxr_model.card["test_metrics"]
    for name in ("auc", "accuracy", "sensitivity", "specificity", "ece"):
        assert card[name]["value"] == pytest.approx(test_metrics[name]["value"], abs=1e-6)
    for name in ("auc", "accuracy", "sensitivity", "specificity"):
        low, high = card[name]["ci95"]
        assert low <= card[name]["value"] <= high
