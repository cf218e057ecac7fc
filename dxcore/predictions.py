"""A split's cases through a model: what prediction sets are fitted on (the recipe's
calibration cases) and what the test reports are drawn from (its test split).

Each recipe provides ``calibration_predictions(model, data)`` (the held-out cases it already
used for the temperature: a validation split carved by patient, or out-of-fold predictions
of a cross-validation) and its evaluation module ``test_predictions(model, data)``; both
return :class:`Predictions`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dxcore.calibration import calibrated_probabilities


@dataclass
class Predictions:
    """Cases of one split: an identifier each (a file path inside the dataset, a record
    and beat sample, a table row), the true class index and the network's raw logits."""

    case_ids: list[str]
    labels: np.ndarray   # (cases,) class indices
    logits: np.ndarray   # (cases, classes), before temperature scaling
    source: str          # what these cases are, in words ("validation split, 655 images")
    # Who each case belongs to (an ECG beat's record), for confidence intervals that
    # resample patients rather than cases; None: the cases are independent.
    groups: list[str] | None = None
    # Each case's group for prediction sets calibrated per group (runtime.conformal.groups)
    conformal_groups: list[str] | None = None

    def probabilities(self, temperature: float) -> np.ndarray:
        return calibrated_probabilities(self.logits, temperature)

    def label_names(self, class_names: list[str]) -> list[str]:
        return np.asarray(class_names)[self.labels].tolist()
