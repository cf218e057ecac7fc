"""Golub leukaemia expression profiles, ALL vs AML: 7,129 probes, the official 38/34 split.

Golub TR et al., Science 286:531-537 (1999); data released by the Broad Institute. Read from
``golub_72x7129_official_split.npz`` (the two CSV files of the release as arrays): raw MAS
average-difference intensities, negatives included.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dxcore.datasets import data_dir, require

CLASS_NAMES = ("ALL", "AML")


def official_split(part: str, data: str | Path | None = None) -> tuple[pd.DataFrame,
                                                                        np.ndarray]:
    """``part`` "train" (38 patients) or "test" (34): profiles (rows = patients, indexed by
    patient number; columns = probe IDs) and labels 1 = AML."""
    path = require(data_dir(data) / "golub" / "golub_72x7129_official_split.npz",
                   "Golub leukaemia")
    with np.load(path, allow_pickle=False) as arrays:
        table = pd.DataFrame(arrays[f"X_{part}"], columns=arrays["genes"].tolist(),
                             index=pd.Index(arrays[f"patient_{part}"], name="patient"))
        return table, arrays[f"y_{part}"].astype(int)
