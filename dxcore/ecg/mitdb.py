"""The MIT-BIH Arrhythmia Database (Moody GB, Mark RG, IEEE EMB Mag 20(3):45-50, 2001):
48 half-hour two-lead Holter records at 360 Hz with reference beat annotations.

The inter-patient split of de Chazal P et al. (IEEE TBME 51(7):1196-1206, 2004): train on
DS1, test on DS2, the four paced records (102, 104, 107, 217) in neither. Lead MLII is
channel 0 except in 114 (channel 1); 102 and 104 have none (and are excluded).

Example (needs the dataset)::

    beats = load_beats(["100"])
    beats.inputs["beat"].shape, (beats.labels == "N").sum()
    # -> ((2273, 128, 1), 2239)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from dxcore.datasets import data_dir, require
from dxcore.ecg.beats import reference_beats
from dxcore.ecg.preprocessing import model_inputs
from dxcore.ecg.record import EcgRecord
from dxcore.ecg.wfdb_io import read_wfdb

DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124",
       "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212",
       "213", "214", "219", "221", "222", "228", "231", "232", "233", "234")
PACED = ("102", "104", "107", "217")
LEAD = "MLII"


RECORD_SECONDS = 650_000 / 360  # the length of every MIT-BIH record: 30 min 6 s


def training_record_note(record: EcgRecord) -> str | None:
    """A note when a record is named like one of the DS1 training records (the file name
    without its extension, as MIT-BIH names them), saying so more firmly when it also
    lasts as long as an MIT-BIH record (at any sampling rate: a resampled copy too).

    >>> signals = np.zeros((int(RECORD_SECONDS * 250), 1))
    >>> training_record_note(EcgRecord(signals, 250, ["MLII"], "uploads/208.csv"))[:58]
    'This record has the name and the length of MIT-BIH record '
    >>> training_record_note(EcgRecord(signals, 250, ["MLII"], "100")) is None
    True
    """
    stem = Path(record.name).name.split(".")[0]
    if stem not in DS1:
        return None
    length = " and the length" if abs(record.duration_s - RECORD_SECONDS) < 1.0 else ""
    return (f"This record has the name{length} of MIT-BIH record {stem}, one of the "
            f"{len(DS1)} records the model was trained on (DS1). If it is that record, the "
            "model has seen its beats and their labels: its classes, and its agreement with "
            "the reference, overstate how it reads a new patient.")


@dataclass
class BeatSet:
    """Reference beats of some records: model inputs, AAMI labels, record and position."""

    inputs: dict[str, np.ndarray]
    labels: np.ndarray
    records: np.ndarray
    samples: np.ndarray

    def subset(self, index: np.ndarray) -> BeatSet:
        return BeatSet({k: v[index] for k, v in self.inputs.items()}, self.labels[index],
                       self.records[index], self.samples[index])


def root(override: str | Path | None = None) -> Path:
    return require(data_dir(override) / "mitdb", "MIT-BIH Arrhythmia")


def read_record(name: str, override: str | Path | None = None) -> EcgRecord:
    """One record through the same reader as an upload."""
    return read_wfdb(root(override) / name)


def record_beats(name: str, override: str | Path | None = None) -> BeatSet:
    """All reference beats (Q included) of one record, with their model inputs.

    The RR context is computed over every beat, Q included, as a detector would see them.
    """
    record = read_record(name, override)
    _, signal, _ = record.lead(LEAD)
    samples, labels = reference_beats(record.annotations.symbol, record.annotations.sample)
    return BeatSet(model_inputs(signal, samples), labels,
                   np.full(len(labels), name), samples)


@cache
def _cached(names: tuple[str, ...], override: str | None) -> BeatSet:
    parts = [record_beats(name, override) for name in names]
    return BeatSet({k: np.concatenate([p.inputs[k] for p in parts]) for k in parts[0].inputs},
                   np.concatenate([p.labels for p in parts]),
                   np.concatenate([p.records for p in parts]),
                   np.concatenate([p.samples for p in parts]))


def load_beats(names: tuple[str, ...] | list[str],
               override: str | Path | None = None) -> BeatSet:
    """The beats of several records, concatenated (cached per process)."""
    return _cached(tuple(names), str(override) if override else None)


def reference_rhythm(name: str, override: str | Path | None = None) -> list[dict]:
    """The reference rhythm episodes of one record (its ``.atr`` rhythm notes,
    :func:`dxcore.ecg.rhythm.reference_episodes`)."""
    import wfdb

    from dxcore.ecg.rhythm import reference_episodes

    annotation = wfdb.rdann(str(root(override) / name), "atr")
    return reference_episodes(annotation.sample, annotation.aux_note, 360.0, RECORD_SECONDS)
