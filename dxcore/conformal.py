"""Prediction sets with a coverage guarantee: split conformal prediction, class-conditional
("Mondrian", Vovk et al. 2005; Angelopoulos & Bates, "A gentle introduction to conformal
prediction", 2021, section 4.5).

On held-out calibration cases the non-conformity score of a case is ``1 - p(true class)``
(its calibrated probability). For each class ``k`` separately, the ``ceil((n_k + 1) c) / n_k``
empirical quantile ``q_k`` of the scores of the ``n_k`` calibration cases of class ``k`` is
kept; a new case's set holds every class ``k`` with ``1 - p_k <= q_k``, that is
``p_k >= 1 - q_k``: the card stores ``1 - q_k`` as the class's ``min_probability``. If
calibration and new cases are exchangeable, a case of class ``k`` gets a set that contains
``k`` with probability at least ``c`` (the coverage), for every class: a rare class is not
traded for a common one, which a marginal guarantee would allow.

Why a few lines of NumPy rather than crepes or MAPIE: the models are Keras networks whose
calibrated probabilities the contract already computes; the libraries' wrappers want a
scikit-learn estimator (MAPIE) or learner-agnostic score arrays plus bins (crepes), which
here come to the same quantile as below, with more code around it.
``tests/test_conformal.py`` checks the guarantee on held-out calibration cases.

The decision rule (a threshold, per-class offsets) may pick a class the set leaves out;
:meth:`ConformalSets.sets` then adds it: a superset keeps the guarantee, and the answer shown
is never missing from its own set.

Under label shift (a site whose classes' shares differ from the calibration cases', each class
looking the same) the class-conditional guarantee still holds, as each class is calibrated
on its own. The sets of answers adapted to a site's prior (:mod:`dxcore.label_shift`) are
the label-shift-weighted split conformal sets of Podkopaev A & Ramdas A, "Distribution-free
uncertainty quantification for classification under label shift", UAI 2021
(:func:`label_shift_sets`): the score of a calibration case is ``1 - p'(true class)`` with
its probabilities adapted too, each case weighs ``w(y) = π'(y) / π(y)``, and a candidate
class ``k`` of the new case adds its own weight ``w(k)`` at infinity; the set holds ``k`` when
the score ``1 - p'_k`` is within the weighted ``c`` quantile. They cover a share ``c`` of the
site's cases, over all classes, when ``w`` is right.

Groups (Mondrian by a property of the case the modality names, e.g. a case record's number
of missing findings): the card may hold, beside the classes' floors, floors per group
(``runtime.conformal.groups``), each calibrated on the calibration cases of that group only;
a case of a group gets its group's floors, so the guarantee holds within each group (Vovk
et al. 2005, "Mondrian conformal predictors"). A modality names each item's group with
:meth:`dxcore.contract.DxModel.conformal_groups`.

Example:
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 2, 2000)
    >>> p1 = labels * 0.4 + rng.uniform(0, 0.6, 2000)  # overlapping classes
    >>> probabilities = np.stack([1 - p1, p1], axis=1)
    >>> sets = ConformalSets.fit(probabilities, labels, ["A", "B"], [0.9])
    >>> sets.sets(np.array([[0.5, 0.5], [0.99, 0.01]]), np.array(["B", "A"]))
    [['A', 'B'], ['A']]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dxcore.errors import DxError

DEFAULT_COVERAGE = 0.9


def class_thresholds(probabilities: np.ndarray, labels: np.ndarray,
                     coverage: float) -> np.ndarray:
    """Each class's ``min_probability`` (``1 - q_k``, see the module) from calibration
    cases: ``probabilities`` (cases, classes) calibrated, ``labels`` class indices. A class
    with too few calibration cases for the coverage asked gets 0: it is always in the set."""
    labels = np.asarray(labels)
    thresholds = np.zeros(probabilities.shape[1])
    for k in range(probabilities.shape[1]):
        scores = np.sort(1.0 - probabilities[labels == k, k])
        rank = int(np.ceil((len(scores) + 1) * coverage))  # 1-based
        thresholds[k] = 0.0 if rank > len(scores) else max(0.0, 1.0 - scores[rank - 1])
    return thresholds


@dataclass(frozen=True)
class ConformalSets:
    """The card's conformal rule: per coverage level, each class's minimum probability."""

    class_names: list[str]
    min_probability: dict[str, dict[str, float]]  # {"0.9": {class: p}, ...}
    coverage: float = DEFAULT_COVERAGE  # the level the dashboard shows
    # {group: {"0.9": {class: p}, ...}}: a case of a group listed here gets its floors
    groups: dict[str, dict[str, dict[str, float]]] | None = None
    group_rule: dict | None = None  # how the modality assigns groups (it reads this)

    @classmethod
    def fit(cls, probabilities: np.ndarray, labels: np.ndarray, class_names: list[str],
            coverages: list[float], default: float = DEFAULT_COVERAGE) -> ConformalSets:
        return cls(list(class_names), {
            _level(c): dict(zip(class_names, class_thresholds(probabilities, labels, c)
                                .round(6).tolist(), strict=True)) for c in coverages},
            default)

    @classmethod
    def from_runtime(cls, class_names: list[str], runtime: dict) -> ConformalSets:
        grouped = runtime.get("groups")
        return cls(list(class_names), runtime["min_probability"], float(runtime["coverage"]),
                   None if grouped is None else grouped["min_probability"],
                   None if grouped is None else grouped["rule"])

    def as_runtime(self) -> dict:
        """The card's ``runtime.conformal``."""
        out = {"coverage": self.coverage, "min_probability": self.min_probability}
        if self.groups is not None:
            out["groups"] = {"rule": self.group_rule, "min_probability": self.groups}
        return out

    @property
    def levels(self) -> list[float]:
        return sorted(float(c) for c in self.min_probability)

    def membership(self, probabilities: np.ndarray, coverage: float | None = None,
                   groups: list[str] | None = None) -> np.ndarray:
        """(cases, classes) booleans: which classes each case's set holds, before the
        decision is added; ``groups``: each case's group, where the card has floors per
        group (a group it lacks gets the floors of all cases)."""
        key = _level(self.coverage if coverage is None else coverage)
        if key not in self.min_probability:
            raise DxError(f"Prediction sets are calibrated at coverage "
                          f"{', '.join(self.min_probability)}, not {key}.")
        floors = np.tile([self.min_probability[key][n] for n in self.class_names],
                         (len(probabilities), 1))
        if groups is not None and self.groups is not None:
            for i, group in enumerate(groups):
                if group in self.groups:
                    floors[i] = [self.groups[group][key][n] for n in self.class_names]
        return probabilities >= floors

    def sets(self, probabilities: np.ndarray, decisions: np.ndarray,
             coverage: float | None = None, groups: list[str] | None = None
             ) -> list[list[str]]:
        """Each case's prediction set (class names in class order), its decision included."""
        member = self.membership(probabilities, coverage, groups)
        member |= np.asarray(decisions)[:, None] == np.asarray(self.class_names)[None, :]
        names = np.asarray(self.class_names)
        return [names[row].tolist() for row in member]


def label_shift_thresholds(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                           coverage: float) -> np.ndarray:
    """Podkopaev & Ramdas (2021): per candidate class ``k``, the ``coverage`` quantile of the
    calibration ``scores`` (cases of class ``labels``) weighted by ``weights[label]``, with
    the new case's own weight ``weights[k]`` as a mass at infinity (then the threshold is
    infinite: every score passes).

    >>> scores = np.linspace(0.1, 0.9, 9)  # unweighted, this is the split conformal quantile
    >>> label_shift_thresholds(scores, np.zeros(9, int), np.ones(2), 0.8).round(2).tolist()
    [0.8, 0.8]
    >>> label_shift_thresholds(scores, np.zeros(9, int), np.array([1.0, 9.0]), 0.8).tolist()
    [0.8, inf]
    """
    order = np.argsort(scores, kind="stable")
    sorted_scores = np.asarray(scores, float)[order]
    cumulative = np.cumsum(np.asarray(weights, float)[np.asarray(labels)[order]])
    thresholds = np.full(len(weights), np.inf)
    for k, own in enumerate(weights):
        # the first score whose weighted share reaches the coverage (less a rounding error)
        rank = int(np.searchsorted(cumulative / (cumulative[-1] + own), coverage - 1e-12))
        if rank < len(sorted_scores):
            thresholds[k] = sorted_scores[rank]
    return thresholds


def label_shift_sets(calibration: np.ndarray, calibration_labels: np.ndarray,
                     probabilities: np.ndarray, weights: np.ndarray, decisions: np.ndarray,
                     class_names: list[str], coverage: float) -> list[list[str]]:
    """Each case's set under label shift (:func:`label_shift_thresholds`), from the
    calibration cases' and the new cases' probabilities, both adapted to the site's prior,
    and the weights ``π' / π``. A class is in a case's set when ``1 - p'_k`` is within its
    threshold; the decision is always added. A set that holds no class means a case harder
    than all but a share ``1 - c`` of the calibration cases: it is shown as every class (a
    superset, so the guarantee holds), not as the decision alone, so that such a case reads
    as uncertain.

    >>> calibration = np.array([[0.9, 0.1]] * 8 + [[0.6, 0.4], [0.3, 0.7]])
    >>> labels = np.array([0] * 9 + [1])
    >>> new = np.array([[0.95, 0.05], [0.5, 0.5]])
    >>> label_shift_sets(calibration, labels, new, np.ones(2), np.array(["A", "B"]),
    ...                  ["A", "B"], 0.8)
    [['A'], ['A', 'B']]
    """
    labels = np.asarray(calibration_labels)
    scores = 1.0 - np.asarray(calibration)[np.arange(len(labels)), labels]
    thresholds = label_shift_thresholds(scores, labels, weights, coverage)
    member = 1.0 - np.asarray(probabilities) <= thresholds[None, :]
    member[~member.any(axis=1)] = True
    member |= np.asarray(decisions)[:, None] == np.asarray(class_names)[None, :]
    names = np.asarray(class_names)
    return [names[row].tolist() for row in member]


def _level(coverage: float) -> str:
    return f"{float(coverage):g}"


def coverage_report(sets: list[list[str]], labels: list[str], resamples: int = 2000,
                    seed: int = 0, groups: list[str] | None = None) -> dict:
    """Empirical coverage (share of cases whose set holds their true class) and the share
    of sets with more than one class, each with a bootstrap 95% CI over cases, or over
    ``groups`` (an ECG's records: beats of one patient are not independent)."""
    from dxcore.metrics import bootstrap_intervals

    covered = np.array([label in s for s, label in zip(sets, labels, strict=True)], float)
    multiple = np.array([len(s) > 1 for s in sets], float)
    intervals = bootstrap_intervals(
        lambda i: {"coverage": covered[i].mean(), "non_singleton_share": multiple[i].mean()},
        len(covered), resamples, seed, None if groups is None else np.asarray(groups))
    labels = np.asarray(labels)
    return {**{name: {"value": round(float(values.mean()), 4),
                      "ci95": [round(bound, 4) for bound in intervals[name]]}
               for name, values in (("coverage", covered), ("non_singleton_share", multiple))},
            "cases": len(covered), "resampled": "cases" if groups is None else "records",
            "coverage_by_class": {str(name): round(float(covered[labels == name].mean()), 4)
                                  for name in sorted(set(labels.tolist()))}}
