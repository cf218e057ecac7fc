"""An ECG record in memory, the checks every reader applies, lead choice and resampling.

Readers (:mod:`dxcore.ecg.wfdb_io`, :mod:`dxcore.ecg.edf_io`, :mod:`dxcore.ecg.csv_io`)
return an :class:`EcgRecord` at the file's own sampling rate; :meth:`EcgRecord.lead` picks
one lead, bridges its few missing samples and refuses signals that cannot be analysed;
:func:`resample` brings it to the model's rate (360 Hz, the rate of the MIT-BIH Arrhythmia
Database the model was trained on).

Lead choice: the model was trained on MLII, the modified lead II of a Holter (the limb
electrodes moved to the torso), so a record's MLII is analysed when it has one, else its
lead II, else another limb lead (:data:`LEAD_PREFERENCE`), else its first lead, with a note
whenever the lead is not MLII. Names are matched loosely ("II", "ii", "Lead II", "ECG II",
"ML II" and "MLII→" all count; "III" and "aVL" do not): :func:`lead_rank`.

Example:
    >>> import numpy as np
    >>> t = np.arange(0, 20, 1 / 250)
    >>> record = EcgRecord(np.sin(2 * np.pi * 1.2 * t)[:, None] * [1, 1, 1], 250,
    ...                    ["I", "Lead II", "III"], "demo")
    >>> name, signal, notes = record.lead()
    >>> name, len(resample(signal, 250, 360)) == 20 * 360
    ('Lead II', True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from dxcore.errors import DxError, OutOfDomain

MODEL_FS = 360
MIN_FS = 100.0
MAX_FS = 20_000.0  # above any ECG recorder; a larger rate is a unit or typing error
MIN_SECONDS = 10.0
# The page and the CLI analyse a record in memory at once: two hours of two leads at 360 Hz
# peak near 1.0 GB (0.8 GB of it the loaded model); a 24-hour Holter record took 3.4 GB.
# Longer records are refused (export an excerpt); MAX_SAMPLES bounds many leads at high
# rates in the same way (samples of all leads together, at the file's own rate).
MAX_HOURS = 2.0
MAX_SAMPLES = 20_000_000
# ECG amplitudes are a few millivolts; values beyond 10 V come from a wrong gain or unit.
MAX_AMPLITUDE_MV = 10_000.0
# The lead the model was trained on (MIT-BIH's MLII), analysed whenever a record has it.
DEFAULT_LEAD = "MLII"
# Without MLII, the leads analysed in this order (names as :func:`lead_rank` reduces them):
# lead II, which MLII modifies, then the other bipolar limb leads, then the augmented ones
# nearest lead II's axis (+60 degrees) first: aVF (+90), aVL (-30), aVR (-150, an
# inverted lead II in all but name).
LEAD_PREFERENCE = ("mlii", "ii", "i", "iii", "avf", "avl", "avr")
# Words that only say "this is a lead" in a lead's name ("Lead II", "ECG II", "Ableitung II").
_LEAD_WORDS = frozenset({"lead", "ecg", "ekg", "ableitung"})
# Missing samples (empty cells, NaN, infinity, WFDB's invalid-sample value) are bridged by
# linear interpolation, up to a fifth of a lead and gaps of up to 2 s: an RR interval is
# 0.24-2 s (250-30 bpm), so a longer gap hides beats, and the straight line bridging it
# would be counted as a pause (over 2 s, dxcore.ecg.summary.PAUSE_S) that never was.
MAX_MISSING_SHARE = 0.2
MAX_GAP_S = 2.0
CAUTION = "the model was trained on lead MLII, so read the beat classes with care."


def lead_rank(name: str) -> int | None:
    """Where a lead stands in :data:`LEAD_PREFERENCE` (0: MLII, 1: lead II), or None for a
    lead that is neither MLII nor a limb lead. Case, spaces, punctuation and the words
    "lead", "ECG", "EKG" are ignored; modified limb leads (MLI, MLIII) rank as their
    standard leads.

    >>> [lead_rank(n) for n in ("ML II", "ii", "ECG Lead II", "III", "aVL", "V5", "MLIII")]
    [0, 1, 1, 3, 5, None, 3]
    """
    words = re.sub(r"[^0-9a-z]+", " ", name.lower()).split()
    key = "".join(word for word in words if word not in _LEAD_WORDS)
    if key in ("mli", "mliii"):
        key = key[2:]
    return LEAD_PREFERENCE.index(key) if key in LEAD_PREFERENCE else None


def bridge(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``signal`` (float64) with every non-finite sample replaced by linear
    interpolation between its finite neighbours (the edge value before the first and after
    the last), and the mask of the samples replaced. The signal needs one finite sample."""
    signal = np.array(signal, dtype=np.float64)  # a copy: the record stays as it was read
    missing = ~np.isfinite(signal)
    if missing.any():
        known = np.flatnonzero(~missing)
        signal[missing] = np.interp(np.flatnonzero(missing), known, signal[known])
    return signal, missing


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """(start, length) of the longest run of True in ``mask`` (which holds one)."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    longest = int(np.argmax(stops - starts))
    return int(starts[longest]), int(stops[longest] - starts[longest])


@dataclass
class Annotations:
    """Reference annotations: sample indices at the record's own rate, and WFDB symbols."""

    sample: np.ndarray
    symbol: np.ndarray


@dataclass
class EcgRecord:
    """Signals as (samples, leads) float arrays in physical units at ``fs`` Hz."""

    signals: np.ndarray
    fs: float
    lead_names: list[str]
    name: str
    units: list[str] = field(default_factory=list)
    annotations: Annotations | None = None
    source_format: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return len(self.signals) / self.fs

    def default_lead(self) -> int:
        """The index of the lead analysed when none is named: the best ranked by
        :func:`lead_rank` (the first of equals), else the first lead."""
        ranked = [(rank, index) for index, rank in
                  enumerate(lead_rank(name) for name in self.lead_names) if rank is not None]
        return min(ranked)[1] if ranked else 0

    def lead(self, name: str | None = None) -> tuple[str, np.ndarray, list[str]]:
        """The named lead (case-insensitive) or :meth:`default_lead`, with the notes a
        reader should see about that choice and the lead's gaps (the record itself is not
        changed, so a cached record can be analysed again).

        Raises :class:`DxError` for an unknown name and for a lead with too many missing
        samples; :class:`OutOfDomain` for a flat lead. A few missing samples are bridged by
        linear interpolation, with a note.
        """
        if name:
            names = [n.strip().lower() for n in self.lead_names]
            if name.strip().lower() not in names:
                raise DxError(f"The record has no lead called '{name}'. Its leads are: "
                              f"{', '.join(self.lead_names)}.")
            index = names.index(name.strip().lower())
        else:
            index = self.default_lead()
        signal, gap_notes = self._usable(index)
        choice = self._choice_note(index)
        return self.lead_names[index], signal, [*([choice] if choice else []), *gap_notes]

    def _choice_note(self, index: int) -> str | None:
        """What a reader should know about the analysed lead, unless it is MLII."""
        chosen, rank = self.lead_names[index], lead_rank(self.lead_names[index])
        if rank == 0:
            return None
        if rank == 1:
            return (f"Lead {chosen} was analysed; the model was trained on lead MLII, a "
                    "modified lead II (its limb electrodes on the torso) that lead II "
                    "closely resembles.")
        best = self.lead_names[self.default_lead()]
        if lead_rank(best) in (0, 1):  # the record has MLII or lead II, another was chosen
            return f"Lead {chosen} was analysed rather than lead {best}: {CAUTION}"
        return f"Lead II was not in the record; lead {chosen} was analysed instead: {CAUTION}"

    def _usable(self, index: int) -> tuple[np.ndarray, list[str]]:
        """The lead with its missing samples bridged (and a note saying how many), or a
        refusal when too many are missing to bridge (:data:`MAX_MISSING_SHARE`,
        :data:`MAX_GAP_S`) or the lead is flat."""
        lead = self.lead_names[index]
        if not np.isfinite(self.signals[:, index]).any():
            raise DxError(f"Lead {lead} holds no values (every sample is missing).")
        signal, missing = bridge(self.signals[:, index])
        notes = []
        if missing.any():
            share = float(missing.mean())
            if share > MAX_MISSING_SHARE:
                raise DxError(f"Lead {lead} has too many missing samples: {share:.0%} of its "
                              f"samples are missing, and at most {MAX_MISSING_SHARE:.0%} can "
                              "be bridged. Choose another lead or export the record again.")
            start, length = _longest_run(missing)
            if length / self.fs > MAX_GAP_S:
                raise DxError(f"Lead {lead} has a gap of {length / self.fs:.1f} s of missing "
                              f"samples (from {start / self.fs:.1f} s); a gap of over "
                              f"{MAX_GAP_S:g} s cannot be bridged without hiding beats. "
                              "Choose another lead or analyse the record before or after "
                              "the gap.")
            notes.append(f"{int(missing.sum()):,} missing samples of lead {lead} were "
                         "bridged by linear interpolation (the longest gap "
                         f"{length / self.fs:.2f} s, from {start / self.fs:.1f} s).")
        if float(np.ptp(signal)) <= 1e-6 * max(1.0, float(np.abs(signal).max())):
            # Readable but unlike any ECG: the model gives no answer (the guard's score 2).
            raise OutOfDomain(f"Lead {lead} is flat (the same value throughout): the "
                              "electrode may have been disconnected.", domain_score=2.0)
        return signal, notes


def check_record(record: EcgRecord) -> EcgRecord:
    """Refuse what no analysis can use: too low a sampling rate, too short a signal, one
    too long to analyse at once, values no ECG holds."""
    if not np.isfinite(record.fs) or record.fs < MIN_FS:
        raise DxError(f"The sampling rate is {record.fs:g} Hz; at least {MIN_FS:g} Hz is "
                      "needed to resolve the QRS complex.")
    if record.fs > MAX_FS:
        raise DxError(f"The sampling rate is {record.fs:g} Hz, more than any ECG recorder "
                      f"uses (at most {MAX_FS:,.0f} Hz); check the rate and its unit.")
    if record.signals.ndim != 2 or record.signals.shape[1] == 0:
        raise DxError("The record holds no signal.")
    check_size(*record.signals.shape, record.fs)
    if record.duration_s < MIN_SECONDS:
        raise DxError(f"The signal lasts {record.duration_s:.1f} s; at least "
                      f"{MIN_SECONDS:g} s are needed to measure the RR intervals.")
    check_amplitude(record.signals, record.lead_names)
    return record


def check_size(samples: int, leads: int, fs: float) -> None:
    """Refuse a record longer than :data:`MAX_HOURS` or larger than :data:`MAX_SAMPLES`
    (readers call this before decoding, from the file's size)."""
    hours = samples / fs / 3600
    if hours > MAX_HOURS:
        raise DxError(f"The record lasts {hours:.1f} h; at most {MAX_HOURS:g} h can be "
                      f"analysed at once. Export an excerpt of at most {MAX_HOURS:g} h.")
    if samples * leads > MAX_SAMPLES:
        raise DxError(f"The record holds {samples * leads / 1e6:.0f} million samples "
                      f"({leads} leads); at most {MAX_SAMPLES / 1e6:.0f} million can be "
                      "analysed at once. Export fewer leads or a shorter excerpt.")


def check_amplitude(signals: np.ndarray, lead_names: list[str],
                    infinite_is_missing: bool = True) -> None:
    """Refuse a lead whose values are far beyond any ECG in millivolts (a wrong gain or
    unit, or an overflow): the beats would be found but their shapes meaningless.

    NaN is a missing sample (:meth:`EcgRecord.lead` bridges or refuses it), and so is an
    infinity (a CSV cell "inf") unless ``infinite_is_missing`` is false: in the values a
    reader computed from a file's integers and gains (WFDB, EDF), infinity is an overflow."""
    finite = np.isfinite(signals)
    with np.errstate(invalid="ignore"):
        beyond = finite & (np.abs(signals) > MAX_AMPLITUDE_MV)
    if not infinite_is_missing:
        beyond |= np.isinf(signals)
    if beyond.any():
        lead = lead_names[int(np.flatnonzero(beyond.any(axis=0))[0])]
        raise DxError(f"Lead {lead} holds values beyond ±{MAX_AMPLITUDE_MV:,.0f} mV, far "
                      "outside any ECG. Check the gain or the unit (µV rather than mV?).")


def resample(signal: np.ndarray, fs_from: float, fs_to: float = MODEL_FS) -> np.ndarray:
    """Polyphase resampling (scipy's anti-aliasing FIR) from ``fs_from`` to ``fs_to``."""
    if abs(fs_from - fs_to) < 1e-9:
        return np.asarray(signal, dtype=np.float64)
    ratio = Fraction(fs_to / fs_from).limit_denominator(1000)
    return resample_poly(np.asarray(signal, dtype=np.float64), ratio.numerator,
                         ratio.denominator, padtype="line")


def to_rate(samples: np.ndarray, fs_from: float, fs_to: float) -> np.ndarray:
    """Sample indices at ``fs_from`` mapped to the nearest index at ``fs_to``."""
    return np.round(np.asarray(samples, dtype=np.float64) * fs_to / fs_from).astype(np.int64)

