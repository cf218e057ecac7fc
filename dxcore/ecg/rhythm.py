"""The rhythm of a whole record, from its beats alone: atrial fibrillation or flutter from
the irregularity of the RR intervals and the absence of P waves, and the ventricular and
supraventricular rhythms and the sinus rate from the beats' classes.

A cardiologist reads the rhythm first. Atrial fibrillation (AF) is *irregularly
irregular*: successive RR intervals vary without pattern, and the P waves are gone.

- **AF/flutter**: per beat, statistics of a window of :data:`WINDOW_BEATS` RR intervals
  around it (:func:`window_statistics`): the median absolute change of log RR between
  successive intervals (the robust form of the RR-irregularity measures of Tateno K,
  Glass L, Med Biol Eng Comput 39:664-671, 2001, and Petrenas A et al., Comput Biol Med
  65:184-191, 2015), the share of successive changes over 10 %, the coefficient of
  variation, and the mean P-wave correlation with the record's median beat. Intervals next
  to a beat whose QRS differs from the patient's dominant beat are left out, so that
  ectopic beats in a regular pattern (bigeminy) do not read as irregular rhythm. A
  logistic model of those statistics, fitted on MIT-BIH DS1 (``scripts/ecg_rhythm_cv.py``
  chose it over a recurrent network by record-grouped cross-validation), gives each beat a
  probability of AF; beats above the card's threshold, smoothed over
  :data:`SMOOTH_BEATS` beats, form AF episodes of at least :data:`MIN_AF_S` seconds (the
  clinical definition of an AF episode, e.g. 2023 ACC/AHA/ACCP/HRS guideline).
- **From the beat classes**: ventricular tachycardia (3 or more V beats at 100 bpm or
  more; slower, idioventricular rhythm), bigeminy and trigeminy (a V beat every second or
  third beat, 3 cycles or more), supraventricular tachyarrhythmia (3 or more S beats at
  100 bpm or more), sinus bradycardia and tachycardia (the rate of :data:`RATE_BEATS`
  beats below 60 or above 100 bpm for :data:`MIN_RATE_S` seconds or more).

The episodes cover the record, in MIT-BIH rhythm codes without the bracket
(:data:`dxcore.ecg.rhythm_labels.RHYTHM_LABELS`), where a stretch matching several rules
takes the first of :data:`PRIORITY`.

Example:
    >>> import numpy as np
    >>> times = np.arange(40) * 0.75
    >>> labels = np.array(["N", "V"] * 20)
    >>> [e["label"] for e in rhythm_episodes(times, labels, np.zeros(40, bool), 30.0)]
    ['B']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dxcore.ecg.rhythm_labels import AF_LABELS
from dxcore.ecg.summary import MIN_RUN, RUN_TACHYCARDIA_BPM, run_rate_bpm, runs_of

WINDOW_BEATS = 65      # RR intervals per window (about 50 s at 80 bpm)
SMOOTH_BEATS = 15      # running median of the AF probability
MIN_AF_S = 30.0
MIN_RATE_S = 30.0
RATE_BEATS = 10
BRIDGE_S = 10.0        # a shorter sinus stretch between two episodes of one rhythm joins them
DOMINANT_QRS_CORRELATION = 0.95 # QRS correlation with the median beat of a dominant beat
DOMINANT_SIZE = (0.6, 1.6)      # and its QRS amplitude relative to the median beat's
CHANGE = 0.1           # a successive change of log RR counted as large (about 10 %)
MIN_USABLE = 3         # usable changes a window needs before its irregularity counts
STATISTICS = ("median |change of log RR|", "share of changes over 10 %",
              "coefficient of variation of RR", "mean P-wave correlation")
# Context columns of dxcore.ecg.preprocessing.CONTEXT_FEATURES the rhythm reads.
QRS_CORRELATION, P_CORRELATION, QRS_SIZE = 8, 9, 10
PRIORITY = ("Q", "VT", "AFIB", "IVR", "B", "T", "SVTA", "SBR", "STACH", "N")


def dominant_beats(context: np.ndarray) -> np.ndarray:
    """Beats shaped like the patient's median beat (the QRS alone: in AF the P wave is
    gone from every beat)."""
    size = context[:, QRS_SIZE]
    return ((context[:, QRS_CORRELATION] >= DOMINANT_QRS_CORRELATION)
            & (size >= DOMINANT_SIZE[0]) & (size <= DOMINANT_SIZE[1]))


def beat_series(times_s: np.ndarray, context: np.ndarray) -> np.ndarray:
    """(beats, 6) per-beat inputs of the rhythm models: log of the RR interval before the
    beat over the record's median RR, the change of log RR from the previous interval
    (0 where either interval touches a non-dominant beat), whether that change is usable,
    the P-wave and the QRS correlation with the median beat, and whether the beat is
    dominant (:func:`dominant_beats`)."""
    times = np.asarray(times_s, np.float64)
    n = len(times)
    if n < 3:
        return np.zeros((n, 5), np.float32)
    rr = np.diff(times)
    log_rr = np.log(np.clip(np.concatenate([[rr[0]], rr]) / np.median(rr), 0.1, 10.0))
    dominant = dominant_beats(context)
    # interval i (before beat i) is usable when beats i-1 and i are both dominant
    usable_interval = dominant & np.concatenate([[False], dominant[:-1]])
    change = np.concatenate([[0.0], np.diff(log_rr)])
    usable_change = usable_interval & np.concatenate([[False], usable_interval[:-1]])
    change = np.where(usable_change, change, 0.0)
    return np.stack([log_rr, change, usable_change, context[:, P_CORRELATION],
                     context[:, QRS_CORRELATION], dominant], axis=1).astype(np.float32)


def window_statistics(series: np.ndarray) -> np.ndarray:
    """(beats, 4) the :data:`STATISTICS` over the window centred on each beat."""
    log_rr, change, usable, p_correlation, _, dominant = series.T
    frame = pd.DataFrame({
        "abs_change": np.where(usable > 0, np.abs(change), np.nan),
        "large": np.where(usable > 0, np.abs(change) > CHANGE, np.nan),
        "rr": np.where(usable > 0, np.exp(log_rr), np.nan),
        "p": np.where(dominant > 0, p_correlation, np.nan)})  # an ectopic beat has no P
    rolling = frame.rolling(WINDOW_BEATS, center=True, min_periods=1)
    # A window with few usable changes (frequent ectopic beats) says nothing of the
    # rhythm's irregularity: its irregularity statistics are 0, not a guess from a few.
    enough = (rolling["abs_change"].count() >= MIN_USABLE).to_numpy()
    median = np.where(enough, rolling["abs_change"].median(), 0.0)
    large = np.where(enough, rolling["large"].mean(), 0.0)
    variation = np.where(enough, rolling["rr"].std() / rolling["rr"].mean(), 0.0)
    p_mean = rolling["p"].mean().fillna(0.0)
    stats = np.stack([median, large, variation, p_mean], axis=1)
    return np.nan_to_num(stats, nan=0.0).astype(np.float32)


def classical_af_probability(series: np.ndarray, parameters: dict[str, Any]) -> np.ndarray:
    """Each beat's probability of AF or flutter from the logistic model in ``parameters``
    (``mean``, ``scale``, ``coefficients``, ``intercept``: what
    ``scripts/ecg_rhythm_cv.py`` fits and the card's ``runtime.rhythm`` keeps)."""
    stats = window_statistics(series)
    z = (stats - np.asarray(parameters["mean"])) / np.asarray(parameters["scale"])
    logit = z @ np.asarray(parameters["coefficients"]) + float(parameters["intercept"])
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))


def af_beats(probability: np.ndarray, times_s: np.ndarray, threshold: float) -> np.ndarray:
    """Beats in AF: the probability's running median over :data:`SMOOTH_BEATS` beats
    reaching ``threshold``, in runs of at least :data:`MIN_AF_S` seconds."""
    smooth = (pd.Series(probability).rolling(SMOOTH_BEATS, center=True, min_periods=1)
              .median().to_numpy())
    mask = smooth >= threshold
    return _long_runs(mask, times_s, MIN_AF_S)


def _long_runs(mask: np.ndarray, times_s: np.ndarray, min_s: float) -> np.ndarray:
    """``mask`` without its runs shorter than ``min_s`` seconds."""
    kept = np.zeros_like(mask, dtype=bool)
    for start, stop in runs_of(mask):
        if times_s[stop - 1] - times_s[start] >= min_s:
            kept[start:stop] = True
    return kept


def _pattern_runs(is_v: np.ndarray, period: int, cycles: int = 3) -> np.ndarray:
    """Beats in runs where every ``period``-th beat is V and the others are not, for at
    least ``cycles`` cycles (bigeminy: period 2; trigeminy: 3)."""
    n = len(is_v)
    mask = np.zeros(n, bool)
    for phase in range(period):
        expected = (np.arange(n) % period) == phase
        fits = is_v == expected
        for start, stop in runs_of(fits):
            if stop - start >= period * cycles:
                mask[start:stop] = True
    return mask


def _rate_bpm(times_s: np.ndarray, span: int) -> np.ndarray:
    """Each beat's heart rate over the ``span`` intervals around it."""
    rr = pd.Series(np.diff(times_s, prepend=np.nan))
    mean_rr = rr.rolling(span, center=True, min_periods=2).mean().bfill().ffill().to_numpy()
    return 60.0 / np.maximum(mean_rr, 1e-3)


def beat_rhythms(times_s: np.ndarray, labels: np.ndarray, in_af: np.ndarray) -> np.ndarray:
    """Each beat's rhythm code by the rules of :data:`PRIORITY`."""
    times_s, labels = np.asarray(times_s, np.float64), np.asarray(labels)
    n = len(labels)
    candidates: dict[str, np.ndarray] = {code: np.zeros(n, bool) for code in PRIORITY}
    candidates["Q"] = _long_runs(labels == "Q", times_s, 10.0)
    candidates["AFIB"] = np.asarray(in_af, bool)
    for label, fast, slow in (("V", "VT", "IVR"), ("S", "SVTA", None)):
        for start, stop in runs_of(labels == label):
            if stop - start < MIN_RUN:
                continue
            fast_enough = run_rate_bpm(times_s, start, stop) >= RUN_TACHYCARDIA_BPM
            code = fast if fast_enough else slow
            if code:
                candidates[code][start:stop] = True
    is_v = labels == "V"
    candidates["B"] = _pattern_runs(is_v, 2)
    candidates["T"] = _pattern_runs(is_v, 3)
    rate = _rate_bpm(times_s, RATE_BEATS)
    sinus = labels == "N"
    candidates["SBR"] = _long_runs((rate < 60.0) & sinus, times_s, MIN_RATE_S)
    candidates["STACH"] = _long_runs((rate > 100.0) & sinus, times_s, MIN_RATE_S)
    codes = np.full(n, "N", dtype="<U5")
    for code in reversed(PRIORITY):  # the first of PRIORITY is written last and wins
        codes[candidates[code]] = code
    return codes


def rhythm_episodes(times_s: np.ndarray, labels: np.ndarray, in_af: np.ndarray,
                    duration_s: float) -> list[dict[str, Any]]:
    """Episodes ``{"label", "start_s", "end_s"}`` covering ``[0, duration_s]``: each beat's
    rhythm (:func:`beat_rhythms`) holds from midway to the previous beat to midway to the
    next; the record's first and last stretches take the nearest beat's."""
    times_s = np.asarray(times_s, np.float64)
    if len(times_s) == 0:
        return [{"label": "Q", "start_s": 0.0, "end_s": round(float(duration_s), 3)}]
    codes = _bridged(beat_rhythms(times_s, labels, in_af), times_s)
    edges = np.concatenate([[0.0], (times_s[1:] + times_s[:-1]) / 2, [float(duration_s)]])
    episodes: list[dict[str, Any]] = []
    for start, stop in _code_runs(codes):
        episodes.append({"label": str(codes[start]), "start_s": round(float(edges[start]), 3),
                         "end_s": round(float(edges[stop]), 3)})
    return episodes


def _bridged(codes: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """Sinus stretches shorter than :data:`BRIDGE_S` between two episodes of the same
    rhythm made part of it: bigeminy interrupted by three normal beats is one episode
    for a reader, not two."""
    codes = codes.copy()
    runs = _code_runs(codes)
    for (before, _), (start, stop), (after, _) in zip(runs, runs[1:], runs[2:], strict=False):
        if (codes[start] == "N" and codes[before] == codes[after] != "N"
                and times_s[stop - 1] - times_s[start] < BRIDGE_S):
            codes[start:stop] = codes[before]
    return codes


def _code_runs(codes: np.ndarray) -> list[tuple[int, int]]:
    change = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    bounds = np.concatenate([[0], change, [len(codes)]])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def af_burden_percent(episodes: list[dict[str, Any]], duration_s: float) -> float:
    """The share of the record's time in atrial fibrillation or flutter, in per cent."""
    seconds = sum(e["end_s"] - e["start_s"] for e in episodes if e["label"] in AF_LABELS)
    return round(100.0 * seconds / duration_s, 2) if duration_s > 0 else 0.0


def per_second(episodes: list[dict[str, Any]], duration_s: float) -> np.ndarray:
    """The rhythm code of each whole second of the record (at its middle): how rhythm
    detection is scored, second by second."""
    middles = np.arange(int(duration_s)) + 0.5
    codes = np.full(len(middles), "", dtype="<U5")
    for episode in episodes:
        codes[(middles >= episode["start_s"]) & (middles < episode["end_s"])] = episode["label"]
    return codes


def reference_episodes(samples: np.ndarray, aux_notes: list[str], fs: float,
                       duration_s: float) -> list[dict[str, Any]]:
    """The reference rhythm episodes of a WFDB annotation (``(AFIB`` ... notes), covering
    the record from its first rhythm note (the stretch before it takes that note's code)."""
    notes = [(float(s) / fs, str(a).strip("\x00").lstrip("("))
             for s, a in zip(samples, aux_notes, strict=True) if str(a).startswith("(")]
    if not notes:
        return []
    starts = [0.0] + [t for t, _ in notes[1:]]
    ends = [t for t, _ in notes[1:]] + [float(duration_s)]
    return [{"label": code, "start_s": round(s, 3), "end_s": round(e, 3)}
            for (_, code), s, e in zip(notes, starts, ends, strict=True)]


def conditioned_decisions(decisions: np.ndarray, probabilities: np.ndarray,
                          class_names: list[str], in_af: np.ndarray, context: np.ndarray,
                          v_min_difference: float) -> np.ndarray:
    """The beat classes read with the rhythm, as a cardiologist reads them:

    - a V call needs a QRS that differs from the patient's own dominant beat: one whose
      QRS correlation with the record's median beat exceeds ``1 - v_min_difference``,
      at a similar size (:data:`DOMINANT_SIZE`), becomes the more probable of N and S;
    - in atrial fibrillation or flutter an S call is N: the beat's QRS was read as
      supraventricular, and its early RR interval is the rhythm itself, not an atrial
      premature beat (MIT-BIH labels the beats of AF as N).
    """
    decisions = np.asarray(decisions).copy()
    index = {name: k for k, name in enumerate(class_names)}

    def best_of(rows: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        columns = [index[n] for n in names]
        return np.asarray(names)[np.argmax(probabilities[np.ix_(rows, columns)], axis=1)]

    size = context[:, QRS_SIZE]
    like_dominant = ((context[:, QRS_CORRELATION] > 1.0 - v_min_difference)
                     & (size >= DOMINANT_SIZE[0]) & (size <= DOMINANT_SIZE[1]))
    v_like_dominant = np.flatnonzero((decisions == "V") & like_dominant)
    if len(v_like_dominant):
        decisions[v_like_dominant] = best_of(v_like_dominant, ("N", "S"))
    decisions[(decisions == "S") & np.asarray(in_af, bool)] = "N"
    return decisions


def notable_episodes(episodes: list[dict[str, Any]], times_s: np.ndarray) -> list[dict]:
    """The rhythm episodes the summary's runs do not already list (not sinus rhythm,
    unreadable stretches, nor the VT, IVR and SVTA runs), as the summary's episodes
    (``kind`` in words, ``rhythm`` the code, the beats inside)."""
    from dxcore.ecg.rhythm_labels import RHYTHM_LABELS

    times_s = np.asarray(times_s)
    return [{"kind": RHYTHM_LABELS.get(e["label"], e["label"]), "rhythm": e["label"],
             "start_s": e["start_s"], "end_s": e["end_s"],
             "beats": int(((times_s >= e["start_s"]) & (times_s < e["end_s"])).sum())}
            for e in episodes if e["label"] not in ("N", "Q", "VT", "IVR", "SVTA")]
