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
deflection inside (:func:`holds_a_beat`) is not listed as a pause.

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
# QRS_S (band-passed BAND_HZ) reaches MISSED_BEAT_SHARE of the median beat's. Searched from
# T_WAVE_S after the first beat (its T wave) to QRS_S before the next. On the long RR
# intervals of XQRS on the DS1 records, those with reference beats inside reached 0.29 to
# 1.4 of the median beat, the empty ones (blocked P waves, true pauses) 0.03 to 0.23.
MISSED_BEAT_SHARE = 0.25
BAND_HZ = (1.0, 30.0)
QRS_S = 0.15
T_WAVE_S = 0.45


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in ``mask`` (stop exclusive)."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(),
                    strict=True))


def _episode(kind: str, times: np.ndarray, start: int, stop: int, **detail) -> dict:
    return {"kind": kind, "start_s": round(float(times[start]), 3),
            "end_s": round(float(times[stop - 1]), 3), "beats": int(stop - start), **detail}


def deflection(signal: np.ndarray, fs: float) -> np.ndarray:
    """The signal's peak-to-peak amplitude over each :data:`QRS_S` window, band-passed to
    :data:`BAND_HZ` (baseline wander and mains noise out)."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d
    from scipy.signal import butter, sosfiltfilt

    high = min(BAND_HZ[1], 0.45 * fs)
    filtered = sosfiltfilt(butter(2, [BAND_HZ[0], high], btype="band", fs=fs, output="sos"),
                           np.asarray(signal, np.float64))
    width = max(1, int(round(QRS_S * fs)))
    return maximum_filter1d(filtered, width) - minimum_filter1d(filtered, width)


def holds_a_beat(amplitude: np.ndarray, fs: float, samples: np.ndarray) -> np.ndarray:
    """For each RR interval between ``samples``, whether a beat-like deflection lies inside
    (``amplitude`` from :func:`deflection`): one that reaches :data:`MISSED_BEAT_SHARE` of
    the median beat's.

    >>> fs = 360
    >>> signal = np.zeros(20 * fs)
    >>> for second in (1, 2, 3, 6, 7, 8, 10):  # a beat at 10 s the detector missed
    ...     signal[second * fs: second * fs + 20] = 1.0
    >>> beats = np.array([1, 2, 3, 6, 7, 8, 12]) * fs
    >>> holds_a_beat(deflection(signal, fs), fs, beats).tolist()
    [False, False, False, False, False, True]
    """
    samples = np.asarray(samples, np.int64)
    reference = float(np.median(amplitude[samples]))
    after, before = int(T_WAVE_S * fs), int(QRS_S * fs)
    inside = []
    for first, last in zip(samples[:-1], samples[1:], strict=True):
        window = amplitude[first + after:last - before]
        inside.append(window.size > 0 and window.max() >= MISSED_BEAT_SHARE * reference)
    return np.asarray(inside, bool)


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
             beat_inside: np.ndarray | None = None) -> list[dict]:
    """Runs, pauses and rate episodes in time order; ``beat_inside`` (per RR interval,
    from :func:`holds_a_beat`) keeps the intervals with a missed beat out of the pauses."""
    found = []
    for label, (fast, slow) in RUN_KINDS.items():
        for start, stop in runs_of(labels == label):
            if stop - start >= MIN_RUN:
                rate = 60.0 * (stop - start - 1) / max(times[stop - 1] - times[start], 1e-9)
                kind = fast if rate >= RUN_TACHYCARDIA_BPM else slow
                found.append(_episode(kind, times, start, stop, rate_bpm=round(rate)))
    intervals = np.diff(times)
    long = intervals > PAUSE_S
    if beat_inside is not None:
        long &= ~beat_inside
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
              fs: float | None = None) -> dict:
    """The summary of a record's beats (``times`` in seconds, ``labels`` their classes;
    class ``Q``, unclassifiable, is counted but in no burden). With the lead's ``signal``
    at ``fs`` Hz (for detected beats), long RR intervals are checked against it
    (:func:`holds_a_beat`); ``pauses_with_a_beat`` counts those found to hold a beat."""
    times, labels = np.asarray(times, dtype=np.float64), np.asarray(labels)
    n = len(labels)
    counts = {name: int((labels == name).sum()) for name in classes}
    # Unclassifiable (Q) beats are counted but left out of the burdens: they are neither
    # normal nor ectopic.
    classified = n - counts.get(UNCLASSIFIABLE, 0)
    span = float(times[-1] - times[0]) if n > 1 else 0.0
    v_runs = [stop - start for start, stop in runs_of(labels == "V")]
    beat_inside = None
    if signal is not None and fs and n > 1 and (np.diff(times) > PAUSE_S).any():
        samples = np.clip(np.round(times * fs).astype(np.int64), 0, len(signal) - 1)
        beat_inside = holds_a_beat(deflection(signal, fs), fs, samples)
    found = episodes(times, labels, beat_inside)
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
        "pauses_with_a_beat": (0 if beat_inside is None
                               else int((beat_inside & (np.diff(times) > PAUSE_S)).sum())),
    }
