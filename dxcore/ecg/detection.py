"""Beats from the signal alone: XQRS, then a search-back for the beats it missed.

XQRS (:func:`dxcore.ecg.beats.detect_beats`) misses wide ventricular beats: its 5-20 Hz
band-pass and 100-ms Ricker wavelet favour a steep, narrow QRS (a wide beat's energy
there can stay under its threshold), and its T-wave test (a peak within 360 ms of the
last QRS whose slope is under half of that QRS's) can turn an early one away. On the 22
DS1 records it found 88% of the V beats (record 208: 778 of 992), and a missed beat
leaves an RR interval about twice as long as its neighbours.

The search-back follows Pan J and Tompkins WJ ("A real-time QRS detection algorithm",
IEEE TBME 32(3):230-236, 1985), who search an RR interval longer than 166% of the recent
average again with half the threshold. Here:

- Long interval: longer than :data:`LONG_RR` times the reference RR, the 20th percentile
  of the surrounding :data:`RR_NEIGHBOURS` intervals either side, or of the whole
  record's when shorter (in a stretch where every second beat was missed, the local
  intervals are all doubled).
- Envelope (:func:`qrs_envelope`): per lead, the peak-to-peak amplitude over 100 ms of
  the 5-30 Hz band-passed signal, over its median at the detected beats. A wide beat has
  a low slope but a large swing; a T wave has little 5-30 Hz content. With a second lead
  the envelope is the geometric mean of both (a beat shows in both leads; noise in one
  lead is not enough); the analysed lead alone must also reach :data:`MIN_OWN_SHARE`
  (the beat is classified on that lead).
- Candidate: the highest local peak of the envelope (the largest within
  :data:`PEAK_RADIUS_S` either side) from :data:`AFTER_S` after the previous beat (past
  its QRS and the peak of its T wave) to :data:`BEFORE_S` before the next one; taken when
  it reaches :data:`ACCEPT_SHARE` of the median beat, or :data:`ACCEPT_SHARE_VERY_LONG`
  in an interval over :data:`VERY_LONG_RR` times the reference (a beat is then all but
  certain to be missing). Both halves of the interval are searched again: a run of
  missed beats is found one by one (record 124 had 19 s without a detection).
- Position: the largest absolute sample of the 1-30 Hz band-passed analysed lead within
  :data:`SNAP_S` of the candidate, where MIT-BIH's annotations and XQRS put a beat (the R
  peak, or the largest deflection of a wide beat), so that the 150-ms matching of
  :func:`~dxcore.ecg.beats.match_beats` and the beat windows of the network line up.

Every threshold was chosen on the DS1 records only (``scripts/ecg_detection.py``): with
the search-back, detection went from sensitivity 0.9867 / positive predictivity 0.9939
to 0.9968 / 0.9937, and the V beats found from 88.3% to 99.7%.

Example (a wide beat at 10.1 s among narrow ones, missing from the detections):
    >>> fs = 360
    >>> t = np.arange(20 * fs) / fs
    >>> def bump(at, width, height=1.0):
    ...     return height * np.exp(-0.5 * ((t - at) / width) ** 2)
    >>> narrow = [b for b in np.arange(0.5, 20, 0.8) if abs(b - 10.1) > 0.1]
    >>> lead = sum(bump(b, 0.01) for b in narrow) + bump(10.1, 0.04, 0.8)
    >>> search_back(np.round(np.array(narrow) * fs).astype(int), lead[:, None], fs).tolist()
    [3636]
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from scipy.signal import butter, find_peaks, sosfiltfilt

from dxcore.ecg.beats import detect_beats

ENVELOPE_BAND_HZ = (5.0, 30.0)
ENVELOPE_S = 0.100
SNAP_BAND_HZ = (1.0, 30.0)
SNAP_S = 0.100
SNAP_CONTEXT_S = 1.0
LONG_RR = 1.4
VERY_LONG_RR = 1.7
RR_NEIGHBOURS = 20
RR_QUANTILE = 0.2
ACCEPT_SHARE = 0.42
ACCEPT_SHARE_VERY_LONG = 0.33
MIN_OWN_SHARE = 0.25
AFTER_S = 0.30
BEFORE_S = 0.25
PEAK_RADIUS_S = 0.20


def _band(signal: np.ndarray, band: tuple[float, float], fs: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth band-pass along the last axis."""
    high = min(band[1], 0.45 * fs)
    sos = butter(2, [band[0], high], btype="band", fs=fs, output="sos")
    return sosfiltfilt(sos, np.asarray(signal, np.float64), axis=-1)


def qrs_envelope(leads: np.ndarray, samples: np.ndarray, fs: float) -> np.ndarray:
    """Per lead (``leads``: samples x leads), the 5-30 Hz peak-to-peak amplitude over
    :data:`ENVELOPE_S`, over its median at the beats ``samples`` (1.0: a typical beat)."""
    width = max(1, int(round(ENVELOPE_S * fs)))
    samples = np.asarray(samples, np.int64)
    envelope = np.empty(leads.shape)
    for k in range(leads.shape[1]):  # one contiguous lead at a time: twice as fast
        filtered = _band(np.ascontiguousarray(leads[:, k]), ENVELOPE_BAND_HZ, fs)
        lead = maximum_filter1d(filtered, width) - minimum_filter1d(filtered, width)
        envelope[:, k] = lead / max(float(np.median(lead[samples])), 1e-12)
    return envelope


def combined_envelope(envelope: np.ndarray) -> np.ndarray:
    """One QRS envelope from the per-lead ones (analysed lead first): the geometric mean
    of the analysed lead's and the strongest other lead's, or the analysed lead's alone."""
    if envelope.shape[1] == 1:
        return envelope[:, 0]
    return np.sqrt(envelope[:, 0] * envelope[:, 1:].max(axis=1))


def reference_rr(rr: np.ndarray) -> np.ndarray:
    """Per RR interval, the interval a beat is expected after: the 20th percentile of
    the :data:`RR_NEIGHBOURS` intervals either side, or of the record's when shorter."""
    rr = np.asarray(rr, np.float64)
    padded = np.pad(rr, RR_NEIGHBOURS, mode="edge")
    local = np.quantile(sliding_window_view(padded, 2 * RR_NEIGHBOURS + 1), RR_QUANTILE,
                        axis=1)
    return np.minimum(local, np.quantile(rr, RR_QUANTILE))


def search_back(samples: np.ndarray, leads: np.ndarray, fs: float) -> np.ndarray:
    """The beats missing from ``samples`` (sorted detections at ``fs`` Hz) that the
    search-back finds in ``leads`` (samples x leads, the analysed lead first), sorted."""
    samples = np.asarray(samples, np.int64)
    leads = np.asarray(leads, np.float64).reshape(len(leads), -1)
    if len(samples) < 3:
        return np.empty(0, np.int64)
    own_and_other = qrs_envelope(leads, samples, fs)
    envelope = combined_envelope(own_and_other)
    radius = int(PEAK_RADIUS_S * fs)
    peaks, _ = find_peaks(envelope, height=min(ACCEPT_SHARE, ACCEPT_SHARE_VERY_LONG))
    around = np.clip(peaks[:, None] + np.arange(-radius, radius + 1), 0, len(envelope) - 1)
    peaks = peaks[envelope[peaks] >= envelope[around].max(axis=1)]  # not on a QRS's flank
    if len(peaks) == 0:
        return np.empty(0, np.int64)
    strength = envelope[peaks]
    # the analysed lead's own envelope near each peak (within the snapping reach)
    near = np.clip(peaks[:, None] + np.arange(-int(SNAP_S * fs), int(SNAP_S * fs) + 1), 0,
                   len(envelope) - 1)
    own = own_and_other[near, 0].max(axis=1)
    rr = np.diff(samples)
    expected = reference_rr(rr)
    after, before = int(AFTER_S * fs), int(BEFORE_S * fs)
    # The record's edges count as beats just out of reach (a first or last beat XQRS
    # skipped is looked for too), the filters' first and last 100 ms left out.
    margin = int(ENVELOPE_S * fs)
    bounds = np.concatenate([[margin - after], samples, [len(leads) - 1 - margin + before]])
    expected = np.concatenate([expected[:1], expected, expected[-1:]])
    long = np.diff(bounds) > LONG_RR * expected
    # only the long intervals that hold a peak seen in the analysed lead are searched
    holding = np.searchsorted(bounds, peaks[own >= MIN_OWN_SHARE], side="right") - 1
    searched = np.intersect1d(holding, np.flatnonzero(long))
    pending = [(int(bounds[i]), int(bounds[i + 1]), float(expected[i])) for i in searched]
    added = []
    while pending:
        first, last, interval = pending.pop()
        if last - first <= LONG_RR * interval:
            continue
        start = np.searchsorted(peaks, first + after)
        stop = np.searchsorted(peaks, last - before, side="right")
        if stop <= start:
            continue
        strongest = start + int(np.argmax(strength[start:stop]))
        needed = (ACCEPT_SHARE_VERY_LONG if last - first > VERY_LONG_RR * interval
                  else ACCEPT_SHARE)
        if strength[strongest] < needed or own[strongest] < MIN_OWN_SHARE:
            continue
        best = int(peaks[strongest])
        added.append(best)
        pending += [(first, best, interval), (best, last, interval)]
    if not added:
        return np.empty(0, np.int64)
    return snap(np.sort(np.asarray(added, np.int64)), leads[:, 0], fs)


def snap(candidates: np.ndarray, lead: np.ndarray, fs: float) -> np.ndarray:
    """Each candidate moved to the largest absolute sample of the 1-30 Hz band-passed
    ``lead`` within :data:`SNAP_S` (the R peak, or a wide beat's largest deflection).
    Only :data:`SNAP_CONTEXT_S` either side of each is filtered (on DS1 the same samples as
    filtering the whole lead for 99.5% of the beats added, one sample off for the rest)."""
    half, context = int(SNAP_S * fs), int(SNAP_CONTEXT_S * fs)
    around = np.clip(candidates[:, None] + np.arange(-context, context + 1), 0, len(lead) - 1)
    filtered = np.abs(_band(lead[around], SNAP_BAND_HZ, fs))[:, context - half:context + half + 1]
    return np.clip(candidates - half + np.argmax(filtered, axis=1), 0, len(lead) - 1)


def find_beats(leads: np.ndarray, fs: float) -> np.ndarray:
    """Beat samples of a record from its signal alone: XQRS on the analysed lead (the
    first column of ``leads``, samples x leads), then :func:`search_back`."""
    leads = np.asarray(leads, np.float64).reshape(len(leads), -1)
    detected = detect_beats(leads[:, 0], fs)
    return np.union1d(detected, search_back(detected, leads, fs))
