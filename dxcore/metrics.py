"""Binary classification metrics with bootstrap 95% confidence intervals.

Bootstrap: Efron B, Tibshirani RJ, "An Introduction to the Bootstrap", 1993 (percentile
intervals). Expected calibration error: Naeini MP et al., AAAI 2015.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 1]); p = np.array([0.1, 0.6, 0.4, 0.9])
    >>> binary_metrics(y, p, threshold=0.5)["accuracy"]
    0.5
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import roc_auc_score


def expected_calibration_error(labels: np.ndarray, positive_probability: np.ndarray,
                               bins: int = 10) -> float:
    """Mean |observed rate - confidence| over equal-width bins of the predicted probability."""
    predicted = (positive_probability >= 0.5).astype(int)
    confidence = np.where(predicted == 1, positive_probability, 1 - positive_probability)
    correct = (predicted == labels).astype(float)
    edges = np.linspace(0.5, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            error += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(error)


def binary_metrics(labels: np.ndarray, positive_probability: np.ndarray,
                   threshold: float) -> dict[str, float]:
    """AUC, and accuracy, sensitivity and specificity at ``threshold``."""
    labels = np.asarray(labels)
    predicted = positive_probability >= threshold
    positives, negatives = labels == 1, labels == 0
    return {
        "auc": float(roc_auc_score(labels, positive_probability)),
        "accuracy": float((predicted == positives).mean()),
        "sensitivity": float(predicted[positives].mean()),
        "specificity": float((~predicted[negatives]).mean()),
    }


def bootstrap_intervals(metric: Callable[[np.ndarray], dict[str, float]], n: int,
                        resamples: int = 2000, seed: int = 0,
                        groups: np.ndarray | None = None) -> dict[str, list[float]]:
    """Percentile 95% intervals of each value ``metric(index)`` returns over resamples.

    ``metric`` receives an index array into the test set. With ``groups`` (e.g. patients or
    records) whole groups are resampled, which respects correlation within a group.
    """
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    unique_groups = np.unique(groups) if groups is not None else None
    if unique_groups is not None:  # each group's members, found once rather than per draw
        members = {g: np.flatnonzero(groups == g) for g in unique_groups}
    for _ in range(resamples):
        if unique_groups is None:
            index = rng.integers(0, n, n)
        else:
            chosen = rng.choice(unique_groups, len(unique_groups))
            index = np.concatenate([members[g] for g in chosen])
        try:
            values = metric(index)
        except ValueError:  # a resample with one class only has no AUC
            continue
        if not np.isfinite(list(values.values())).all():  # newer scikit-learn: nan, no error
            continue
        for key, value in values.items():
            draws.setdefault(key, []).append(value)
    return {key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]
            for key, v in draws.items()}


def report_binary(labels: np.ndarray, positive_probability: np.ndarray, threshold: float,
                  resamples: int = 2000, seed: int = 0) -> dict[str, dict]:
    """Each metric as ``{"value": v, "ci95": [low, high]}``, plus the ECE and counts."""
    labels = np.asarray(labels)
    point = binary_metrics(labels, positive_probability, threshold)
    intervals = bootstrap_intervals(
        lambda i: binary_metrics(labels[i], positive_probability[i], threshold),
        len(labels), resamples, seed)
    report: dict[str, dict] = {k: {"value": v, "ci95": intervals[k]} for k, v in point.items()}
    report["ece"] = {"value": expected_calibration_error(labels, positive_probability)}
    report["n"] = {"value": int(len(labels)), "positives": int(labels.sum())}
    return report


def multiclass_metrics(labels: np.ndarray, predicted: np.ndarray, classes: list[str],
                       scored: list[str] | None = None) -> dict[str, float]:
    """Accuracy, macro F1 and per-class sensitivity, PPV and F1 (keys like ``S_ppv``).

    Only the ``scored`` classes (default: all) get metrics and enter the macro F1; the
    others (e.g. "missed beat", "false detection") still count in every row and column
    total, and as errors in the accuracy. A class absent from both ``labels`` and
    ``predicted`` (possible in a resample) is left out of the macro F1 rather than
    counted as 0 or 1.

    Example:
        >>> y = np.array(["N", "N", "S", "V"]); p = np.array(["N", "S", "S", "V"])
        >>> m = multiclass_metrics(y, p, ["N", "S", "V"])
        >>> m["accuracy"], m["S_sensitivity"], m["S_ppv"]
        (0.75, 1.0, 0.5)
    """
    matrix = confusion(labels, predicted, classes)
    scored_index = [classes.index(name) for name in (scored or classes)]
    correct = sum(matrix[i, i] for i in scored_index)
    out = {"accuracy": float(correct / max(matrix.sum(), 1))}
    f1s = []
    for i in scored_index:
        name = classes[i]
        true, called, hit = matrix[i].sum(), matrix[:, i].sum(), matrix[i, i]
        sensitivity = hit / true if true else float("nan")
        ppv = hit / called if called else float("nan")
        f1 = 2 * hit / (true + called) if true + called else float("nan")
        out.update({f"{name}_sensitivity": float(sensitivity), f"{name}_ppv": float(ppv),
                    f"{name}_f1": float(f1)})
        f1s.append(f1)
    out["macro_f1"] = float(np.nanmean(f1s))
    return out


def confusion(labels: np.ndarray, predicted: np.ndarray, classes: list[str]) -> np.ndarray:
    """Counts, rows = reference class, columns = predicted class, in ``classes`` order."""
    names = np.asarray(classes)
    true = (np.asarray(labels)[:, None] == names).argmax(axis=1)
    called = (np.asarray(predicted)[:, None] == names).argmax(axis=1)
    k = len(classes)
    return np.bincount(true * k + called, minlength=k * k).reshape(k, k)


def report_multiclass(labels: np.ndarray, predicted: np.ndarray, classes: list[str],
                      groups: np.ndarray | None = None, resamples: int = 2000,
                      seed: int = 0, scored: list[str] | None = None) -> dict[str, dict]:
    """Each metric as ``{"value": v, "ci95": [low, high]}`` (bootstrap over ``groups``, e.g.
    records), plus the confusion matrix and the beat counts."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    point = multiclass_metrics(labels, predicted, classes, scored)

    def metric(index: np.ndarray) -> dict[str, float]:
        values = multiclass_metrics(labels[index], predicted[index], classes, scored)
        return {k: v for k, v in values.items() if not np.isnan(v)}

    intervals = bootstrap_intervals(metric, len(labels), resamples, seed, groups)
    report: dict[str, dict] = {k: {"value": v, "ci95": intervals.get(k)}
                               for k, v in point.items()}
    report["confusion_matrix"] = {"value": confusion(labels, predicted, classes).tolist(),
                                  "rows": "reference", "columns": "predicted",
                                  "classes": list(classes)}
    report["n"] = {"value": int(len(labels)),
                   **{name: int((labels == name).sum()) for name in classes}}
    return report


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> list[float]:
    """The Wilson score 95% interval of a proportion (Wilson EB, JASA 22:209-212, 1927;
    recommended over the normal approximation by Brown, Cai & DasGupta, Stat Sci 2001),
    which stays inside [0, 1] and is not degenerate at 0% or 100%.

    Example:
        >>> [round(v, 3) for v in wilson_interval(200, 200)]
        [0.981, 1.0]
    """
    if n == 0:
        return [0.0, 1.0]
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def share(hits: int, n: int) -> dict:
    """``{"value", "ci95", "n"}`` of a proportion with its Wilson 95% interval (value None
    for no cases: never NaN in a card)."""
    return {"value": hits / n if n else None, "ci95": wilson_interval(hits, n), "n": n}
