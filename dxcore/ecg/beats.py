"""Beat positions: the record's reference annotations when present, else R peaks detected
by the XQRS detector of the ``wfdb`` package; the AAMI beat classes; beat matching.

- AAMI classes: ANSI/AAMI EC57:2012, "Testing and reporting performance results of cardiac
  rhythm and ST segment measurement algorithms"; the MIT-BIH symbol mapping of de Chazal P
  et al., IEEE TBME 51(7):1196-1206, 2004.
- XQRS: the detector shipped in wfdb-python (``wfdb.processing.XQRS``), after the GQRS
  detector of the WFDB software package (Moody GB, PhysioNet).
- Matching: a detection matches a reference beat within 150 ms (EC57, as in ``bxb``).

Example:
    >>> import numpy as np
    >>> aami_labels(np.array(["N", "A", "V", "~", "F", "/"]))
    array(['N', 'S', 'V', '', 'F', 'Q'], dtype='<U1')
    >>> match_beats(np.array([100, 460, 820]), np.array([103, 830, 2000]), fs=360)
    (array([0, 2]), array([0, 1]))
"""

from __future__ import annotations

from functools import cache
from types import FunctionType

import numpy as np
from scipy.ndimage import maximum_filter1d

AAMI_MAPPING = {
    "N": "N", "L": "N", "R": "N", "e": "N", "j": "N",
    "A": "S", "a": "S", "J": "S", "S": "S",
    "V": "V", "E": "V",
    "F": "F",
    "/": "Q", "f": "Q", "Q": "Q",
}
MATCH_WINDOW_S = 0.150
# The classes the beat model learns (Q, paced or unclassifiable, is too rare to learn).
MODEL_CLASSES = ("N", "S", "V", "F")


def aami_labels(symbols: np.ndarray) -> np.ndarray:
    """AAMI class of each WFDB symbol; ``""`` for annotations that are not beats."""
    return np.array([AAMI_MAPPING.get(str(s), "") for s in symbols], dtype="<U1")


def reference_beats(symbols: np.ndarray, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample indices and AAMI classes of the beat annotations (rhythm notes, noise and
    artefact marks dropped)."""
    labels = aami_labels(symbols)
    keep = labels != ""
    return np.asarray(samples)[keep], labels[keep]


def detect_beats(signal: np.ndarray, fs: float) -> np.ndarray:
    """R-peak sample indices found by wfdb's XQRS detector on one lead (with the
    vectorised peak helper, :func:`fast_xqrs`)."""
    detector = fast_xqrs()(sig=np.asarray(signal, dtype=np.float64), fs=fs)
    detector.detect(verbose=False)
    return np.unique(np.asarray(detector.qrs_inds, dtype=np.int64))


def match_beats(reference: np.ndarray, detected: np.ndarray,
                fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into ``reference``, into ``detected``) of beats paired within 150 ms, each
    used at most once (wfdb's ``compare_annotations``, whose window is strict: ``<``)."""
    from wfdb import processing

    window = int(round(MATCH_WINDOW_S * fs)) + 1
    comparison = processing.compare_annotations(np.asarray(reference), np.asarray(detected),
                                                window)
    matched_reference = np.flatnonzero(comparison.matching_sample_nums != -1)
    return matched_reference, comparison.matching_sample_nums[matched_reference]


def find_local_peaks(sig: np.ndarray, radius: int) -> np.ndarray:
    """Vectorised twin of ``wfdb.processing.peaks.find_local_peaks`` (same output).

    wfdb scans the signal sample by sample in Python (about 2 s per 30-minute record,
    twice per XQRS run); here the running maximum comes from scipy and only the
    candidates are scanned. A sample is a peak when it equals the maximum of
    ``sig[i - radius : i + radius]``; after a peak the next ``radius - 1`` samples are
    skipped, as in wfdb.
    """
    sig = np.asarray(sig)
    if sig.size == 0 or np.min(sig) == np.max(sig):
        return np.empty(0)
    # Window [i - radius, i + radius - 1]: size 2r, origin 0 in scipy's convention.
    running_max = maximum_filter1d(sig, size=2 * radius, mode="nearest")
    peaks = []
    next_allowed = 0
    for index in np.flatnonzero(sig == running_max):
        if index >= next_allowed:
            peaks.append(index)
            next_allowed = index + radius
    return np.array(peaks)


@cache
def fast_xqrs() -> type:
    """wfdb's ``XQRS``, with the two methods that look for local peaks reading
    :func:`find_local_peaks` instead of wfdb's own (the same output, about 4 s less per
    30-minute record). wfdb itself is left untouched: the methods are wfdb's code objects
    given a namespace of their own."""
    from wfdb.processing import qrs

    def with_fast_peaks(method: FunctionType) -> FunctionType:
        namespace = {**method.__globals__, "find_local_peaks": find_local_peaks}
        return FunctionType(method.__code__, namespace, method.__name__, method.__defaults__,
                            method.__closure__)

    methods = {name: with_fast_peaks(getattr(qrs.XQRS, name))
               for name in ("_mwi", "_learn_init_params")
               if "find_local_peaks" in getattr(qrs.XQRS, name).__code__.co_names}
    return type("FastXQRS", (qrs.XQRS,), methods)
