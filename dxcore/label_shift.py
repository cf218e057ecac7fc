"""Label shift: a site's class prior, estimated from a batch of unlabelled answers, and
calibrated probabilities corrected to it.

Under label shift the classes' shares change from the training prior ``π`` to a site's
``π'`` while each class looks the same as in training (``p(x|y)`` unchanged: a clinic that
sees more pneumonia, not another kind of X-ray). Saerens M, Latinne P & Decaestecker C,
"Adjusting the outputs of a classifier to new a priori probabilities: a simple procedure",
Neural Computation 14(1):21-41 (2002):

- Bayes' rule corrects a posterior calibrated under ``π``:
  ``p'(y|x) ∝ p(y|x) π'(y) / π(y)`` (:func:`reweight`);
- ``π'`` is the maximum-likelihood prior of the batch, found by EM (:func:`em_prior`): the
  E step corrects every posterior to the current estimate, the M step takes their mean.

Both need probabilities calibrated under ``π``; Alexandari A, Kundaje A & Shrikumar A,
"Maximum likelihood with bias-corrected calibration is hard-to-beat at label shift
adaptation", ICML 2020, show that temperature scaling alone may leave them biased towards a
class and that a temperature with a bias per class (BCTS,
:func:`dxcore.calibration.fit_bias_corrected_temperature`) makes EM accurate. How sure the
estimate is: a percentile bootstrap over the batch's answers (:func:`prior_interval`).

:class:`SitePrior` is the prior an answer was adapted to, with where it came from.

Example:
    >>> rng = np.random.default_rng(0)
    >>> training = np.array([0.5, 0.5])
    >>> labels = rng.random(4000) < 0.2                  # the site: 20% of class 1
    >>> score = rng.normal(np.where(labels, 1.0, -1.0))  # overlapping classes
    >>> p1 = 1 / (1 + np.exp(-2 * score))                # calibrated under 50/50
    >>> float(labels.mean()), em_prior(np.stack([1 - p1, p1], axis=1), training).round(3).tolist()
    (0.20825, [0.791, 0.209])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dxcore.errors import DxError

# Where a site prior comes from (SitePrior.source), in words.
SOURCES = {
    "batch": "estimated from these {answers} answers",
    "configured": "set for this site by its administrator",
    "audit": "estimated from this site's {answers} most recent answers in the audit trail",
    "training": "the model's training prior (no site prevalence known)",
}
RESAMPLES = 1000


def em_prior(probabilities: np.ndarray, training_prior: np.ndarray,
             tolerance: float = 1e-8, max_iterations: int = 10_000) -> np.ndarray:
    """The class prior of the batch ``probabilities`` (answers, classes), calibrated under
    ``training_prior``, by the EM algorithm of Saerens et al. (2002): the prior whose
    corrected posteriors average to itself. Starts at the training prior; stops when no
    share moves by more than ``tolerance``."""
    probabilities = np.asarray(probabilities, float)
    if len(probabilities) == 0:
        raise DxError("A class prior cannot be estimated from no answers.")
    prior = np.asarray(training_prior, float)
    base = probabilities / prior  # the likelihood ratios p(y|x) / π(y), up to p(x)
    estimate = prior
    for _ in range(max_iterations):
        posterior = base * estimate
        updated = (posterior / posterior.sum(axis=1, keepdims=True)).mean(axis=0)
        done = np.abs(updated - estimate).max() <= tolerance
        estimate = updated
        if done:
            break
    return estimate


def prior_interval(probabilities: np.ndarray, training_prior: np.ndarray,
                   resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """The 95% percentile-bootstrap interval of :func:`em_prior`, the batch's answers
    drawn with replacement ``resamples`` times (:func:`dxcore.metrics.bootstrap_intervals`):
    (2, classes), lower then upper bounds."""
    from dxcore.metrics import bootstrap_intervals  # scikit-learn behind it: only here

    probabilities = np.asarray(probabilities, float)
    intervals = bootstrap_intervals(
        lambda index: dict(enumerate(em_prior(probabilities[index], training_prior, 1e-6))),
        len(probabilities), resamples, seed)
    return np.array([intervals[k] for k in range(probabilities.shape[1])]).T


def reweight(probabilities: np.ndarray, training_prior: np.ndarray,
             site_prior: np.ndarray) -> np.ndarray:
    """Posteriors calibrated under ``training_prior`` corrected to ``site_prior`` by Bayes'
    rule, ``p'(y|x) ∝ p(y|x) π'(y) / π(y)``, row by row.

    >>> reweight(np.array([[0.5, 0.5]]), np.array([0.5, 0.5]), np.array([0.8, 0.2])).tolist()
    [[0.8, 0.2]]
    """
    weighted = np.asarray(probabilities, float) * (np.asarray(site_prior, float)
                                                   / np.asarray(training_prior, float))
    return weighted / weighted.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class SitePrior:
    """The class prior answers are adapted to: its shares by class, where it comes from
    (one of :data:`SOURCES`), how many answers it was estimated from and its 95% interval
    by class (estimates only)."""

    shares: dict[str, float]
    source: str
    answers: int = 0
    ci95: dict[str, list[float]] | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown prior source {self.source!r}")

    @property
    def adapts(self) -> bool:
        """Whether answers are changed by it (the training prior leaves them as they are)."""
        return self.source != "training"

    def vector(self, class_names: list[str]) -> np.ndarray:
        return np.array([self.shares[name] for name in class_names])

    def as_json(self) -> dict:
        """``{"shares": {...}, "source": "batch", "answers": 120, "ci95": {...}}`` (the
        last two only for an estimate)."""
        out: dict = {"shares": {k: round(v, 4) for k, v in self.shares.items()},
                     "source": self.source}
        if self.answers:
            out["answers"] = self.answers
        if self.ci95 is not None:
            out["ci95"] = {k: [round(b, 4) for b in v] for k, v in self.ci95.items()}
        return out

    def describe(self, name: str, label: str, training_prior: dict[str, float]) -> str:
        """The prior of class ``name`` (read as ``label``) in one sentence, e.g. "about 61%
        pneumonia (95% interval 55-67%), estimated from these 120 answers; the model was
        trained on 74%"."""
        share = f"{self.shares[name]:.0%} {label}"
        if self.ci95 is not None:
            low, high = self.ci95[name]
            share = f"about {share} (95% interval {low * 100:.0f}-{high:.0%})"
        text = f"{share}, {SOURCES[self.source].format(answers=self.answers)}"
        if self.source == "training":
            return f"{text}: answers as the model gives them"
        return f"{text}; the model was trained on {training_prior[name]:.0%}"


def estimated_prior(class_names: list[str], probabilities: np.ndarray,
                    training_prior: np.ndarray, source: str,
                    resamples: int = RESAMPLES) -> SitePrior:
    """The :class:`SitePrior` EM estimates from ``probabilities`` (calibrated under
    ``training_prior``), with its bootstrap interval."""
    estimate = em_prior(probabilities, training_prior)
    low, high = prior_interval(probabilities, training_prior, resamples)
    return SitePrior(dict(zip(class_names, estimate.tolist(), strict=True)), source,
                     len(probabilities),
                     {name: [float(a), float(b)]
                      for name, a, b in zip(class_names, low, high, strict=True)})
