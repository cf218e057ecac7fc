"""UCI Chronic Kidney Disease: 400 patients, 24 findings (many missing), ckd vs notckd.

Rubini L, Soundarapandian P, Eswaran P (2015), UCI ML Repository, CC BY 4.0. An ARFF file
whose data rows carry stray tabs and spaces around values: each cell is stripped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dxcore.datasets import data_dir, require

COLUMNS = ["age", "bp", "sg", "al", "su", "rbc", "pc", "pcc", "ba", "bgr", "bu", "sc", "sod",
           "pot", "hemo", "pcv", "wbcc", "rbcc", "htn", "dm", "cad", "appet", "pe", "ane"]
CLASS_NAMES = ("notckd", "ckd")


def load(data: str | Path | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The findings as read (text cells, ``?`` where missing) and labels 1 = ckd."""
    path = require(data_dir(data) / "ckd" / "chronic_kidney_disease.arff",
                   "UCI chronic kidney disease")
    body = path.read_text().split("@data", 1)[1]
    rows = [[cell.strip() for cell in line.split(",")] for line in body.splitlines()
            if line.strip() and not line.startswith("%")]
    table = pd.DataFrame(rows, columns=[*COLUMNS, "class"])
    labels = (table.pop("class") == "ckd").to_numpy(int)
    return table, labels
