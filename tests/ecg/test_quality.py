"""The ECG quality guard (dxcore.ecg.quality): non-ECG signals refused, noisy and paced
beats Q, paced records flagged with and without .atr, mismatched annotations refused."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.ecg import EcgRecord, mitdb
from dxcore.ecg.quality import energy_detector, matched_share
from dxcore.errors import DxError, OutOfDomain
from tests.helpers import record_files


def lead(signal: np.ndarray, fs: float = 360.0) -> EcgRecord:
    return EcgRecord(np.asarray(signal, np.float32)[:, None], fs, ["MLII"], "test")


def test_energy_detector_finds_the_beats_of_a_regular_spike_train():
    fs, seconds = 360, 20
    signal = np.zeros(fs * seconds)
    beats = np.arange(fs // 2, len(signal) - fs // 2, int(0.8 * fs))
    signal[beats] = 1.0
    signal = np.convolve(signal, np.hanning(15), mode="same")
    found = energy_detector(signal)
    assert matched_share(beats, found, 0.15 * fs).mean() == 1.0
    assert abs(len(found) - len(beats)) <= 1


@pytest.fixture(scope="module")
def mitdb_100(mitdb_root) -> EcgRecord:
    return mitdb.read_record("100", mitdb_root.parent)


def non_ecg(name: str, ecg: np.ndarray, data_dir) -> tuple[np.ndarray, float]:
    rng = np.random.default_rng(1)
    t = np.arange(60 * 360) / 360
    if name == "sine":
        return np.sin(2 * np.pi * 1.2 * t), 360.0
    if name == "random walk":
        return np.cumsum(rng.normal(0, 0.05, len(t))), 360.0
    if name == "white noise":
        return rng.normal(0, 1, len(t)), 360.0
    if name == "cholesterol column":
        values = np.genfromtxt(data_dir / "heart_disease" / "processed.cleveland.data",
                               delimiter=",", usecols=4)
        return np.tile(values, 4), 100.0
    if name == "flat after 15 s":
        flat = ecg[: len(t)].copy()
        flat[15 * 360:] = flat[15 * 360]
        return flat, 360.0
    minute = ecg[: len(t)]
    return np.clip(minute, None, minute.min() + 0.3 * np.ptp(minute)), 360.0  # saturated


@pytest.mark.parametrize("name", ["sine", "random walk", "white noise", "cholesterol column",
                                  "flat after 15 s", "saturated"])
def test_non_ecg_signals_are_refused_with_a_domain_score(name, ecg_model, mitdb_100,
                                                         mitdb_root):
    signal, fs = non_ecg(name, mitdb_100.signals[:, 0].astype(float), mitdb_root.parent)
    with pytest.raises(OutOfDomain) as refusal:
        ecg_model.predict(lead(signal, fs))
    assert refusal.value.as_json()["domain_score"] >= 1.0
    assert str(refusal.value).endswith(".") and str(refusal.value).count(". ") <= 1


def test_a_clean_record_is_analysed_without_q_or_pacing(ecg_model, mitdb_100):
    analysis = ecg_model.predict(mitdb_100, use_reference=False).detail
    assert analysis.paced is None
    assert (analysis.labels == "Q").sum() == 0
    assert analysis.summary["beats_per_class"]["Q"] == 0


@pytest.mark.parametrize("name", ["102", "104", "107"])
def test_paced_records_are_flagged_from_the_signal_alone(name, ecg_model, mitdb_root):
    record = mitdb.read_record(name, mitdb_root.parent)
    result = ecg_model.predict(record, use_reference=False)
    analysis = result.detail
    assert analysis.paced.startswith("pacemaker spikes")
    assert result.notes[0].startswith("Paced rhythm: the model was not trained on paced")
    assert analysis.summary["beats_per_class"]["Q"] == (analysis.labels == "Q").sum() > 0
    assert all(result.set_of(i) == ["Q"] for i in np.flatnonzero(result.decisions == "Q"))


@pytest.mark.parametrize("name", mitdb.PACED)
def test_paced_records_are_flagged_from_their_annotations(name, ecg_model, mitdb_root):
    analysis = ecg_model.predict(record_files(mitdb_root, name)).detail
    assert analysis.paced.startswith("the reference annotations mark")
    beat = analysis.beats_json()[int(np.flatnonzero(analysis.labels == "Q")[0])]
    assert beat["prediction"] == "Q" and beat["reason"].startswith("paced beat")


def test_noisy_stretch_beats_become_q_and_are_out_of_the_burden(ecg_model, mitdb_100):
    signals = mitdb_100.signals.copy()
    rng = np.random.default_rng(0)
    signals[60 * 360: 90 * 360, 0] += rng.normal(0, 2.0, 30 * 360).astype(np.float32)
    noisy = EcgRecord(signals, mitdb_100.fs, mitdb_100.lead_names, "noisy",
                      annotations=mitdb_100.annotations)
    analysis = ecg_model.predict(noisy).detail
    times = analysis.times
    q = analysis.labels == "Q"
    assert q[(times > 62) & (times < 88)].all() and not q[times > 100].any()
    summary = analysis.summary
    classified = summary["beats"] - summary["beats_per_class"]["Q"]
    ectopic = classified - summary["beats_per_class"]["N"]
    assert summary["ectopic_burden_percent"] == round(100 * ectopic / classified, 2)
    assert {b["reason"] for b in analysis.beats_json() if b["prediction"] == "Q"} == \
        {"noisy segment"}


def test_annotations_of_another_record_are_refused(ecg_model, mitdb_root):
    files = {**record_files(mitdb_root, "100", (".hea", ".dat")),
             "100.atr": (mitdb_root / "106.atr").read_bytes()}
    with pytest.raises(DxError, match="do not fit this signal"):
        ecg_model.predict(files)


def test_random_bytes_as_annotations_are_refused(ecg_model, mitdb_root):
    files = {**record_files(mitdb_root, "100", (".hea", ".dat")),
             "100.atr": np.random.default_rng(0).integers(0, 256, 4000, np.uint8).tobytes()}
    with pytest.raises(DxError) as refusal:
        ecg_model.predict(files)
    assert "annotation" in str(refusal.value)
