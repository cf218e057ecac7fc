"""Beat positions: XQRS detection against the reference, the vectorised peak helper,
matching within 150 ms and the AAMI classes."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.ecg import beats, load_record
from dxcore.ecg import preprocessing as features


def test_detection_on_record_100_meets_ec57_style_matching(mitdb_root):
    record = load_record(mitdb_root / "100")
    _, signal, _ = record.lead()
    reference, _ = beats.reference_beats(record.annotations.symbol, record.annotations.sample)
    detected = beats.detect_beats(signal, record.fs)
    matched_reference, matched_detected = beats.match_beats(reference, detected, record.fs)
    assert len(matched_reference) / len(reference) > 0.995          # sensitivity
    assert len(matched_detected) / len(detected) > 0.995            # positive predictivity
    offsets = detected[matched_detected] - reference[matched_reference]
    assert np.median(np.abs(offsets)) <= 3                          # on the R peak


@pytest.mark.parametrize("radius", [5, 36, 37])
def test_vectorised_peaks_equal_wfdb_peaks(mitdb_root, radius):
    from wfdb.processing import peaks

    _, signal, _ = load_record(mitdb_root / "208").lead()
    rng = np.random.default_rng(0)
    for sig in (signal[:20_000], np.round(signal[:20_000], 1), features.bandpass(signal)[:20_000],
                rng.integers(0, 3, 5000).astype(float)):  # plateaus and ties
        np.testing.assert_array_equal(beats.find_local_peaks(sig, radius),
                                      peaks.find_local_peaks(sig, radius))


def test_xqrs_uses_the_vectorised_helper_and_leaves_wfdb_untouched(mitdb_root):
    from wfdb.processing import XQRS, peaks, qrs

    assert qrs.find_local_peaks is peaks.find_local_peaks  # no patch of wfdb
    fast = beats.fast_xqrs()
    for name in ("_mwi", "_learn_init_params"):
        assert getattr(fast, name).__globals__["find_local_peaks"] is beats.find_local_peaks
    _, signal, _ = load_record(mitdb_root / "119").lead()
    minute = signal[:360 * 60]
    plain = XQRS(sig=minute, fs=360)
    plain.detect(verbose=False)
    assert beats.detect_beats(minute, 360).tolist() == np.unique(plain.qrs_inds).tolist()


def test_matching_uses_a_150_ms_window_and_pairs_each_beat_once():
    reference = np.array([1000, 2000, 3000])
    detected = np.array([1054, 1060, 2055, 2990])  # 150 ms = 54 samples at 360 Hz
    matched_reference, matched_detected = beats.match_beats(reference, detected, fs=360)
    assert matched_reference.tolist() == [0, 2]
    assert matched_detected.tolist() == [0, 3]


def test_aami_mapping_of_mitbih_symbols():
    symbols = np.array(list("NLRejAaJSVEF/fQ") + ["+", "~", "|", "x", "!"])
    assert "".join(beats.aami_labels(symbols)) == "NNNNNSSSSVVFQQQ"
