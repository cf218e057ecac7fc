"""Adult chest X-rays (``ood_adult_cxr``): a population the paediatric ``cxr-pneumonia``
model was not trained on, split by patient into a FIT part and a HELD-OUT part.

31 frontal adult films of 27 patients from the Actualmed COVID-19 Chest X-ray Dataset
Initiative (see the datasets README), named ``<patient>_<n>.png``. The FIT part (about
half of the patients, drawn with :data:`SPLIT_SEED`) may fit and choose the population
guard (:mod:`dxcore.images.population`); the HELD-OUT part is measured once, later, with
the official test split (:func:`dxcore.images.evaluation.evaluate_population`), and no
choice is ever made on it. Splitting by patient, never by image, as for the children
(Kermany's train folder, :func:`dxcore.images.chest_xray.train_validation_split`): two
films of one patient share far more than two patients' films do.

Example (needs the dataset)::

    fit, held_out = adult_split()
    set(fit.patients) & set(held_out.patients)
    # -> set()
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dxcore.datasets import data_dir, patient_half, require

FOLDER = "ood_adult_cxr"
SPLIT_SEED = 24  # issue 24
_PATIENT = re.compile(r"^(.+)_\d+$")


@dataclass(frozen=True)
class AdultFilms:
    """Adult films: file paths and the patient of each."""

    paths: list[Path]
    patients: np.ndarray


def patient_of(path: Path) -> str:
    """The patient of ``ANON218_02.png``: ``ANON218``."""
    match = _PATIENT.match(path.stem)
    return match.group(1) if match else path.stem


def adult_split(override: str | Path | None = None,
                seed: int = SPLIT_SEED) -> tuple[AdultFilms, AdultFilms]:
    """(FIT, HELD-OUT): the patients in name order, shuffled with ``seed``; the first
    ``patients // 2`` are the FIT part, the others (one more for an odd count) HELD-OUT."""
    folder = require(data_dir(override) / FOLDER, "adult chest X-ray")
    paths = sorted(folder.glob("*.png"))
    patients = np.array([patient_of(p) for p in paths])
    chosen = patient_half(patients, seed)

    def films(mask: np.ndarray) -> AdultFilms:
        return AdultFilms([p for p, keep in zip(paths, mask, strict=True) if keep],
                          patients[mask])

    return films(chosen), films(~chosen)
