"""The shipped ecg-beats model on MIT-BIH DS2 (inter-patient test records): the issue's
targets at the reference beat positions, the detector's sensitivity and positive
predictivity, the end-to-end figures, the rhythm found from the signal alone, and the card
agreeing with a fresh evaluation."""

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


@pytest.mark.xfail(strict=True, reason="issue 23 is blocked on these: read with the rhythm, "
                   "the shipped ecg-beats model reaches V PPV 0.83 and S sensitivity 0.65 on "
                   "DS2, below the targets 0.90 and 0.75 (N sensitivity 0.98, accuracy 0.95, "
                   "V sensitivity 0.94 and S PPV 0.62 meet theirs)")
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
    # issue 23: every beat found, from the signal alone
    assert value(detection, "sensitivity") >= 0.998
    assert value(detection, "positive_predictivity") >= 0.998


def test_ventricular_beats_are_found(ds2):
    matrix = ds2["end_to_end"]["confusion_matrix"]
    v_row = matrix["value"][matrix["classes"].index("V")]
    assert v_row[-1] / sum(v_row) <= 0.01  # missed V beats, of the reference V beats


def test_end_to_end_is_within_003_of_the_reference_positions(ds2):
    for name in ("accuracy", "N_sensitivity", "S_sensitivity", "S_ppv", "V_sensitivity",
                 "V_ppv"):
        assert abs(value(ds2["end_to_end"], name) - value(ds2, name)) <= 0.03, name


def test_af_found_from_the_signal_alone(ds2):
    assert value(ds2["rhythm"], "af_sensitivity") >= 0.90
    assert ds2["rhythm"]["seconds"]["value"] > 5000  # DS2's AFIB and AFL


@pytest.mark.xfail(strict=True, reason="issue 23 is blocked on these: AF/flutter PPV 0.878 "
                   "(target 0.90), AF burden 8.3 points high on 219 and 19.1 on 222 (target "
                   "within 5 on every record)")
def test_af_ppv_and_burden_targets(ds2):
    assert value(ds2["rhythm"], "af_ppv") >= 0.90
    assert ds2["rhythm"]["af_burden_records_over_5_points"]["value"] == []


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
    assert stored["rhythm"]["af_ppv"]["value"] == pytest.approx(value(ds2["rhythm"], "af_ppv"))
    assert stored["rhythm"]["af_burden_percent"] == ds2["rhythm"]["af_burden_percent"]
