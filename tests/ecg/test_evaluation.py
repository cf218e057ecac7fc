"""The shipped ecg-beats model on MIT-BIH DS2 (inter-patient test records): the issue's
targets at the reference beat positions, the detector's sensitivity and positive
predictivity, the end-to-end figures, and the card agreeing with a fresh evaluation."""

from __future__ import annotations

import pytest

from dxcore.ecg import evaluation
from dxcore.ecg import training as ecg_beats

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ds2(ecg_model, mitdb_root) -> dict:
    return evaluation.evaluate(ecg_model, resamples=200)


def value(metrics: dict, name: str) -> float:
    return metrics[name]["value"]


def test_counts_are_the_ds2_reference_beats(ds2):
    assert ds2["n"] == {"value": 49705, "N": 44259, "S": 1837, "V": 3221, "F": 388}


@pytest.mark.xfail(strict=True, reason="issue 3 is blocked on these: the shipped ecg-beats "
                   "model reaches V PPV 0.49, S PPV 0.38, N sensitivity 0.89 and accuracy 0.88 "
                   "on DS2, below the issue's targets (V sensitivity 0.95 and S sensitivity "
                   "0.67 meet them)")
def test_targets_at_the_reference_beat_positions(ds2):
    missed = [name for name, target in ecg_beats.TARGETS.items()
              if value(ds2, name) < target["at_least"]]
    assert missed == []


def test_intervals_bracket_the_values(ds2):
    for name in ("accuracy", "macro_f1", "S_sensitivity", "V_ppv"):
        low, high = ds2[name]["ci95"]
        assert low <= value(ds2, name) <= high


def test_detection_against_the_reference_beats(ds2):
    detection = ds2["detection"]
    assert detection["window_ms"] == 150
    assert value(detection, "sensitivity") >= 0.99
    assert value(detection, "positive_predictivity") >= 0.99


def test_end_to_end_counts_missed_beats_as_errors(ds2):
    e2e = ds2["end_to_end"]
    matrix = e2e["confusion_matrix"]
    assert matrix["classes"] == ["N", "S", "V", "F", "-"]
    missed = sum(row[-1] for row in matrix["value"][:4])  # reference beats never detected
    false = sum(matrix["value"][4][:4])                     # detections of no beat
    assert 0 < missed <= ds2["detection"]["n"]["missed"]    # (Q beats are not in the rows)
    assert 0 < false <= ds2["detection"]["n"]["false"]
    assert sum(map(sum, matrix["value"][:4])) == ds2["n"]["value"]
    assert value(e2e, "accuracy") <= value(ds2, "accuracy") + 0.01


def test_the_card_holds_these_metrics(ecg_model, ds2):
    assert ecg_model.card["targets"] == ecg_beats.TARGETS
    assert [check.metric for check in ecg_model.card.unmet_targets()] == [
        name for name, target in ecg_beats.TARGETS.items()
        if value(ds2, name) < target["at_least"]]
    stored = ecg_model.card["test_metrics"]
    for name in ("accuracy", "macro_f1", "S_sensitivity", "S_ppv", "V_sensitivity", "V_ppv"):
        assert stored[name]["value"] == pytest.approx(value(ds2, name), abs=1e-9)
    assert stored["confusion_matrix"]["value"] == ds2["confusion_matrix"]["value"]
