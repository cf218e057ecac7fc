"""Readers for the public datasets the shipped models are trained and tested on: the
shared plumbing (where the datasets are, a split by patient) and the case-record sets; the
image and ECG sets are read by their modality (``dxcore.images.chest_xray``,
``dxcore.images.adult_cxr``, ``dxcore.ecg.mitdb``)."""

import os
from pathlib import Path

from dxcore.errors import DxError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def data_dir(override: str | Path | None = None) -> Path:
    """The datasets folder: ``override``, else ``$DX_DATA_DIR``, else ``../shared/data``."""
    chosen = override or os.environ.get("DX_DATA_DIR") or PROJECT_ROOT.parent / "shared" / "data"
    return Path(chosen)


def require(path: Path, what: str) -> Path:
    """Return ``path`` or explain which dataset is missing and how to point at it."""
    if not path.exists():
        raise DxError(
            f"The {what} dataset was not found at {path}. Download it (see README.md, "
            "'Datasets') and set DX_DATA_DIR to the folder that holds it."
        )
    return path


def patient_half(patients, seed: int):
    """Which items belong to the first half of the patients, the patients (in name order)
    shuffled with ``seed``: a split by patient, never by image.

    >>> import numpy as np
    >>> patient_half(np.array(["a", "a", "b", "c", "d"]), seed=0).sum() in (1, 2, 3)
    True
    """
    import numpy as np

    order = np.random.default_rng(seed).permutation(np.unique(patients))
    return np.isin(patients, order[:len(order) // 2])
