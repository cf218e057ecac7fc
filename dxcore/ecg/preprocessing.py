"""What the beat classifier sees of each beat: its waveform window and its RR context.

Both are normalised per record, which is what lets a model trained on some patients read
others (the inter-patient protocol of de Chazal P et al., IEEE TBME 51(7):1196-1206, 2004,
whose RR features - previous, next, local-average and record-average RR - this follows):

- ``beat``: the lead band-passed 0.5-40 Hz (baseline wander and mains hum out), a window
  from 250 ms before to 461 ms after the R peak (P wave, QRS, T wave), taken every second
  sample (180 Hz), divided by the record's median QRS amplitude; beside it, as a second
  channel, its difference from the record's median beat (the dominant morphology, usually
  the patient's own normal beat), so that "abnormal shape" means abnormal for this
  patient without telling the network who the patient is.
- ``context``: RR intervals as ratios to the record's median RR and to the local average
  (the 11 intervals around the beat), so that "premature" means premature for this
  patient; the local irregularity (coefficient of variation of those 11 intervals), so
  that an early beat in atrial fibrillation is not read as an ectopic one; and how far
  the beat's QRS and P-wave segments correlate with the median beat's, and its QRS
  amplitude relative to the median beat's. No absolute interval is given: a record's
  median RR, the same for all its beats, would tell the network which of its 22 training
  patients it is reading (in the DS1 cross-validation, dropping it raised the argmax
  accuracy from 0.934 to 0.938 and S PPV from 0.26 to 0.27, ``scripts/ecg_cv.py``).

Example:
    >>> import numpy as np
    >>> fs = 360
    >>> signal = np.zeros(fs * 12)
    >>> samples = np.arange(fs // 2, fs * 12 - fs // 2, int(0.8 * fs))
    >>> signal[samples] = 1.0
    >>> x = model_inputs(signal, samples)
    >>> x["beat"].shape[1:], x["context"].shape[1:]
    ((128, 2), (11,))
    >>> x["context"][5, :3].round(2)    # regular rhythm: every ratio is 1
    array([1., 1., 1.], dtype=float32)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import butter, sosfiltfilt

from dxcore.ecg.record import MODEL_FS

BEFORE = 90           # samples at 360 Hz before the R peak (250 ms)
AFTER = 166           # samples after it (461 ms)
STEP = 2              # keep every second sample: 128 steps at 180 Hz
WINDOW = (BEFORE + AFTER) // STEP
QRS_HALF_WIDTH = 22   # samples (61 ms) either side of the R peak for the QRS amplitude
LOCAL_INTERVALS = 11  # RR intervals averaged for the local rhythm
RATIO_LIMIT = 4.0
CHANNELS = ("beat", "beat - record median beat")
RR_FEATURES = ("pre/record", "post/record", "local/record", "pre/local", "post/local",
               "post/pre", "pre/previous pre", "local irregularity")
SHAPE_FEATURES = ("QRS correlation with median beat", "P-wave correlation with median beat",
                  "QRS amplitude / median beat's")
CONTEXT_FEATURES = RR_FEATURES + SHAPE_FEATURES
# Segments of the window (steps at 180 Hz from its start; the R peak is at step 45).
QRS_STEPS = slice(45 - 14, 45 + 15)   # -78 to +83 ms
P_STEPS = slice(45 - 40, 45 - 12)     # -222 to -67 ms
_BANDPASS = butter(2, [0.5, 40.0], btype="bandpass", fs=MODEL_FS, output="sos")


def window_times() -> np.ndarray:
    """Seconds from the R peak of each of the ``WINDOW`` samples of a beat window."""
    return (np.arange(WINDOW) * STEP - BEFORE) / MODEL_FS


def bandpass(signal: np.ndarray) -> np.ndarray:
    """Zero-phase 0.5-40 Hz band-pass of a 360 Hz lead."""
    return sosfiltfilt(_BANDPASS, np.asarray(signal, dtype=np.float64))


def qrs_amplitude(filtered: np.ndarray, samples: np.ndarray) -> float:
    """Median peak-to-peak amplitude around the beats: the record's amplitude unit."""
    if len(samples) == 0:
        return 1.0
    offsets = np.arange(-QRS_HALF_WIDTH, QRS_HALF_WIDTH + 1)
    index = np.clip(samples[:, None] + offsets, 0, len(filtered) - 1)
    segments = filtered[index]
    amplitude = float(np.median(segments.max(axis=1) - segments.min(axis=1)))
    return amplitude if amplitude > 1e-6 else 1.0


def beat_windows(filtered: np.ndarray, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(beats, WINDOW) windows in record amplitude units (edge-padded near either end of
    the record) and the record's median beat (WINDOW,)."""
    padded = np.pad(filtered, (BEFORE, AFTER), mode="edge")
    offsets = np.arange(0, BEFORE + AFTER, STEP)
    windows = padded[np.asarray(samples, dtype=np.int64)[:, None] + offsets]
    windows = np.clip(windows / qrs_amplitude(filtered, samples), -10, 10)
    template = np.median(windows, axis=0) if len(windows) else np.zeros(len(offsets))
    return windows, template


def _correlation(segments: np.ndarray, reference: np.ndarray) -> np.ndarray:
    a = segments - segments.mean(axis=1, keepdims=True)
    b = reference - reference.mean()
    denominator = np.sqrt((a ** 2).sum(axis=1) * (b ** 2).sum()) + 1e-9
    return (a @ b) / denominator


def shape_features(windows: np.ndarray, template: np.ndarray) -> np.ndarray:
    """(beats, 3): QRS and P-wave correlation with the median beat, relative QRS size."""
    qrs, p_wave = windows[:, QRS_STEPS], windows[:, P_STEPS]
    size = np.ptp(qrs, axis=1) / max(float(np.ptp(template[QRS_STEPS])), 1e-6)
    return np.stack([_correlation(qrs, template[QRS_STEPS]),
                     _correlation(p_wave, template[P_STEPS]),
                     np.clip(size, 0.0, RATIO_LIMIT)], axis=1)


def rr_features(samples: np.ndarray, fs: float = MODEL_FS) -> np.ndarray:
    """(beats, 8) float32 RR context, in the order of ``RR_FEATURES``."""
    times = np.asarray(samples, dtype=np.float64) / fs
    if len(times) < 2:
        return np.ones((len(times), len(RR_FEATURES)), dtype=np.float32)
    intervals = np.diff(times)
    record = float(np.median(intervals))
    pre = np.concatenate([[np.nan], intervals])
    post = np.concatenate([intervals, [np.nan]])
    rolling = pd.Series(pre).rolling(LOCAL_INTERVALS, center=True, min_periods=1)
    local = rolling.mean().fillna(record).to_numpy()
    irregularity = (rolling.std().to_numpy() / local)[:, None]
    pre = np.where(np.isnan(pre), local, pre)      # the first beat has no previous beat
    post = np.where(np.isnan(post), local, post)   # the last has no next one
    previous_pre = np.concatenate([[pre[0]], pre[:-1]])
    ratios = np.stack([pre / record, post / record, local / record, pre / local,
                       post / local, post / pre, pre / previous_pre], axis=1)
    ratios = np.clip(np.nan_to_num(ratios, nan=1.0), 0.0, RATIO_LIMIT)
    irregularity = np.clip(np.nan_to_num(irregularity, nan=0.0), 0.0, 1.0)
    return np.concatenate([ratios, irregularity], axis=1).astype(np.float32)


def model_inputs(signal: np.ndarray, samples: np.ndarray) -> dict[str, np.ndarray]:
    """Both model inputs for the beats at ``samples`` of a 360 Hz lead: ``beat`` (beats,
    WINDOW, 2) and ``context`` (beats, 11), float32."""
    samples = np.asarray(samples, dtype=np.int64)
    windows, template = beat_windows(bandpass(signal), samples)
    beat = np.stack([windows, windows - template[None, :]], axis=-1)
    context = np.concatenate([rr_features(samples), shape_features(windows, template)], axis=1)
    return {"beat": beat.astype(np.float32), "context": context.astype(np.float32)}
