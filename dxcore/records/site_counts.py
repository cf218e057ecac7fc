"""What a model trained across sites is calibrated with: counts and sums each site computes
on its own out-of-fold predictions, pooled by the server. No row, score or label leaves a
site; the server sees, per site, sums over a grid and counts in bins.

- Temperature: each site sends the sum of its negative log-likelihoods at every temperature
  of a grid (:data:`TEMPERATURES`); the pooled minimum is the temperature (Guo et al. 2017).
- Threshold: each site sends, for every cut-off of a grid, how many of its cases of each
  class score at or above it; the pooled Youden cut-off follows.
- Conformal sets, per missingness group and class (Mondrian): each site sends counts of
  its non-conformity scores ``1 - p(true class)`` in :data:`BINS` equal bins of [0, 1]. The
  pooled quantile is read at the upper edge of its bin, so the set is never narrower than
  the exact split-conformal one (the rounding only adds coverage).
- Atypicality reference: counts of reconstruction errors in log-spaced bins; the
  percentiles are read at the bins' upper edges.

Example:
    >>> scores = np.array([0.05, 0.1, 0.2, 0.3, 0.6, 0.9, 0.1, 0.2, 0.4, 0.7])
    >>> counts = histogram(scores)  # one site's counts
    >>> quantile_from_counts([counts], 0.5)  # 6th of 10: 0.3, read at its bin's top
    0.301
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

BINS = 1000
TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(4.0), 121))
CUTOFFS = np.linspace(0.0, 1.0, 1001)
ERROR_EDGES = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 601)])


def histogram(scores: np.ndarray, edges: np.ndarray | None = None) -> np.ndarray:
    """Counts of ``scores`` in the bins of ``edges`` (default: :data:`BINS` equal bins of
    [0, 1]); a value beyond the last edge counts in the last bin."""
    edges = np.linspace(0.0, 1.0, BINS + 1) if edges is None else edges
    clipped = np.clip(np.asarray(scores, float), edges[0], edges[-1])
    return np.histogram(clipped, edges)[0]


def quantile_from_counts(counts: list[np.ndarray], coverage: float,
                         edges: np.ndarray | None = None) -> float:
    """The split-conformal quantile of the pooled scores, ``ceil((n + 1) c)``-th smallest,
    read at its bin's upper edge; 1.0 (every class in the set) when there are too few."""
    edges = np.linspace(0.0, 1.0, BINS + 1) if edges is None else edges
    pooled = np.sum(counts, axis=0)
    n = int(pooled.sum())
    rank = int(np.ceil((n + 1) * coverage))
    if rank > n:
        return float(edges[-1])
    return float(edges[1:][np.searchsorted(np.cumsum(pooled), rank)])


def nll_by_temperature(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A site's summed negative log-likelihood at each of :data:`TEMPERATURES`."""
    logits = np.asarray(logits, np.float64)
    return np.array([-log_softmax(logits / t, axis=-1)[np.arange(len(labels)), labels].sum()
                     for t in TEMPERATURES])


def pooled_temperature(sums: list[np.ndarray]) -> float:
    return float(TEMPERATURES[int(np.argmin(np.sum(sums, axis=0)))])


def counts_above(positive_probability: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(2, cut-offs): a site's cases of each class scoring at or above each cut-off."""
    p, labels = np.asarray(positive_probability), np.asarray(labels)
    return np.array([[(p[labels == k] >= c).sum() for c in CUTOFFS] for k in (0, 1)])


def pooled_youden(counts: list[np.ndarray]) -> float:
    """The cut-off of :data:`CUTOFFS` with the largest sensitivity + specificity - 1."""
    pooled = np.sum(counts, axis=0).astype(float)
    negatives, positives = pooled[0, 0], pooled[1, 0]  # everyone is at or above 0
    youden = pooled[1] / positives - pooled[0] / negatives
    return float(CUTOFFS[int(np.argmax(youden))])


def error_quantiles(counts: list[np.ndarray]) -> list[float]:
    """Percentiles 0..100 of the pooled reconstruction errors (bins' upper edges)."""
    cumulative = np.cumsum(np.sum(counts, axis=0))
    n = cumulative[-1]
    ranks = np.maximum(1, np.ceil(np.arange(101) / 100 * n)).astype(int)
    return ERROR_EDGES[1:][np.searchsorted(cumulative, ranks)].tolist()


def guard_from_statistics(statistics, schema, sd_limit: float = 5.0):
    """The domain guard of a model trained across sites, from the pooled statistics alone
    (counts, sums, sums of squares; :func:`dxcore.records.federation.training.pool_summaries`):
    essential are the fields every site recorded for every case; a numeric value beyond
    the pooled mean +- ``sd_limit`` SDs, or a category no site recorded, is refused; any
    other field may be missing (the model was trained with the sites' missingness)."""
    from dxcore.records.domain import RecordGuard

    essential = tuple(f.name for f in schema.fields if f.name in statistics.always_recorded)
    limits = {}
    for j, f in enumerate(schema.numeric):
        mean, sd = statistics.mean[j], float(np.sqrt(statistics.variance[j]))
        limits[f.name] = (round(mean - sd_limit * sd, 1), round(mean + sd_limit * sd, 1))
    unseen, column = {}, len(schema.numeric)
    for f in schema.categorical:
        shares = statistics.mean[column:column + len(f.categories)]
        column += len(f.categories)
        codes = tuple(code for code, share in zip(f.categories, shares, strict=True)
                      if share == 0)
        if codes:
            unseen[f.name] = codes
    return RecordGuard(essential, len(schema) - len(essential), limits=limits, unseen=unseen)
