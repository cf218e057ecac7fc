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

    @classmethod
    def fit(cls, probabilities: np.ndarray, labels: np.ndarray, class_names: list[str],
            coverages: list[float], default: float = DEFAULT_COVERAGE) -> ConformalSets:
        return cls(list(class_names), {
            _level(c): dict(zip(class_names, class_thresholds(probabilities, labels, c)
                                .round(6).tolist(), strict=True)) for c in coverages},
            default)

    @classmethod
    def from_runtime(cls, class_names: list[str], runtime: dict) -> ConformalSets:
        return cls(list(class_names), runtime["min_probability"], float(runtime["coverage"]))

    def as_runtime(self) -> dict:
        """The card's ``runtime.conformal``."""
        return {"coverage": self.coverage, "min_probability": self.min_probability}

    @property
    def levels(self) -> list[float]:
        return sorted(float(c) for c in self.min_probability)

    def membership(self, probabilities: np.ndarray, coverage: float | None = None) -> np.ndarray:
        """(cases, classes) booleans: which classes each case's set holds, before the
        decision is added."""
        key = _level(self.coverage if coverage is None else coverage)
        if key not in self.min_probability:
            raise DxError(f"Prediction sets are calibrated at coverage "
                          f"{', '.join(self.min_probability)}, not {key}.")
        floor = np.array([self.min_probability[key][n] for n in self.class_names])
        return probabilities >= floor

    def sets(self, probabilities: np.ndarray, decisions: np.ndarray,
             coverage: float | None = None) -> list[list[str]]:
        """Each case's prediction set (class names in class order), its decision included."""
        member = self.membership(probabilities, coverage)
        member |= np.asarray(decisions)[:, None] == np.asarray(self.class_names)[None, :]
        names = np.asarray(self.class_names)
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
