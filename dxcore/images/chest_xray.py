"""The paediatric chest X-ray dataset (Kermany et al., Cell 2018): NORMAL vs PNEUMONIA.

Layout: ``chest_xray/{train,test}/{NORMAL,PNEUMONIA}/*.jpeg`` (the official split). File
names carry the patient (``person12_virus_3.jpeg``, ``IM-0115-0001.jpeg``,
``NORMAL2-IM-0383-0001.jpeg``), which is what the validation split groups by.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from dxcore.datasets import data_dir, require
from dxcore.images.preprocessing import prepare_for_model, resize_for_model
from dxcore.images.reader import load_image

CLASS_NAMES = ("NORMAL", "PNEUMONIA")
_PATIENT = re.compile(r"^(person\d+|(?:NORMAL2-)?IM-\d+)")


@dataclass
class Split:
    """File paths, integer labels (index into CLASS_NAMES) and patient ids."""

    paths: list[Path]
    labels: np.ndarray
    patients: np.ndarray

    def subset(self, index: np.ndarray) -> Split:
        return Split([self.paths[i] for i in index], self.labels[index], self.patients[index])


def patient_of(path: Path) -> str:
    """The patient a file belongs to, read from its name."""
    match = _PATIENT.match(path.name)
    return match.group(1) if match else path.stem


def root(override: str | Path | None = None) -> Path:
    return require(data_dir(override) / "chest_xray", "chest X-ray")


def official_split(name: str, override: str | Path | None = None) -> Split:
    """``train`` or ``test`` exactly as distributed, sorted for reproducibility."""
    folder = root(override) / name
    paths, labels = [], []
    for label, class_name in enumerate(CLASS_NAMES):
        files = sorted((folder / class_name).glob("*.jpeg"))
        paths += files
        labels += [label] * len(files)
    patients = np.array([patient_of(p) for p in paths])
    return Split(paths, np.array(labels, dtype=np.int64), patients)


def train_validation_split(
    train: Split, validation_fraction: float = 0.125, seed: int = 0
) -> tuple[Split, Split]:
    """Carve a validation set out of train by patient, keeping the class balance."""
    folds = StratifiedGroupKFold(
        n_splits=round(1 / validation_fraction), shuffle=True, random_state=seed
    )
    fit_index, validation_index = next(folds.split(train.paths, train.labels, train.patients))
    return train.subset(fit_index), train.subset(validation_index)


def load_pixels(paths: list[Path], side: int, progress: bool = False,
                normalization: str | None = None) -> np.ndarray:
    """Decode and resize images exactly as an upload is, as (N, side, side, 1) float32;
    with ``normalization`` also normalised as the model's input (else kept in [0, 1])."""
    from tqdm import tqdm

    def one(path: Path) -> np.ndarray:
        pixels = load_image(path).pixels
        if normalization is None:
            return resize_for_model(pixels, side)
        return prepare_for_model(pixels, side, normalization)

    with ThreadPoolExecutor(max_workers=4) as pool:
        images = list(tqdm(pool.map(one, paths), total=len(paths), disable=not progress,
                           desc="Reading images", unit="img"))
    return np.stack(images)[..., None]
