"""Temperature scaling and the decision threshold, fitted on validation data only.

Temperature scaling: Guo C et al., "On Calibration of Modern Neural Networks", ICML 2017.
Youden's J: Youden WJ, "Index for rating diagnostic tests", Cancer 3(1):32-35, 1950.

Example:
    >>> import numpy as np
    >>> logits = np.array([[0.0, 4.0], [4.0, 0.0], [0.0, 4.0], [0.0, -4.0]])
    >>> labels = np.array([1, 0, 0, 0])
    >>> round(fit_temperature(logits, labels), 1) > 1.0   # over-confident logits are softened
    True
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, softmax


def calibrated_probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of ``logits / temperature``, row by row."""
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=-1)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels``."""
    from scipy.optimize import minimize_scalar  # fitting only: prediction need not import it

    logits = np.asarray(logits, dtype=np.float64)

    def nll(log_temperature: float) -> float:
        log_p = log_softmax(logits / np.exp(log_temperature), axis=-1)
        return -float(log_p[np.arange(len(labels)), labels].mean())

    result = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


def sensitivity_threshold(labels: np.ndarray, positive_probability: np.ndarray,
                          sensitivity: float) -> float:
    """The highest cut-off (``p >= cut-off`` is positive) that still finds ``sensitivity`` of
    the positives: an operating point stated as a sensitivity, which does not move with the
    negatives, unlike Youden's, when the cases it meets are unlike these."""
    positives = np.sort(positive_probability[labels == 1])
    # The fewest positives that hold the sensitivity (less a rounding error of the product).
    kept = int(np.ceil(sensitivity * len(positives) - 1e-9))
    return float(positives[len(positives) - kept])


def youden_threshold(labels: np.ndarray, positive_probability: np.ndarray) -> float:
    """The probability cut-off that maximises sensitivity + specificity - 1."""
    from sklearn.metrics import roc_curve  # fitting only: prediction need not import it

    fpr, tpr, thresholds = roc_curve(labels, positive_probability)
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))
