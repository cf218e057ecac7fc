"""UCI Heart Disease, Cleveland: 303 patients, 13 findings, disease (num > 0) vs none.

Janosi A, Steinbrunn W, Pfisterer M, Detrano R (1988), UCI ML Repository, CC BY 4.0;
Detrano R et al., Am J Cardiol 64:304-310 (1989). ``processed.cleveland.data`` has no header
and marks missing values with ``?``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dxcore.datasets import data_dir, require

COLUMNS = ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang",
           "oldpeak", "slope", "ca", "thal"]
CLASS_NAMES = ("no heart disease", "heart disease")


def load(data: str | Path | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The findings as read (text cells, as an upload would be) and labels 1 = disease."""
    path = require(data_dir(data) / "heart_disease" / "processed.cleveland.data",
                   "UCI heart disease (Cleveland)")
    table = pd.read_csv(path, header=None, names=[*COLUMNS, "num"], dtype=str,
                        keep_default_na=False)
    labels = (table.pop("num").astype(int) > 0).to_numpy(int)
    return table, labels
