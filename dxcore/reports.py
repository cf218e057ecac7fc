"""A model's test report: what the Models page draws, from one split's :class:`Predictions`
and the model's card (no Streamlit; JSON-ready).

- ``roc``: the ROC curve of the positive class for a binary model, one-vs-rest per decision
  class for a multi-class one (a class the rule never returns has no curve), at most
  :data:`CURVE_POINTS` points each, and its AUC over every case;
- ``operating_points``: sensitivity and specificity of each curve's class under the card's
  :class:`~dxcore.results.DecisionRule` (where the rule sits on its curve);
- ``reliability``: observed frequency against mean predicted probability in
  :data:`RELIABILITY_BINS` equal-width bins, before (temperature 1) and after (the card's
  temperature) calibration; binary models on the positive class, multi-class models on the
  top class's confidence (Guo C et al., "On Calibration of Modern Neural Networks", ICML
  2017);
- ``confusion_matrix``: true classes (rows) against the rule's decisions (columns);
- ``failures``: up to :data:`FAILURES_SHOWN` wrong cases, the most confidently wrong first.

``python -m dxcore evaluate MODEL_ID --store`` writes it beside the card as
:data:`REPORT_FILE`, pinned by its SHA-256 in the card's ``test_report``.

Example:
    >>> from dxcore.cards import ModelCard, sha256_of
    >>> card = ModelCard({"id": "toy", "class_names": ["no", "yes"], "weights_sha256": "0",
    ...                   "runtime": {"decision": {"positive_class": "yes", "threshold": 0.5},
    ...                               "calibration_temperature": 1.0}}, Path("."))
    >>> cases = Predictions(["a", "b", "c", "d"], np.array([0, 0, 1, 1]),
    ...                     np.array([[0, -2], [0, 1], [0, -1], [0, 2.0]]), "toy split")
    >>> report = build_report(cases, card)
    >>> report["roc"]["yes"]["auc"], report["operating_points"]["yes"]
    (0.75, {'sensitivity': 0.5, 'specificity': 0.5})
    >>> [(f["case_id"], f["true_class"], f["predicted"]) for f in report["failures"]]
    [('b', 'no', 'yes'), ('c', 'yes', 'no')]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from dxcore.cards import ModelCard, sha256_of
from dxcore.metrics import confusion
from dxcore.predictions import Predictions
from dxcore.results import DecisionRule

REPORT_FILE = "test_report.json"
CURVE_POINTS = 200
RELIABILITY_BINS = 10
FAILURES_SHOWN = 12
DIGITS = 4


def build_report(cases: Predictions, card: ModelCard,
                 decided: np.ndarray | None = None) -> dict[str, Any]:
    """The report of ``cases`` (a test split) under ``card``'s temperature and rule, or
    with the ``decided`` classes the recipe's prediction gives them."""
    names = card.class_names
    rule = DecisionRule.from_card(card)
    calibrated = cases.probabilities(card.temperature)
    if decided is None:
        decided = rule.decide(calibrated)
    truth = np.asarray(names)[cases.labels]
    curve_classes = _curve_classes(rule)
    return {
        "model": card.id,
        "weights_sha256": card.get("weights_sha256"),
        "source": cases.source,
        "cases": len(cases.case_ids),
        "temperature": card.temperature,
        "roc": {name: roc_points(cases.labels == names.index(name),
                                 calibrated[:, names.index(name)])
                for name in curve_classes},
        "operating_points": {name: operating_point(truth == name, decided == name)
                             for name in curve_classes},
        "reliability": {
            "before": reliability_bins(cases.probabilities(1.0), cases.labels, rule),
            "after": reliability_bins(calibrated, cases.labels, rule)},
        "confusion_matrix": {"classes": list(names),
                             "counts": confusion(truth, decided, names).tolist()},
        "failures": failures(cases, calibrated, decided, names),
    }


def _curve_classes(rule: DecisionRule) -> list[str]:
    """The positive class of a threshold rule; every class an argmax rule can return."""
    if rule.log_offsets is None:
        return [rule.positive_class]
    return [name for name in rule.class_names if name in rule.log_offsets]


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), DIGITS) for v in values]


def downsample(count: int, budget: int = CURVE_POINTS) -> np.ndarray:
    """Indices of at most ``budget`` of ``count`` points, evenly spread, the first and the
    last always kept.

    >>> downsample(5, 3).tolist(), downsample(3, 200).tolist()
    ([0, 2, 4], [0, 1, 2])
    """
    if count <= budget:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, budget).round().astype(int))


def roc_points(is_class: np.ndarray, probability: np.ndarray) -> dict[str, Any]:
    """One-vs-rest ROC of a class: false- and true-positive rates (downsampled) and the AUC
    over every case (None when the split holds only one side)."""
    is_class = np.asarray(is_class, bool)
    if is_class.all() or not is_class.any():
        return {"fpr": [], "tpr": [], "auc": None}
    fpr, tpr, _ = roc_curve(is_class, probability)
    keep = downsample(len(fpr))
    return {"fpr": _rounded(fpr[keep]), "tpr": _rounded(tpr[keep]),
            "auc": round(float(roc_auc_score(is_class, probability)), DIGITS)}


def operating_point(is_class: np.ndarray, decided_class: np.ndarray) -> dict[str, float | None]:
    """Sensitivity and specificity of deciding a class (one vs rest)."""
    is_class, decided_class = np.asarray(is_class, bool), np.asarray(decided_class, bool)

    def share(values: np.ndarray) -> float | None:
        return round(float(values.mean()), DIGITS) if len(values) else None

    return {"sensitivity": share(decided_class[is_class]),
            "specificity": share(~decided_class[~is_class])}


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, rule: DecisionRule,
                     bins: int = RELIABILITY_BINS) -> dict[str, Any]:
    """Equal-width bins of the predicted probability (the positive class's for a threshold
    rule, else the top class's confidence) with the observed frequency in each; empty bins
    are left out. ``ece``: the bins' count-weighted mean gap."""
    labels = np.asarray(labels)
    if rule.log_offsets is None:
        positive = rule.class_names.index(rule.positive_class)
        predicted, observed = probabilities[:, positive], labels == positive
        what = f"P({rule.positive_class})"
    else:
        predicted = probabilities.max(axis=1)
        observed = probabilities.argmax(axis=1) == labels
        what = "confidence of the most probable class"
    index = np.clip((predicted * bins).astype(int), 0, bins - 1)
    rows, gap = [], 0.0
    for b in range(bins):
        inside = index == b
        if not inside.any():
            continue
        mean, rate = float(predicted[inside].mean()), float(observed[inside].mean())
        gap += inside.mean() * abs(rate - mean)
        rows.append({"low": b / bins, "high": (b + 1) / bins, "cases": int(inside.sum()),
                     "mean_predicted": round(mean, DIGITS), "observed": round(rate, DIGITS)})
    return {"predicted": what, "bins": rows, "ece": round(float(gap), DIGITS)}


def failures(cases: Predictions, probabilities: np.ndarray, decided: np.ndarray,
             class_names: list[str], shown: int = FAILURES_SHOWN) -> list[dict[str, Any]]:
    """The wrong cases with the highest probability of their (wrong) decision."""
    truth = np.asarray(class_names)[cases.labels]
    columns = np.array([class_names.index(d) for d in decided], int)
    confidence = probabilities[np.arange(len(decided)), columns]
    wrong = np.flatnonzero(decided != truth)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:shown]
    return [{"case_id": cases.case_ids[i], "true_class": str(truth[i]),
             "predicted": str(decided[i]), "probability": round(float(confidence[i]), DIGITS),
             "probability_of_true_class": round(float(probabilities[i, cases.labels[i]]),
                                                DIGITS)}
            for i in worst]


# --- The file beside the card ------------------------------------------------------------


def read_report(card: ModelCard) -> tuple[dict[str, Any] | None, str | None]:
    """The card's stored test report and, when it cannot be used, why not (in words): none
    stored, missing, changed since the card pinned it, or of other weights."""
    entry = card.get("test_report")
    if entry is None:
        return None, "No test report stored for this model."
    path = Path(card.folder) / entry["file"]
    if not path.is_file():
        return None, f"The test report {entry['file']} named by the card is missing."
    if sha256_of(path) != entry["sha256"]:
        return None, (f"The test report {entry['file']} does not match the card (checksum "
                      "mismatch); it is not shown.")
    report = json.loads(path.read_text())
    if report.get("weights_sha256") != card.get("weights_sha256"):
        return None, "The stored test report is of other weights than this model's; it is " \
            "not shown."
    return report, None


def calibration_text(card: ModelCard) -> str:
    """What the probabilities' calibration did, in words the reliability diagram bears out:
    the method, and the expected calibration error on the test split before and after it
    when the card's stored report has them (0.088 to 0.087 is no calibration to boast of).

    >>> calibration_text(ModelCard({"id": "m", "runtime": {}}, Path(".")))
    'temperature scaling'
    """
    report, _ = read_report(card)
    reliability = (report or {}).get("reliability") or {}
    before = (reliability.get("before") or {}).get("ece")
    after = (reliability.get("after") or {}).get("ece")
    if before is None or after is None:
        return "temperature scaling"
    return (f"temperature scaling; on the held-out test set it took the expected calibration "
            f"error from {before:.3f} to {after:.3f}")
