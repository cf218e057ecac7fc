"""Measuring a shipped record model on its test split (bootstrap 95% CIs over cases)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dxcore.metrics import report_binary
from dxcore.records.preprocessing import encode
from dxcore.records.validation import validate


def evaluate_split(model, table: pd.DataFrame, labels: np.ndarray, resamples: int = 2000
                   ) -> dict:
    """Test metrics of a shipped record model (bootstrap 95% CIs over cases), with the
    number of wrongly classified cases. Implausible cells count as missing, as in training."""
    values = validate(table, model.schema).values
    fill = model.card.imputation
    probabilities = model.probabilities(encode(values, model.schema, fill))
    report = report_binary(labels, probabilities[:, 1], model.card.threshold, resamples)
    decided = model.rule.decide(probabilities)
    truth = np.asarray(model.card.class_names)[labels]
    report["misclassified"] = {"value": int((decided != truth).sum()), "of": int(len(labels))}
    return report
