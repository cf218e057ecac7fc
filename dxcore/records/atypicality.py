"""The atypicality score: how unlike the training cohort a case is, as a percentile.

A case's reconstruction error (the mean square of the autoencoder's ``deviation``) is placed
among the training cohort's errors. The reference errors are out-of-fold (each training case
scored by a cross-validation model that never saw it), so a typical new case lands near the
middle rather than above every training case. The card stores the reference as 101 quantiles
(``atypicality.reference_quantiles``, percentiles 0, 1, ..., 100).

Example:
    >>> import numpy as np
    >>> reference = reference_quantiles(np.arange(1.0, 101.0))
    >>> atypicality(np.array([0.5, 50.5, 1000.0]), reference).tolist()
    [0.0, 50.0, 100.0]
"""

from __future__ import annotations

import numpy as np

ATYPICAL_FROM = 95.0  # percentile from which a case is flagged as unlike the cohort


def reconstruction_error(deviation: np.ndarray, recorded: np.ndarray | None = None
                         ) -> np.ndarray:
    """Mean squared deviation per case, in squared training standard deviations; with
    ``recorded`` (cases, columns) booleans, over the recorded values only, so that a case
    missing half its findings is not made to look typical by the zeros of the other half
    (:func:`dxcore.records.preprocessing.recorded_values`)."""
    squared = np.square(deviation)
    if recorded is None:
        return np.mean(squared, axis=-1)
    return np.sum(squared * recorded, axis=-1) / np.maximum(recorded.sum(axis=-1), 1)


def reference_quantiles(errors: np.ndarray) -> list[float]:
    """Percentiles 0..100 of the training cohort's (out-of-fold) reconstruction errors."""
    return np.percentile(errors, np.arange(101)).tolist()


def atypicality(errors: np.ndarray, quantiles: list[float]) -> np.ndarray:
    """Each error's percentile among the reference (0-100, piecewise linear in between)."""
    return np.round(np.interp(errors, quantiles, np.arange(101.0)), 1)
