"""The record-level summary a clinician reads first: duration, heart rate, beats per class,
ectopic burden, the longest ventricular run and the episodes worth a look.

Episode rules (conventional Holter-report definitions, e.g. Steinberg JS et al., "2017
ISHNE-HRS expert consensus statement on ambulatory ECG", Heart Rhythm 14(7):e55-e96):

- ventricular run: 3 or more consecutive V beats (couplet: exactly 2), a tachycardia run
  at 100 bpm or more, else idioventricular;
- supraventricular run: 3 or more consecutive S beats, a tachycardia run at 100 bpm or
  more, else a slow supraventricular run;
- pause: an RR interval over 2.0 s;
- tachycardia / bradycardia: the heart rate over 8 consecutive RR intervals above 120 or
  below 40 beats per minute; windows that share beats make one episode.

Detected beats can miss low-amplitude or wide beats, and a missed beat turns two RR
intervals into one long one: given the signal, a long RR interval with a beat-like
deflection inside (:func:`holds_a_beat`, in any lead given) is not listed as a pause but as
a detection doubt, as is a noisy stretch the signal-quality check could not read
(:func:`detection_doubts`): the summary says where the detection is unsure instead of
reporting a pause or a clean record there.

Example:
    >>> import numpy as np
    >>> times = np.arange(20) * 0.8
    >>> labels = np.array(["N"] * 10 + ["V"] * 4 + ["N"] * 6)
    >>> s = summarise(times, labels, duration_s=16.0, classes=["N", "S", "V", "F"])
    >>> s["mean_heart_rate_bpm"], s["longest_v_run"], s["episodes"][0]["kind"]
    (75.0, 4, 'idioventricular run')
"""

from __future__ import annotations

import numpy as np

from dxcore.ecg.detection import LONG_RR, reference_rr

MIN_RUN = 3
# A run of 3 or more ectopic beats is a tachycardia only at 100 bpm or more; a slower one
# is an idioventricular or a slow supraventricular (ectopic atrial or junctional) run.
RUN_TACHYCARDIA_BPM = 100.0
RUN_KINDS = {"V": ("ventricular tachycardia run", "idioventricular run"),
             "S": ("supraventricular tachycardia run", "slow supraventricular run")}
PAUSE_S = 2.0
RATE_INTERVALS = 8
TACHYCARDIA_BPM = 120.0
BRADYCARDIA_BPM = 40.0
MAX_EPISODES = 200
UNCLASSIFIABLE = "Q"
# A missed beat inside a long RR interval: a deflection whose peak-to-peak amplitude over
# QRS_S (band-passed BAND_HZ) reaches MISSED_BEAT_SHARE of the median beat's, in any lead.
# Searched from T_WAVE_S after the first beat (its T wave) to QRS_S before the next. An RR
# interval is checked when it is over PAUSE_S (else a pause), or over DOUBT_RR_S and
# LONG_RR times the RR a beat is expected after (as the search-back of dxcore.ecg.detection
# looks for one). On the DS1 records (XQRS and the search-back, two leads), the 18 checked
# intervals with a missed reference beat inside reached 0.51 to 4.4 of the median beat in
# one of the leads; of the 129 without one, 11 reached 0.3 (25 reached 0.25, the share used
# before on one lead).
MISSED_BEAT_SHARE = 0.3
BAND_HZ = (1.0, 30.0)
QRS_S = 0.15
T_WAVE_S = 0.45
DOUBT_RR_S = 1.5
NOISY = "noisy stretch"
MISSED = "long RR interval with a beat-like deflection inside"


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in ``mask`` (stop exclusive)."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(),
                    strict=True))


def run_rate_bpm(times: np.ndarray, start: int, stop: int) -> float:
    """The heart rate of the beats ``start`` to ``stop`` (exclusive), from first to last."""
    return 60.0 * (stop - start - 1) / max(float(times[stop - 1] - times[start]), 1e-9)


def _episode(kind: str, times: np.ndarray, start: int, stop: int, **detail) -> dict:
    return {"kind": kind, "start_s": round(float(times[start]), 3),
            "end_s": round(float(times[stop - 1]), 3), "beats": int(stop - start), **detail}


def band_passed(signal: np.ndarray, fs: float) -> np.ndarray:
    """The signal (one lead, or several as samples x leads) band-passed to
    :data:`BAND_HZ` (baseline wander and mains noise out), as samples x leads."""
    from scipy.signal import butter, sosfiltfilt

    high = min(BAND_HZ[1], 0.45 * fs)
    sos = butter(2, [BAND_HZ[0], high], btype="band", fs=fs, output="sos")
    leads = np.asarray(signal, np.float64).reshape(len(signal), -1)
    # one contiguous lead at a time: twice as fast as along the first axis
    return np.column_stack([sosfiltfilt(sos, np.ascontiguousarray(lead)) for lead in leads.T])


def holds_a_beat(filtered: np.ndarray, fs: float, samples: np.ndarray,
                 intervals: np.ndarray | None = None) -> np.ndarray:
    """For each RR interval between ``samples``, whether a beat-like deflection lies inside
    (``filtered`` from :func:`band_passed`): a peak-to-peak amplitude over a :data:`QRS_S`
    window that reaches :data:`MISSED_BEAT_SHARE` of the median beat's in any lead. Only
    the ``intervals`` given (indices) are checked, the others are False.

    >>> fs = 360
    >>> signal = np.zeros(20 * fs)
    >>> for second in (1, 2, 3, 6, 7, 8, 10):  # a beat at 10 s the detector missed
    ...     signal[second * fs: second * fs + 20] = 1.0
    >>> beats = np.array([1, 2, 3, 6, 7, 8, 12]) * fs
    >>> holds_a_beat(band_passed(signal, fs), fs, beats).tolist()
    [False, False, False, False, False, True]
    """
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    samples = np.asarray(samples, np.int64)
    width = max(1, int(round(QRS_S * fs)))
    half = width // 2  # a window centred on its sample, as scipy's running filters
    around = np.clip(samples[:, None] + np.arange(-half, width - half), 0, len(filtered) - 1)
    level = np.median(np.ptp(filtered[around], axis=1), axis=0)  # per lead; a lead flat
    needed = np.where(level > 0, MISSED_BEAT_SHARE * level, np.inf)  # at the beats: no say
    after, before = int(T_WAVE_S * fs), int(QRS_S * fs)
    inside = np.zeros(max(len(samples) - 1, 0), bool)
    checked = np.arange(len(inside)) if intervals is None else np.asarray(intervals, np.int64)
    for i in checked:
        start, stop = samples[i] + after, samples[i + 1] - before
        if stop <= start:
            continue
        first = max(start - half, 0)  # the windows of the samples start to stop, whole
        part = filtered[first:stop - half + width]
        amplitude = (maximum_filter1d(part, width, axis=0)
                     - minimum_filter1d(part, width, axis=0))[start - first:stop - first]
        inside[i] = bool((amplitude.max(axis=0) >= needed).any())
    return inside


def detection_doubts(times: np.ndarray, signal: np.ndarray, fs: float,
                     noisy: list[tuple[float, float]] = ()) -> tuple[list[dict], np.ndarray]:
    """Where detected beats are unsure, in time order, and per RR interval whether it is
    doubtful (then no pause): the long RR intervals (over :data:`PAUSE_S`, or over
    :data:`DOUBT_RR_S` and :data:`LONG_RR` times the expected RR) that hold a beat-like
    deflection in ``signal`` (one lead or several, at ``fs`` Hz; :func:`holds_a_beat`),
    and the ``noisy`` stretches (start, end in seconds) with every RR interval that
    overlaps one.

    >>> fs = 360
    >>> signal = np.zeros(20 * fs)
    >>> for second in (1, 2, 3, 4, 5, 6, 7, 8, 10, 11):  # a beat at 10 s not detected
    ...     signal[second * fs: second * fs + 20] = 1.0
    >>> times = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 11])
    >>> doubts, doubtful = detection_doubts(times, signal, fs, noisy=[(2.5, 3.5)])
    >>> [(d["start_s"], d["end_s"], d["reason"] == NOISY) for d in doubts]
    [(2.5, 3.5, True), (8.0, 11.0, False)]
    >>> np.flatnonzero(doubtful).tolist()
    [1, 2, 7]
    """
    times = np.asarray(times, np.float64)
    intervals = np.diff(times)
    doubtful = np.zeros(len(intervals), bool)
    if len(intervals) == 0:
        return [], doubtful
    expected = reference_rr(intervals)
    long = (intervals > PAUSE_S) | ((intervals > DOUBT_RR_S) & (intervals > LONG_RR * expected))
    held = doubtful.copy()
    if long.any():
        samples = np.clip(np.round(times * fs).astype(np.int64), 0, len(signal) - 1)
        held = holds_a_beat(band_passed(signal, fs), fs, samples, np.flatnonzero(long))
    doubts = [{"start_s": round(float(times[i]), 3), "end_s": round(float(times[i + 1]), 3),
               "reason": MISSED} for i in np.flatnonzero(held)]
    for start, end in noisy:
        doubts.append({"start_s": round(float(start), 3), "end_s": round(float(end), 3),
                       "reason": NOISY})
        doubtful |= (times[1:] > start) & (times[:-1] < end)
    return sorted(doubts, key=lambda d: d["start_s"]), doubtful | held


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(first, last) beat spans merged where they share a beat.

    >>> _merged([(0, 9), (5, 14), (20, 28)])
    [(0, 14), (20, 28)]
    """
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def episodes(times: np.ndarray, labels: np.ndarray,
             doubtful: np.ndarray | None = None) -> list[dict]:
    """Runs, pauses and rate episodes in time order; ``doubtful`` (per RR interval, from
    :func:`detection_doubts`) keeps the intervals where a beat may be missing out of the
    pauses."""
    found = []
    for label, (fast, slow) in RUN_KINDS.items():
        for start, stop in runs_of(labels == label):
            if stop - start >= MIN_RUN:
                rate = run_rate_bpm(times, start, stop)
                kind = fast if rate >= RUN_TACHYCARDIA_BPM else slow
                found.append(_episode(kind, times, start, stop, rate_bpm=round(rate)))
    intervals = np.diff(times)
    long = intervals > PAUSE_S
    if doubtful is not None:
        long &= ~doubtful
    for i in np.flatnonzero(long):
        found.append(_episode("pause", times, i, i + 2, rr_s=round(float(intervals[i]), 2)))
    if len(intervals) >= RATE_INTERVALS:
        window = np.convolve(intervals, np.ones(RATE_INTERVALS), "valid") / RATE_INTERVALS
        rate = 60.0 / window
        for kind, mask in (("tachycardia", rate > TACHYCARDIA_BPM),
                           ("bradycardia", rate < BRADYCARDIA_BPM)):
            # window j spans beats j .. j + RATE_INTERVALS: runs of windows less than that
            # apart share beats, and are one episode
            spans = [(start, stop - 1 + RATE_INTERVALS) for start, stop in runs_of(mask)]
            for first, last in _merged(spans):
                rate_bpm = 60.0 * (last - first) / max(times[last] - times[first], 1e-9)
                found.append(_episode(kind, times, first, last + 1,
                                      rate_bpm=round(float(rate_bpm))))
    return sorted(found, key=lambda e: (e["start_s"], e["kind"]))


# --- Times as the page and the report write them -----------------------------------------


def clock(seconds: float, tenths: bool = True) -> str:
    """A time in the record, to a tenth of a second (or to the second).

    >>> clock(83.42), clock(3723), clock(1805.56, tenths=False)
    ('1:23.4', '1:02:03.0', '30:06')
    """
    scale = 10 if tenths else 1
    minutes, rest = divmod(int(round(seconds * scale)), 60 * scale)
    hours, minutes = divmod(minutes, 60)
    second = f"{rest / scale:04.1f}" if tenths else f"{rest:02d}"
    return f"{hours}:{minutes:02d}:{second}" if hours else f"{minutes}:{second}"


def duration_text(seconds: float) -> str:
    """A record's length in words.

    >>> duration_text(45.3), duration_text(1805.56), duration_text(7300)
    ('45.3 s', '30 min 6 s', '2 h 01 min')
    """
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def summarise(times: np.ndarray, labels: np.ndarray, duration_s: float,
              classes: list[str], signal: np.ndarray | None = None,
              fs: float | None = None, noisy: list[tuple[float, float]] = ()) -> dict:
    """The summary of a record's beats (``times`` in seconds, ``labels`` their classes;
    class ``Q``, unclassifiable, is counted but in no burden). With the record's
    ``signal`` at ``fs`` Hz (for detected beats: the analysed lead, or it and the other
    leads as samples x leads) and its ``noisy`` stretches (start, end in seconds), the
    places where the detection is unsure are listed in ``detection_doubts`` and are no
    pauses (:func:`detection_doubts`); ``pauses_with_a_beat`` counts the RR intervals over
    :data:`PAUSE_S` found to hold a beat."""
    times, labels = np.asarray(times, dtype=np.float64), np.asarray(labels)
    n = len(labels)
    counts = {name: int((labels == name).sum()) for name in classes}
    # Unclassifiable (Q) beats are counted but left out of the burdens: they are neither
    # normal nor ectopic.
    classified = n - counts.get(UNCLASSIFIABLE, 0)
    span = float(times[-1] - times[0]) if n > 1 else 0.0
    v_runs = [stop - start for start, stop in runs_of(labels == "V")]
    doubts, doubtful = [], None
    if signal is not None and fs and n > 1:
        doubts, doubtful = detection_doubts(times, signal, fs, noisy)
    found = episodes(times, labels, doubtful)
    return {
        "duration_s": round(float(duration_s), 2),
        "beats": n,
        "mean_heart_rate_bpm": round(60.0 * (n - 1) / span, 1) if span > 0 else None,
        "beats_per_class": counts,
        "ectopic_burden_percent": (round(100.0 * (classified - counts.get("N", 0))
                                         / classified, 2) if classified else 0.0),
        "burden_percent": {name: round(100.0 * c / classified, 2) if classified else 0.0
                           for name, c in counts.items() if name not in ("N", UNCLASSIFIABLE)},
        "longest_v_run": int(max(v_runs, default=0)),
        "v_couplets": int(sum(length == 2 for length in v_runs)),
        "episodes": found[:MAX_EPISODES],
        "episodes_total": len(found),
        "pauses_with_a_beat": sum(d["reason"] == MISSED and d["end_s"] - d["start_s"] > PAUSE_S
                                  for d in doubts),
        "detection_doubts": doubts,
    }
