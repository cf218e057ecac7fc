"""The shipped chest X-ray model on the official test split (624 images), as the card says
and as issue 2 demands: AUC >= 0.96, and accuracy >= 0.88 at the card's threshold (not
reached yet: an expected failure, strict, so that reaching it is noticed)."""

from __future__ import annotations

import pytest

from dxcore.evaluation import evaluate

pytestmark = pytest.mark.slow  # the 624 test images


@pytest.fixture(scope="module")
def test_metrics(cxr_model, data_dir):
    return evaluate("cxr-pneumonia", str(data_dir), resamples=300)


def test_auc_reaches_the_target(test_metrics):
    assert test_metrics["n"]["value"] == 624
    assert test_metrics["auc"]["value"] >= 0.96


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
