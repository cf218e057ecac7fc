"""Temperature scaling and the decision threshold, fitted on validation data only.

Temperature scaling: Guo C et al., "On Calibration of Modern Neural Networks", ICML 2017.
Bias-corrected temperature scaling (BCTS, for label-shift adaptation): Alexandari A, Kundaje A,
Shrikumar A, "Maximum likelihood with bias-corrected calibration is hard-to-beat at label shift
adaptation", ICML 2020.
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


def fit_bias_corrected_temperature(logits: np.ndarray,
                                   labels: np.ndarray) -> tuple[float, np.ndarray]:
    """BCTS (Alexandari et al. 2020): the temperature ``T`` and per-class biases ``b`` (the
    first class's 0) that minimise the negative log-likelihood of ``softmax(z / T + b)``.
    Unlike a temperature alone, the biases make the probabilities' mean match the classes'
    shares, which a network trained with class weights misses.

    >>> logits = np.array([[2.0, 0.0]] * 6 + [[0.0, 2.0]] * 4)
    >>> labels = np.array([0] * 3 + [1] * 3 + [1] * 4)  # class 1 is called class 0 too often
    >>> temperature, bias = fit_bias_corrected_temperature(logits, labels)
    >>> bool(bias[1] > 0)
    True
    """
    from scipy.optimize import minimize  # fitting only: prediction need not import it

    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)

    def nll(parameters: np.ndarray) -> float:
        shifted = logits / np.exp(parameters[0]) + np.r_[0.0, parameters[1:]]
        return -float(log_softmax(shifted, axis=-1)[np.arange(len(labels)), labels].mean())

    start = np.r_[np.log(fit_temperature(logits, labels)), np.zeros(logits.shape[1] - 1)]
    fitted = minimize(nll, start, method="L-BFGS-B",
                      bounds=[(-3.0, 3.0)] + [(-20.0, 20.0)] * (logits.shape[1] - 1)).x
    return float(np.exp(fitted[0])), np.r_[0.0, fitted[1:]]


def bias_corrected_probabilities(probabilities: np.ndarray, temperature: float,
                                 corrected_temperature: float,
                                 bias: np.ndarray) -> np.ndarray:
    """BCTS probabilities from temperature-scaled ones (``softmax(z / temperature)``), without
    the logits: ``log p = z / temperature - c(x)``, so ``z / T' + b`` is
    ``(temperature / T') log p + b`` up to a constant per row. A probability rounded to 0
    (an audit trail's six decimals) is read as 1e-12.

    >>> p = calibrated_probabilities(np.array([[1.0, 3.0]]), 2.0)
    >>> bias_corrected_probabilities(p, 2.0, 1.0, np.zeros(2)).round(4).tolist()
    [[0.1192, 0.8808]]
    """
    log_p = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0))
    return softmax(log_p * (temperature / corrected_temperature) + np.asarray(bias), axis=-1)


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
