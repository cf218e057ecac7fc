"""The record summary: runs, pauses and the ectopic burden."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.ecg.summary import summarise


def test_summary_runs_pauses_and_burden():
    times = np.concatenate([np.arange(30) * 0.8, 24 + 2.5 + np.arange(10) * 0.8])
    labels = np.array(["N"] * 10 + ["V", "V"] + ["N"] * 5 + ["V"] * 5 + ["N"] * 4 +
                      ["S"] * 3 + ["N"] * 11)
    summary = summarise(times, labels, duration_s=40, classes=["N", "S", "V", "F"])
    assert summary["beats_per_class"] == {"N": 30, "S": 3, "V": 7, "F": 0}
    assert summary["ectopic_burden_percent"] == 25.0
    assert summary["longest_v_run"] == 5 and summary["v_couplets"] == 1
    kinds = [e["kind"] for e in summary["episodes"]]
    assert kinds == ["ventricular run", "supraventricular run", "pause"]
    assert summary["episodes"][2]["rr_s"] == pytest.approx(3.3)
