"""Golub's standard preprocessing of expression arrays (a scikit-learn transformer), the
linear candidates of issue 15's selection behind it, and the shipped network's linear head
(the preprocessing's last steps as one Keras layer, the classifier as a Dense layer).

The preprocessing of Dudoit, Fridlyand & Speed (JASA 97:77-87, 2002), as in the golub
vignette of Bioconductor's ``multtest``: intensities floored at 100 and capped at 16,000;
probes kept only when their max/min > 5 and max - min > 500 over the training arrays;
log10; then each array standardised to mean 0 and SD 1 over the kept probes.

Sets that come already log-scaled (khan, sorlie, west in ``microarray/``) skip the floor,
ceiling and log; the fold-change and absolute-range thresholds mean nothing on their
scales (log base unknown, values centred), so the filter keeps the probes whose range over
the training arrays is at least the median range (the flatter half goes; Golub's filter
keeps 3,051 of 7,129 probes, about 43%).

Example:
    >>> x = np.array([[50.0, 1000, 20000, 300], [200, 100, 900, 310], [120, 5000, 400, 320]])
    >>> prep = GolubPreprocessing().fit(x)
    >>> prep.keep_.tolist()     # probe 0: 200/100 < 5; probe 3: flat
    [1, 2]
    >>> np.round(prep.transform(x), 3).tolist()
    [[-1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]]
"""

from __future__ import annotations

import keras
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

FLOOR, CEILING = 100.0, 16000.0
MIN_FOLD, MIN_RANGE = 5.0, 500.0
INNER_FOLDS = 3
GRIDS = {  # strongest regularisation first: GridSearchCV keeps the first of tied scores
    "nsc": {"nearestcentroid__shrink_threshold": [4.0, 3.0, 2.0, 1.0, 0.5, None]},
    "lr_l2": {"logisticregression__C": [1e-3, 1e-2, 1e-1, 1.0]},
    "lr_l1": {"logisticregression__C": [0.1, 0.5, 2.0]},
    "enet": {"logisticregression__C": [0.1, 1.0], "logisticregression__l1_ratio": [0.8, 0.2]},
    "svm": {"linearsvc__C": [1e-2, 1e-1, 1.0, 10.0]},
}


def clipped_log10(x: np.ndarray) -> np.ndarray:
    """Floor, ceiling and log10 (what the card's ``transform: log10`` does to each probe)."""
    return np.log10(np.clip(np.asarray(x, float), FLOOR, CEILING))


def kept_probes(x: np.ndarray, log_scaled: bool = False) -> np.ndarray:
    """Indices of the probes the filter keeps, from the training arrays ``x``."""
    x = np.asarray(x, float)
    if log_scaled:
        spread = x.max(axis=0) - x.min(axis=0)
        return np.flatnonzero(spread >= np.median(spread))
    clipped = np.clip(x, FLOOR, CEILING)
    high, low = clipped.max(axis=0), clipped.min(axis=0)
    return np.flatnonzero((high / low > MIN_FOLD) & (high - low > MIN_RANGE))


def standardise_arrays(x: np.ndarray) -> np.ndarray:
    """Each array (row) to mean 0 and SD 1 over its probes."""
    centred = x - x.mean(axis=1, keepdims=True)
    return centred / centred.std(axis=1, keepdims=True)


class GolubPreprocessing(TransformerMixin, BaseEstimator):
    """Raw (or, with ``log_scaled``, already logged) arrays -> kept probes, log10 and
    per-array standardised; the filter is fitted on the arrays given to :meth:`fit`."""

    def __init__(self, log_scaled: bool = False):
        self.log_scaled = log_scaled

    def fit(self, x, y=None):
        self.keep_ = kept_probes(x, self.log_scaled)
        return self

    def transform(self, x):
        x = np.asarray(x, float)[:, self.keep_]
        return standardise_arrays(x if self.log_scaled else clipped_log10(x))


@keras.saving.register_keras_serializable(package="dxcore")
class ArrayStandardization(keras.layers.Layer):
    """The kept probes of a log10 profile, standardised per array: the last two steps of
    :class:`GolubPreprocessing` inside the network (its input is already floored, capped
    and logged by the card's field transform), so the weights file carries the filter."""

    def __init__(self, keep: list[int], **kwargs):
        super().__init__(**kwargs)
        self.keep = [int(i) for i in keep]

    def call(self, x):
        kept = keras.ops.take(x, np.asarray(self.keep, "int32"), axis=1)
        centred = kept - keras.ops.mean(kept, axis=1, keepdims=True)
        return centred / keras.ops.std(centred, axis=1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.keep))

    def get_config(self):
        return {**super().get_config(), "keep": self.keep}


def macro_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Binary: the AUC of the positive score; K classes: the mean one-vs-rest AUC."""
    scores = np.asarray(scores)
    if scores.ndim == 1:
        return float(roc_auc_score(y, scores))
    if scores.shape[1] == 2:
        return float(roc_auc_score(y, scores[:, 1] - scores[:, 0]))
    return float(np.mean([roc_auc_score(y == k, scores[:, k]) for k in range(scores.shape[1])]))


AUC_SCORER = make_scorer(macro_auc, response_method=("decision_function", "predict_proba"))


def linear_candidate(name: str, log_scaled: bool = False, seed: int = 0) -> GridSearchCV:
    """Golub's preprocessing and the classifier ``name`` (a key of :data:`GRIDS`), its
    hyperparameters chosen by an inner stratified CV (AUC) of the data it is fitted on."""
    prep = GolubPreprocessing(log_scaled=log_scaled)
    if name == "nsc":  # centroids in per-array-standardised units, no per-probe scaling
        pipe = make_pipeline(prep, NearestCentroid())
    elif name == "svm":
        pipe = make_pipeline(prep, StandardScaler(), LinearSVC(max_iter=20000))
    else:
        solver = "lbfgs" if name == "lr_l2" else "saga"
        l1 = {"lr_l2": 0.0, "lr_l1": 1.0, "enet": 0.5}[name]
        pipe = make_pipeline(prep, StandardScaler(), LogisticRegression(
            C=1.0, l1_ratio=l1, solver=solver, max_iter=1000, tol=1e-3, random_state=seed))
    return GridSearchCV(pipe, GRIDS[name], scoring=AUC_SCORER,
                        cv=StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=seed))


def affine_head(pipeline: Pipeline) -> tuple[np.ndarray, np.ndarray, float]:
    """A fitted binary pipeline of :func:`linear_candidate` as kept probes, weights and bias
    of its decision function on the per-array-standardised probes. Every candidate's
    binary decision is affine there (scaling, then a linear model or the difference of two
    centroid distances); read off at 0 and the unit vectors, checked on random points."""
    head = pipeline[1:]
    width = len(pipeline[0].keep_)
    bias = float(head.decision_function(np.zeros((1, width)))[0])
    weights = head.decision_function(np.eye(width)) - bias
    probe = np.random.default_rng(0).normal(size=(4, width))
    if not np.allclose(probe @ weights + bias, head.decision_function(probe), rtol=1e-6,
                       atol=1e-6 * (1 + np.abs(weights).sum())):
        raise ValueError("the classifier's decision is not affine in its input")
    return pipeline[0].keep_, weights, bias


def linear_logits(inputs, pipeline: Pipeline):
    """The logits of the fitted ``pipeline`` on the network's ``inputs`` (log10 profiles):
    ``[-f/2, f/2]`` for its decision ``f``, so that their difference (what the explainer
    attributes) is ``f`` and the softmax is the sigmoid of ``f``."""
    keep, weights, bias = affine_head(pipeline)
    standardized = ArrayStandardization(keep, name="array_standardization")(inputs)
    dense = keras.layers.Dense(2, name="logits")
    logits = dense(standardized)
    dense.set_weights([np.stack([-weights, weights], axis=1).astype("float32") / 2,
                       np.array([-bias, bias], "float32") / 2])
    return logits
