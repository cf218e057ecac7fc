"""Signal quality and applicability of an ECG lead for ``ecg-beats``: the domain guard
(non-ECG signals refused), unreadable stretches (their beats become class Q), paced rhythms
(flagged, paced beats Q) and reference annotations that do not fit the signal (refused).

All features are computed on the analysed lead at 360 Hz, in non-overlapping 10-second
windows (the window of the signal-quality indices below), and are vectorised over the
record, so that they add little to an analysis.

Signal-quality indices per window (Li Q, Mark RG, Clifford GD, "Robust heart rate
estimation from multiple asynchronous noisy sources using signal quality indices and a
Kalman filter", Physiol Meas 29(1):15-32, 2008; Clifford GD et al., "Signal quality
indices and data fusion for determining clinical acceptability of electrocardiograms",
Physiol Meas 33(9):1419-1433, 2012; Behar J et al., IEEE TBME 60(7):1660-1666, 2013):

- ``kSQI``: kurtosis of the band-passed lead. The QRS complexes make an ECG peaky (high
  kurtosis); a sine, a random walk, white noise or a column of table values is not.
- ``sSQI``: absolute skewness (the QRS makes the amplitude distribution lopsided).
- ``pSQI``: relative QRS power, the share of the 5-40 Hz power that lies in 5-15 Hz.
- ``basSQI``: relative baseline power, ``1 - P(0-1 Hz) / P(0-40 Hz)`` of the raw lead
  (baseline wander or a drifting signal lowers it).
- ``bSQI``: agreement of two QRS detectors (the record's beat positions, detected or the
  reference, against a Pan-Tompkins-like energy detector, Pan J, Tompkins WJ, IEEE TBME
  32(3):230-236, 1985), matched within 150 ms: ``matched / (n1 + n2 - matched)``.
- flat share: share of the window's 0.2-s blocks whose peak-to-peak amplitude is under 1%
  of the record's typical block (electrode off, a disconnected or stuck amplifier);
  saturated share: share of samples at the record's extreme value (amplifier clipping);
  these two are the flat-line and saturation checks of Clifford et al. 2012.
- heart rate: the beats per window as a rate, within the physiological 25-250 bpm (a fixed
  range, not fitted: an unusual rate in a new patient is not a reason to refuse).

Each fitted bound is an extreme quantile of the per-window values over the 22 DS1
training records (:func:`fit_domain_guard`; never DS2): a lower bound at the 0.1%
quantile for the indices that a bad signal lowers, an upper bound at the 99.9% quantile
for those it raises (pSQI both). A window whose indices all lie within the bounds is
readable.

What the analysis does with them (:class:`LeadQuality`):

- Domain guard: fewer than half the windows readable, or a record median of kSQI, pSQI or
  basSQI under half the lowest DS1 record's median (a signal unlike an ECG throughout,
  such as a random walk, whose single windows can pass the window bounds) ->
  :class:`~dxcore.errors.OutOfDomain` for the whole input (``domain_score``: the
  unreadable share over the refusal share, or the bound over the record's median; 1 at
  the threshold).
- Q beats: beats in an unreadable window get class Q ("unclassifiable") instead of being
  forced to N, S or V.
- Paced rhythm (pacemaker spikes: narrow deflections far steeper than any QRS, as the
  pace-pulse detection of ANSI/AAMI EC11 and IEC 60601-2-27 looks for; e.g. Herleikson
  EC, "ECG pace pulse detection", US patent 5,682,902, 1997): per beat the steepest
  second difference in the 150 ms before to 30 ms after the beat, over the record's median
  QRS slope; a beat is spiked when it exceeds the DS1 99.9% quantile, and the record is
  paced when the spiked share exceeds a threshold above every DS1 record's share. The
  reference annotations' paced symbols (``/``, ``f``) also flag the record. A paced
  record is analysed, with a flag, and its paced beats (spiked, or annotated paced) are
  class Q: the model was never trained on paced beats, and refusing the whole record
  would hide its intrinsic beats.
- Reference annotations: fewer than :data:`MIN_ANNOTATION_MATCH` of the annotated beats
  within 150 ms of an energy-detector beat means that they belong to another record (or
  are not annotations at all): one :class:`~dxcore.errors.DxError`.

How Q appears in the result (the contract stays as it is): ``Result.decisions`` hold
``"Q"`` for those beats, their prediction set is ``["Q"]`` (the decision is in its set, and
a Q beat is never "uncertain"), ``RecordAnalysis.labels`` and the summary count them, and
each JSON beat has ``"prediction": "Q"`` with a ``"reason"``. Their network probabilities
are kept for reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import butter, find_peaks, sosfiltfilt

from dxcore.ecg.preprocessing import QRS_HALF_WIDTH
from dxcore.ecg.record import MODEL_FS
from dxcore.errors import DxError, OutOfDomain

WINDOW_S = 10.0
BLOCK_S = 0.2
FLAT_FRACTION = 0.01          # a block under 1% of the record's typical peak-to-peak
MATCH_S = 0.150
MIN_RATE_BPM, MAX_RATE_BPM = 25.0, 250.0
MIN_READABLE_SHARE = 0.5      # fewer readable windows than this: refused
RECORD_INDICES = ("kSQI", "pSQI", "basSQI")
RECORD_MARGIN = 0.5           # a record median under half the lowest DS1 record's: refused
LOW_QUANTILE, HIGH_QUANTILE = 0.001, 0.999
SPIKE_BEFORE_S, SPIKE_AFTER_S = 0.150, 0.030
SPIKE_MEDIAN_SAMPLES = 5
SPIKE_QUANTILE = 0.995        # a beat is spiked above this quantile of DS1 beats
PACED_MARGIN = 1.5            # paced: spiked share over 1.5 x the highest DS1 record's
# The indices and which side of their DS1 range a bad window falls on.
LOWER_BOUNDED = ("kSQI", "sSQI", "pSQI", "basSQI", "bSQI")
UPPER_BOUNDED = ("pSQI", "flat_share", "saturated_share")
FEATURES = ("kSQI", "sSQI", "pSQI", "basSQI", "bSQI", "flat_share", "saturated_share")
PACED_SYMBOLS = ("/", "f")
PACED_NOTE = ("Paced rhythm: the model was not trained on paced beats. Paced beats are "
              "shown as Q (unclassifiable); the other beats' classes need a clinician's "
              "review.")

_QRS_BAND = butter(2, [5.0, 15.0], btype="bandpass", fs=MODEL_FS, output="sos")


@dataclass
class LeadQuality:
    """The per-window indices of one lead and, per beat, what makes it unclassifiable."""

    features: dict[str, np.ndarray]   # per window
    window_of_beat: np.ndarray        # each beat's window
    rate_bpm: np.ndarray              # per window

    def readable(self, guard: dict) -> np.ndarray:
        """Per window: every index within its DS1 bounds and a plausible heart rate."""
        ok = (self.rate_bpm >= MIN_RATE_BPM) & (self.rate_bpm <= MAX_RATE_BPM)
        for name, low in guard["lower"].items():
            ok &= self.features[name] >= low
        for name, high in guard["upper"].items():
            ok &= self.features[name] <= high
        return ok

    def failing(self, guard: dict) -> dict[str, float]:
        """Per index (and the rate), the share of windows outside its bounds."""
        shares = {"heart rate": float(np.mean((self.rate_bpm < MIN_RATE_BPM)
                                              | (self.rate_bpm > MAX_RATE_BPM)))}
        for name, low in guard["lower"].items():
            shares[name] = float(np.mean(self.features[name] < low))
        for name, high in guard["upper"].items():
            shares[name] = max(shares.get(name, 0.0),
                               float(np.mean(self.features[name] > high)))
        return shares


def windows_of(signal: np.ndarray) -> tuple[np.ndarray, int]:
    """(windows, samples) of the lead in 10-s windows (one window when shorter); the
    remainder of under 10 s at the end is left out of the indices and its beats take the
    last window's."""
    size = min(int(WINDOW_S * MODEL_FS), len(signal))
    count = max(1, len(signal) // size)
    return np.asarray(signal[:count * size], np.float64).reshape(count, size), size


def energy_detector(signal: np.ndarray) -> np.ndarray:
    """A second QRS detector, independent of XQRS (after Pan and Tompkins 1985): 5-15 Hz
    band-pass, derivative, square, 150 ms moving integration, peaks at least 250 ms apart
    over 15% of the 95th percentile of their 10-s window (on DS1 it finds at least 97.7%
    of every record's reference beats within 150 ms)."""
    filtered = sosfiltfilt(_QRS_BAND, np.asarray(signal, np.float64))
    energy = np.gradient(filtered) ** 2
    width = int(0.150 * MODEL_FS)
    integrated = np.convolve(energy, np.ones(width) / width, mode="same")
    windows, size = windows_of(integrated)
    level = np.repeat(np.percentile(windows, 95, axis=1), size)
    level = np.concatenate([level, np.full(len(integrated) - len(level), level[-1])])
    peaks, _ = find_peaks(integrated, height=0.15 * level, distance=int(0.25 * MODEL_FS))
    return peaks


def matched_share(reference: np.ndarray, detected: np.ndarray, window: float) -> np.ndarray:
    """Per beat of ``reference``: whether a beat of ``detected`` lies within ``window``
    samples (both sorted)."""
    if len(detected) == 0:
        return np.zeros(len(reference), bool)
    index = np.clip(np.searchsorted(detected, reference), 1, len(detected) - 1)
    nearest = np.minimum(np.abs(detected[index - 1] - reference),
                         np.abs(detected[index] - reference))
    return nearest <= window if len(detected) > 1 else np.abs(detected[0] - reference) <= window


def _spectral_shares(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pSQI and basSQI of each window (periodogram of the mean-removed raw window)."""
    centred = windows - windows.mean(axis=1, keepdims=True)
    power = np.abs(np.fft.rfft(centred, axis=1)) ** 2
    freq = np.fft.rfftfreq(windows.shape[1], 1 / MODEL_FS)

    def band(low: float, high: float) -> np.ndarray:
        return power[:, (freq >= low) & (freq <= high)].sum(axis=1)

    tiny = 1e-12
    p_sqi = band(5, 15) / (band(5, 40) + tiny)
    bas_sqi = 1.0 - band(0, 1) / (band(0, 40) + tiny)
    return p_sqi, bas_sqi


def _block_flat_and_saturated(windows: np.ndarray, signal: np.ndarray) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
    block = int(BLOCK_S * MODEL_FS)
    blocks = windows[:, : windows.shape[1] // block * block].reshape(len(windows), -1, block)
    spread = np.ptp(blocks, axis=2)
    typical = float(np.percentile(spread, 90))
    flat = (spread <= FLAT_FRACTION * typical).mean(axis=1) if typical > 0 else \
        np.ones(len(windows))
    low, high = float(signal.min()), float(signal.max())
    rail = 1e-6 * max(high - low, 1e-12)
    saturated = ((windows >= high - rail) | (windows <= low + rail)).mean(axis=1)
    return flat, saturated


def spike_ratio(signal: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Per beat: the largest residual of the lead from its 5-sample (14 ms) running median,
    from 150 ms before to 30 ms after the beat, over the record's median QRS amplitude. A
    running median removes a spike of a few samples and keeps the wider QRS: a pacemaker
    spike leaves a large residual just before the beat it starts."""
    signal = np.asarray(signal, np.float64)
    residual = np.abs(signal - median_filter(signal, SPIKE_MEDIAN_SAMPLES, mode="nearest"))
    samples = np.asarray(samples, np.int64)
    before = np.arange(-int(SPIKE_BEFORE_S * MODEL_FS), int(SPIKE_AFTER_S * MODEL_FS) + 1)
    qrs = np.arange(-QRS_HALF_WIDTH, QRS_HALF_WIDTH + 1)
    last = len(signal) - 1
    steepest = residual[np.clip(samples[:, None] + before, 0, last)].max(axis=1)
    amplitude = float(np.median(np.ptp(signal[np.clip(samples[:, None] + qrs, 0, last)],
                                       axis=1))) if len(samples) else 0.0
    return steepest / max(amplitude, 1e-9)


def spiked_beats(leads: list[np.ndarray], samples: np.ndarray, guard: dict) -> np.ndarray:
    """Per beat: a pacemaker spike before it, in the lead (of the record's leads at 360 Hz)
    where the most beats have one (spikes show best in leads along the pacing vector)."""
    spiked = [spike_ratio(lead, samples) > guard["spike_ratio"] for lead in leads]
    return max(spiked, key=lambda s: s.mean())


def lead_quality(signal: np.ndarray, filtered: np.ndarray, samples: np.ndarray) -> LeadQuality:
    """The quality indices of a 360 Hz lead (``filtered``: its 0.5-40 Hz band-pass, as the
    model reads it) with its beats at ``samples``."""
    raw_windows, size = windows_of(signal)
    band_windows, _ = windows_of(filtered)
    mean = band_windows.mean(axis=1, keepdims=True)
    spread = band_windows.std(axis=1, keepdims=True) + 1e-12
    z = (band_windows - mean) / spread
    kurtosis = (z ** 4).mean(axis=1)
    skewness = np.abs((z ** 3).mean(axis=1))
    p_sqi, bas_sqi = _spectral_shares(raw_windows)
    flat, saturated = _block_flat_and_saturated(raw_windows, np.asarray(signal, np.float64))
    samples = np.asarray(samples, np.int64)
    window_of_beat = np.minimum(samples // size, len(raw_windows) - 1)
    second = energy_detector(signal)
    window_of_second = np.minimum(second // size, len(raw_windows) - 1)
    tolerance = MATCH_S * MODEL_FS
    first_matched = matched_share(samples, second, tolerance)
    counts = np.bincount(window_of_beat, minlength=len(raw_windows))
    second_counts = np.bincount(window_of_second, minlength=len(raw_windows))
    matched = np.bincount(window_of_beat, weights=first_matched, minlength=len(raw_windows))
    b_sqi = matched / np.maximum(counts + second_counts - matched, 1)
    rate = 60.0 * counts / (size / MODEL_FS)
    return LeadQuality({"kSQI": kurtosis, "sSQI": skewness, "pSQI": p_sqi, "basSQI": bas_sqi,
                        "bSQI": b_sqi, "flat_share": flat, "saturated_share": saturated},
                       window_of_beat, rate)


def check_annotations(signal: np.ndarray, samples: np.ndarray, guard: dict) -> None:
    """Refuse reference beat positions (at 360 Hz) that do not fit the lead: too few of
    them near a QRS complex found by the energy detector."""
    minimum = guard["min_annotation_match"]
    share = float(matched_share(np.sort(samples), energy_detector(signal),
                                MATCH_S * MODEL_FS).mean())
    if share < minimum:
        raise DxError(f"The uploaded annotations (.atr) do not fit this signal: only "
                      f"{share:.0%} of the annotated beats lie on a QRS complex of the lead. "
                      "They may belong to another record; upload the record's own .atr, "
                      "or none (the beats are then detected).",
                      annotation_match=round(share, 4))


@dataclass
class Assessment:
    """What the analysis takes from the quality indices: each beat's reason to be class Q
    (``""``: classifiable), whether the rhythm is paced and why, and the readable share."""

    reasons: np.ndarray
    paced: str | None          # the evidence, in words; None when not paced
    readable_share: float
    failing: dict[str, float]
    record_shortfall: dict[str, float]  # record-median bound / median, for those under it
    noisy_s: list[tuple[float, float]]  # runs of unreadable windows, (start, end) in s


def assess(signal: np.ndarray, leads: list[np.ndarray], samples: np.ndarray,
           guard: dict, annotated_paced: np.ndarray | None = None) -> Assessment:
    """The quality of a 360 Hz lead (``leads``: every lead of the record at 360 Hz, for
    the pacemaker spikes) with its beats at ``samples``; ``annotated_paced`` marks the
    beats the reference annotations call paced, when there are any."""
    from dxcore.ecg.preprocessing import bandpass

    quality = lead_quality(signal, bandpass(signal), samples)
    readable = quality.readable(guard)
    reasons = np.where(readable[quality.window_of_beat], "", "noisy segment").astype(object)
    spiked = spiked_beats(leads, samples, guard)
    paced = None
    if annotated_paced is not None and annotated_paced.any():
        paced = f"the reference annotations mark {int(annotated_paced.sum()):,} paced beats"
        reasons[annotated_paced] = "paced beat (reference annotations)"
    elif spiked.mean() > guard["paced_share"]:
        paced = f"pacemaker spikes before {spiked.mean():.0%} of the beats"
        reasons[spiked] = "paced beat (pacemaker spike)"
    medians = {k: float(np.median(quality.features[k])) for k in guard["record_lower"]}
    shortfall = {k: guard["record_lower"][k] / max(m, 1e-9) for k, m in medians.items()
                 if m < guard["record_lower"][k]}
    return Assessment(reasons.astype(str), paced, float(readable.mean()),
                      quality.failing(guard), shortfall, unreadable_stretches(readable, signal))


def unreadable_stretches(readable: np.ndarray, signal: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) in seconds of each run of unreadable windows of the 360 Hz lead (the
    last window reaches the end of the lead, as its beats do).

    >>> unreadable_stretches(np.array([True, False, False, True, False]), np.zeros(18_500))
    [(10.0, 30.0), (40.0, 51.389)]
    """
    _, size = windows_of(signal)
    edges = np.diff(np.concatenate([[0], (~readable).astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(round(start * size / MODEL_FS, 3),
             round((len(signal) if stop == len(readable) else stop * size) / MODEL_FS, 3))
            for start, stop in zip(starts.tolist(), stops.tolist(), strict=True)]


def refuse_if_not_ecg(assessment: Assessment) -> None:
    """The domain guard: refuse the whole input when most of it is unreadable as an ECG,
    or when it is unlike an ECG as a whole."""
    if assessment.readable_share >= MIN_READABLE_SHARE:
        if assessment.record_shortfall:  # window by window passable, as a whole no ECG
            worst = max(assessment.record_shortfall, key=assessment.record_shortfall.get)
            raise OutOfDomain("The model gives no beat classes for this signal: it does not look "
                              "like an ECG lead (its QRS-like peaks are unlike those of every "
                              "training ECG).",
                              domain_score=assessment.record_shortfall[worst], failing_index=worst)
        return
    unreadable = 1.0 - assessment.readable_share
    worst = max(assessment.failing, key=assessment.failing.get)
    flat = worst in ("flat_share", "saturated_share")
    reason = ("it is flat or saturated (an electrode off, or the amplifier clipping)"
              if flat else "it does not look like an ECG lead (no QRS complexes like those "
                           "of the training ECGs)")
    raise OutOfDomain(f"The model gives no beat classes for this signal: in {unreadable:.0%} "
                      f"of its 10-second stretches {reason}.",
                      domain_score=unreadable / (1.0 - MIN_READABLE_SHARE),
                      failing_index=worst)


def fit_domain_guard(model, data: str | None = None) -> dict:
    """The card's ``runtime.domain_guard`` (the guard's parameters) and
    ``methods.domain_guard`` (their description), from the 22 DS1 training records only
    (never DS2): the per-window index bounds at extreme quantiles,
    the pacemaker-spike thresholds and the annotation-match threshold."""
    from dxcore.ecg import mitdb
    from dxcore.ecg.beats import detect_beats, reference_beats
    from dxcore.ecg.preprocessing import bandpass

    features: dict[str, list[np.ndarray]] = {name: [] for name in FEATURES}
    spikes, own_match, detections, references = [], [], {}, {}
    record_medians: dict[str, list[float]] = {k: [] for k in RECORD_INDICES}
    for name in mitdb.DS1:
        record = mitdb.read_record(name, data)
        _, signal, _ = record.lead(mitdb.LEAD)
        detected = detect_beats(signal, MODEL_FS)  # as an upload without annotations
        quality = lead_quality(signal, bandpass(signal), detected)
        for feature in FEATURES:
            features[feature].append(quality.features[feature])
        for feature in RECORD_INDICES:
            record_medians[feature].append(float(np.median(quality.features[feature])))
        spikes.append([spike_ratio(record.signals[:, k], detected)
                       for k in range(record.signals.shape[1])])
        reference, _ = reference_beats(record.annotations.symbol, record.annotations.sample)
        references[name], detections[name] = np.sort(reference), energy_detector(signal)
        own_match.append(matched_share(references[name], detections[name],
                                       MATCH_S * MODEL_FS).mean())
    pooled = {k: np.concatenate(v) for k, v in features.items()}
    spike_threshold = float(np.quantile(np.concatenate([s for lead in spikes for s in lead]),
                                        SPIKE_QUANTILE))
    ds1_paced_share = max(max(float((s > spike_threshold).mean()) for s in leads)
                          for leads in spikes)
    # Another DS1 record's annotations on this signal: how many beats match by chance.
    cross_match = max(matched_share(references[b][references[b] < detections[a][-1]],
                                    detections[a], MATCH_S * MODEL_FS).mean()
                      for a in mitdb.DS1 for b in mitdb.DS1 if a != b)
    guard = {
        "window_s": WINDOW_S,
        "lower": {k: round(float(np.quantile(pooled[k], LOW_QUANTILE)), 6)
                  for k in LOWER_BOUNDED},
        "upper": {k: round(float(np.quantile(pooled[k], HIGH_QUANTILE)), 6)
                  for k in UPPER_BOUNDED},
        "record_lower": {k: round(RECORD_MARGIN * min(v), 6)
                         for k, v in record_medians.items()},
        "heart_rate_bpm": [MIN_RATE_BPM, MAX_RATE_BPM],
        "min_readable_share": MIN_READABLE_SHARE,
        "spike_ratio": round(spike_threshold, 6),
        "paced_share": round(PACED_MARGIN * ds1_paced_share, 6),
        "min_annotation_match": round((min(own_match) + cross_match) / 2, 6),
        "fitted_on": {"records": list(mitdb.DS1), "windows": int(len(pooled["kSQI"])),
                      "ds1_max_spiked_share": round(ds1_paced_share, 4),
                      "ds1_min_own_annotation_match": round(float(min(own_match)), 4),
                      "ds1_max_other_record_annotation_match": round(float(cross_match), 4)},
    }
    description = (
        "dxcore.ecg.quality: per 10-s window of the analysed lead the signal-quality indices "
        "of Li, Mark & Clifford 2008 and Clifford et al. 2012 (kSQI, sSQI, pSQI, basSQI, "
        "bSQI against a Pan-Tompkins-like detector; flat-line and saturation shares) within "
        f"bounds at the {LOW_QUANTILE:.1%} / {HIGH_QUANTILE:.1%} quantiles of the "
        f"{guard['fitted_on']['windows']:,} windows of the 22 DS1 records (XQRS beats), and "
        f"a heart rate of {MIN_RATE_BPM:g}-{MAX_RATE_BPM:g} bpm; beats in other windows are "
        f"class Q; fewer than {MIN_READABLE_SHARE:.0%} readable windows: refused as not an "
        "ECG, as is a record whose median kSQI, pSQI or basSQI is under half the lowest DS1 "
        "record's median. Paced rhythm: reference symbols / and f, or pacemaker spikes "
        f"(residual from a 14-ms running median over the {SPIKE_QUANTILE:.1%} DS1 beat "
        f"quantile) before more than {guard['paced_share']:.1%} of the beats "
        f"({PACED_MARGIN:g} x the highest DS1 "
        "record's share): flagged, paced beats Q. Reference annotations with fewer than "
        f"{guard['min_annotation_match']:.0%} of beats on a detected QRS (midway between DS1 "
        "records' own and other records' annotations): refused")
    return {"runtime": guard, "method": description}
