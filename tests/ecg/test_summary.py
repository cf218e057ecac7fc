"""The record summary: runs, pauses and the ectopic burden."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.ecg.summary import MISSED, NOISY, summarise


def test_summary_runs_pauses_and_burden():
    times = np.concatenate([np.arange(30) * 0.8, 24 + 2.5 + np.arange(10) * 0.8])
    labels = np.array(["N"] * 10 + ["V", "V"] + ["N"] * 5 + ["V"] * 5 + ["N"] * 4 +
                      ["S"] * 3 + ["N"] * 11)
    summary = summarise(times, labels, duration_s=40, classes=["N", "S", "V", "F"])
    assert summary["beats_per_class"] == {"N": 30, "S": 3, "V": 7, "F": 0}
    assert summary["ectopic_burden_percent"] == 25.0
    assert summary["longest_v_run"] == 5 and summary["v_couplets"] == 1
    kinds = [e["kind"] for e in summary["episodes"]]
    # at 75 bpm neither run is a tachycardia
    assert kinds == ["idioventricular run", "slow supraventricular run", "pause"]
    assert summary["episodes"][2]["rr_s"] == pytest.approx(3.3)


def _spikes(seconds: float, beats_s: list[float], fs: int = 360) -> np.ndarray:
    """A flat lead with a 50 ms deflection at each of ``beats_s``."""
    signal = np.zeros(int(seconds * fs))
    for t in beats_s:
        signal[int(t * fs):int(t * fs) + 18] = 1.0
    return signal


def test_a_long_rr_interval_with_a_beat_inside_is_no_pause():
    fs, times = 360, np.array([1.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0])
    labels = np.array(["N"] * len(times))
    # the detector missed beats at 4 and 5 s: the signal has them
    missed = summarise(times, labels, 14.0, ["N", "V"],
                       signal=_spikes(14.0, [*times, 4.0, 5.0]), fs=fs)
    assert [e["kind"] for e in missed["episodes"]] == []
    assert missed["pauses_with_a_beat"] == 1
    # a true pause: nothing between 3 and 6 s
    true = summarise(times, labels, 14.0, ["N", "V"], signal=_spikes(14.0, times), fs=fs)
    assert [(e["kind"], e["rr_s"]) for e in true["episodes"]] == [("pause", 3.0)]
    assert true["pauses_with_a_beat"] == 0
    # without the signal (reference beats), every long RR interval is a pause
    assert summarise(times, labels, 14.0, ["N", "V"])["pauses_with_a_beat"] == 0


def test_a_beat_only_the_second_lead_shows_makes_a_doubt_not_a_pause():
    """The analysed lead goes flat from 3.5 to 5.5 s; the second lead shows the beats at
    4 and 5 s that the detection missed."""
    fs, times = 360, np.array([1.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0])
    labels = np.array(["N"] * len(times))
    first, second = _spikes(14.0, times), _spikes(14.0, [*times, 4.0, 5.0])
    alone = summarise(times, labels, 14.0, ["N"], signal=first, fs=fs)
    assert [e["kind"] for e in alone["episodes"]] == ["pause"]
    assert alone["detection_doubts"] == []
    both = summarise(times, labels, 14.0, ["N"], signal=np.column_stack([first, second]),
                     fs=fs)
    assert both["episodes"] == [] and both["pauses_with_a_beat"] == 1
    assert both["detection_doubts"] == [{"start_s": 3.0, "end_s": 6.0, "reason": MISSED}]


def test_a_noisy_stretch_is_a_doubt_and_holds_no_pause():
    fs, times = 360, np.array([1.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0])
    labels = np.array(["N"] * len(times))
    summary = summarise(times, labels, 14.0, ["N"], signal=_spikes(14.0, times), fs=fs,
                        noisy=[(2.5, 6.5)])
    assert summary["episodes"] == [] and summary["pauses_with_a_beat"] == 0
    assert summary["detection_doubts"] == [{"start_s": 2.5, "end_s": 6.5, "reason": NOISY}]


def test_rate_windows_that_share_beats_make_one_episode():
    # 150 bpm, 4 beats at 100 bpm (fewer than the 8-interval window), 150 bpm again
    rr = [0.4] * 12 + [0.6] * 4 + [0.4] * 12
    times = np.concatenate([[0.0], np.cumsum(rr)])
    summary = summarise(times, np.array(["N"] * len(times)), times[-1] + 1, ["N"])
    [episode] = [e for e in summary["episodes"] if e["kind"] == "tachycardia"]
    assert episode["start_s"] == 0.0 and episode["end_s"] == pytest.approx(times[-1])
    assert episode["beats"] == len(times)
    assert episode["rate_bpm"] == round(60 * (len(times) - 1) / times[-1])


def test_a_run_is_a_tachycardia_only_at_100_bpm_or_more():
    times = np.concatenate([np.arange(10) * 0.8, 8 + np.arange(4) * 0.5, 10 + np.arange(10) * 0.8,
                            18 + np.arange(3) * 1.2, 22 + np.arange(5) * 0.8])
    labels = np.array(["N"] * 10 + ["S"] * 4 + ["N"] * 10 + ["S"] * 3 + ["N"] * 5)
    summary = summarise(times, labels, duration_s=26, classes=["N", "S", "V", "F"])
    runs = [(e["kind"], e["rate_bpm"]) for e in summary["episodes"]]
    assert runs == [("supraventricular tachycardia run", 120), ("slow supraventricular run", 50)]
