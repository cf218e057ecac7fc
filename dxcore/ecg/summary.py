"""The record-level summary a clinician reads first: duration, heart rate, beats per class,
ectopic burden, the longest ventricular run and the episodes worth a look.

Episode rules (conventional Holter-report definitions, e.g. Steinberg JS et al., "2017
ISHNE-HRS expert consensus statement on ambulatory ECG", Heart Rhythm 14(7):e55-e96):

- ventricular run: 3 or more consecutive V beats (couplet: exactly 2);
- supraventricular run: 3 or more consecutive S beats;
- pause: an RR interval over 2.0 s;
- tachycardia / bradycardia: the heart rate over 8 consecutive RR intervals above 120 or
  below 40 beats per minute.

Example:
    >>> import numpy as np
    >>> times = np.arange(20) * 0.8
    >>> labels = np.array(["N"] * 10 + ["V"] * 4 + ["N"] * 6)
    >>> s = summarise(times, labels, duration_s=16.0, classes=["N", "S", "V", "F"])
    >>> s["mean_heart_rate_bpm"], s["longest_v_run"], s["episodes"][0]["kind"]
    (75.0, 4, 'ventricular run')
"""

from __future__ import annotations

import numpy as np

MIN_RUN = 3
PAUSE_S = 2.0
RATE_INTERVALS = 8
TACHYCARDIA_BPM = 120.0
BRADYCARDIA_BPM = 40.0
MAX_EPISODES = 200
UNCLASSIFIABLE = "Q"


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in ``mask`` (stop exclusive)."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(),
                    strict=True))


def _episode(kind: str, times: np.ndarray, start: int, stop: int, **detail) -> dict:
    return {"kind": kind, "start_s": round(float(times[start]), 3),
            "end_s": round(float(times[stop - 1]), 3), "beats": int(stop - start), **detail}


def episodes(times: np.ndarray, labels: np.ndarray) -> list[dict]:
    """Runs, pauses and rate episodes in time order."""
    found = []
    for label, kind in (("V", "ventricular run"), ("S", "supraventricular run")):
        for start, stop in runs_of(labels == label):
            if stop - start >= MIN_RUN:
                rate = 60.0 * (stop - start - 1) / max(times[stop - 1] - times[start], 1e-9)
                found.append(_episode(kind, times, start, stop, rate_bpm=round(rate)))
    intervals = np.diff(times)
    for i in np.flatnonzero(intervals > PAUSE_S):
        found.append(_episode("pause", times, i, i + 2, rr_s=round(float(intervals[i]), 2)))
    if len(intervals) >= RATE_INTERVALS:
        window = np.convolve(intervals, np.ones(RATE_INTERVALS), "valid") / RATE_INTERVALS
        rate = 60.0 / window
        for kind, mask in (("tachycardia", rate > TACHYCARDIA_BPM),
                           ("bradycardia", rate < BRADYCARDIA_BPM)):
            for start, stop in runs_of(mask):
                # window j spans beats j .. j + RATE_INTERVALS
                last = stop - 1 + RATE_INTERVALS
                found.append(_episode(kind, times, start, last + 1,
                                      rate_bpm=round(float(np.mean(rate[start:stop])))))
    return sorted(found, key=lambda e: (e["start_s"], e["kind"]))


def summarise(times: np.ndarray, labels: np.ndarray, duration_s: float,
              classes: list[str]) -> dict:
    """The summary of a record's beats (``times`` in seconds, ``labels`` their classes;
    class ``Q``, unclassifiable, is counted but in no burden)."""
    times, labels = np.asarray(times, dtype=np.float64), np.asarray(labels)
    n = len(labels)
    counts = {name: int((labels == name).sum()) for name in classes}
    # Unclassifiable (Q) beats are counted but left out of the burdens: they are neither
    # normal nor ectopic.
    classified = n - counts.get(UNCLASSIFIABLE, 0)
    span = float(times[-1] - times[0]) if n > 1 else 0.0
    v_runs = [stop - start for start, stop in runs_of(labels == "V")]
    found = episodes(times, labels)
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
    }
