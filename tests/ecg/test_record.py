"""The record's lead choice (MLII, else lead II, else another limb lead, else the first;
in WFDB 12-lead records, EDF and CSV alike) and its missing samples (a few bridged with a
note, too many refused in words about missing samples, not about amplitude)."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.ecg import EcgRecord, load_record, load_uploads
from dxcore.ecg.csv_io import read_csv
from dxcore.ecg.record import check_amplitude, lead_rank
from dxcore.errors import DxError, OutOfDomain
from tests.helpers import (
    TWELVE_LEADS,
    edf_bytes,
    real_ecg,
    synthetic_ecg,
    twelve_lead_ecg,
    wfdb_bytes,
)

NOT_II = "Lead II was not in the record; lead {} was analysed instead: the model was " \
         "trained on lead MLII, so read the beat classes with care."


def leads(*names: str) -> EcgRecord:
    """A synthetic record whose leads are called ``names`` (the same signal in each)."""
    signal = synthetic_ecg()[:, :1]
    return EcgRecord(np.repeat(signal, len(names), axis=1), 360.0, list(names), "leads")


def csv_text(signals: np.ndarray, names: tuple[str, ...], cells: dict | None = None) -> bytes:
    """A CSV at 360 Hz with a time column; ``cells`` {(row, column): text} replace values."""
    rows = ["time," + ",".join(names)]
    for i, row in enumerate(signals):
        values = [(cells or {}).get((i, k), f"{v:.4f}") for k, v in enumerate(row)]
        rows.append(",".join([f"{i / 360:.6f}", *values]))
    return ("\n".join(rows) + "\n").encode()


# --- Lead choice -------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "rank"), [
    ("MLII", 0), ("ml ii", 0), ("MLII→", 0), ("II", 1), ("ii", 1), ("Lead II", 1),
    ("ECG II", 1), ("EKG_II", 1), ("Ableitung II", 1), ("I", 2), ("lead i", 2), ("MLI", 2),
    ("III", 3), ("MLIII", 3), ("aVF", 4), ("AVL", 5), ("aVR", 6), ("V5", None),
    ("signal 1", None), ("Brustwand V2", None)])
def test_lead_names_are_ranked_loosely_but_not_confused(name, rank):
    assert lead_rank(name) == rank


@pytest.mark.parametrize(("names", "chosen"), [
    (("V5", "II", "MLII"), "MLII"),
    (("I", "II", "III"), "II"),
    (("V1", "Lead II", "I"), "Lead II"),
    (("V1", "aVR", "III", "I", "aVF"), "I"),
    (("V1", "aVR", "aVL", "aVF"), "aVF"),
    (("V1", "V2"), "V1"),
])
def test_mlii_then_lead_ii_then_the_best_limb_lead_then_the_first(names, chosen):
    record = leads(*names)
    name, _, notes = record.lead()
    assert name == chosen == record.lead_names[record.default_lead()]
    if chosen == "MLII":
        assert notes == []
    elif lead_rank(chosen) == 1:
        assert notes == [f"Lead {chosen} was analysed; the model was trained on lead MLII, a "
                         "modified lead II (its limb electrodes on the torso) that lead II "
                         "closely resembles."]
    else:
        assert notes == [NOT_II.format(chosen)]


def test_a_lead_chosen_over_lead_ii_says_so():
    notes = leads("II", "V5").lead("v5")[2]
    assert notes == ["Lead V5 was analysed rather than lead II: the model was trained on "
                     "lead MLII, so read the beat classes with care."]
    assert leads("MLII", "V5").lead("MLII")[2] == []


def test_edf_and_csv_records_choose_lead_ii_too():
    signals = np.c_[synthetic_ecg(fs=250), synthetic_ecg(fs=250)[:, :1]]
    edf = load_uploads({"rest.edf": edf_bytes(signals, fs=250, leads=("I", "II", "V5"))})
    assert edf.lead_names == ["I", "II", "V5"] and edf.lead()[0] == "II"
    csv = read_csv(csv_text(synthetic_ecg(), ("V1", "ECG II")))
    assert csv.lead()[0] == "ECG II"
    name, _, notes = read_csv(csv_text(synthetic_ecg(), ("V1", "III"))).lead()
    assert name == "III" and notes == [NOT_II.format("III")]


@pytest.fixture(scope="module")
def twelve_lead(mitdb_root, tmp_path_factory):
    """30 s of a synthetic 12-lead record at 500 Hz without MLII, written by wfdb.wrsamp
    as a resting ECG system exports it (format 16, 1000 units per mV)."""
    import wfdb

    folder = tmp_path_factory.mktemp("twelve")
    wfdb.wrsamp("rest", fs=500, units=["mV"] * 12, sig_name=list(TWELVE_LEADS),
                p_signal=twelve_lead_ecg(mitdb_root), fmt=["16"] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(folder))
    return folder / "rest"


def test_a_12_lead_wfdb_record_is_read_and_its_lead_ii_chosen(twelve_lead):
    record = load_record(twelve_lead)
    uploaded = load_uploads({f"rest{ext}": twelve_lead.with_suffix(ext).read_bytes()
                             for ext in (".hea", ".dat")})
    assert record.lead_names == uploaded.lead_names == list(TWELVE_LEADS)
    assert record.fs == 500 and record.signals.shape == (15000, 12)
    np.testing.assert_array_equal(record.signals, uploaded.signals)
    assert record.lead()[0] == "II"


def test_a_12_lead_record_without_mlii_gets_an_answer_on_lead_ii(ecg_model, twelve_lead):
    """The refusal that was: without MLII the first lead (I) was analysed, and a lead I
    whose QRS nearly cancels is unlike the MLII the signal-quality guard was fitted on, so
    every 10-s stretch was refused as "not an ECG". Lead II is analysed now."""
    result = ecg_model.predict(str(twelve_lead))
    assert result.detail.lead == "II" and result.detail.summary["lead"] == "II"
    assert 30 <= len(result.decisions) <= 45  # 30 s of record 100 hold 38 beats
    assert any(note.startswith("Lead II was analysed; the model was trained on lead MLII")
               for note in result.notes)
    with pytest.raises(OutOfDomain, match="does not look like an ECG lead"):
        ecg_model.predict(str(twelve_lead), lead="I")


# --- Missing samples -----------------------------------------------------------------------

def test_nan_and_infinite_csv_cells_are_bridged_with_a_note(ecg_model, mitdb_root):
    signals = real_ecg(mitdb_root, seconds=30.0)
    cells = {(100, 0): "nan", (101, 0): "inf", (102, 0): "-inf", (5000, 0): "",
             (200, 1): "inf"}
    record = read_csv(csv_text(signals, ("MLII", "V5"), cells))
    name, lead, notes = record.lead()
    assert name == "MLII" and np.isfinite(lead).all()
    assert notes == ["4 missing samples of lead MLII were bridged by linear interpolation "
                     "(the longest gap 0.01 s, from 0.3 s)."]
    assert np.isinf(record.signals[101, 0])  # the record keeps what the file holds
    result = ecg_model.predict(record)
    assert len(result.decisions) > 30 and notes[0] in result.notes


def test_bridging_leaves_a_float64_record_as_it_was():
    signals = synthetic_ecg()
    signals[10:20, 0] = np.nan
    record = EcgRecord(signals, 360.0, ["MLII", "V5"], "float64")
    record.lead()
    assert np.isnan(record.signals[10:20, 0]).all()


def test_a_lead_mostly_missing_is_refused_in_words_about_missing_samples():
    signals = synthetic_ecg(seconds=30)
    signals[::4, 0] = np.inf  # a quarter of the samples, in gaps of one sample
    record = read_csv(csv_text(signals, ("MLII", "V5")))
    with pytest.raises(DxError, match=r"Lead MLII has too many missing samples: 25% of its "
                                      r"samples are missing, and at most 20% can be bridged"):
        record.lead()
    assert record.lead("V5")[0] == "V5"  # the other lead is still usable


def test_a_gap_of_over_two_seconds_is_refused():
    signals = synthetic_ecg(seconds=30)
    signals[3600:3600 + 3 * 360, 0] = np.nan  # 3 s, a tenth of the lead
    with pytest.raises(DxError, match=r"Lead MLII has a gap of 3\.0 s of missing samples "
                                      r"\(from 10\.0 s\); a gap of over 2 s cannot be bridged"):
        load_uploads(wfdb_bytes(signals)).lead()


def test_finite_absurd_values_are_still_refused_and_overflows_too():
    with pytest.raises(DxError, match="beyond ±10,000 mV"):
        read_csv(csv_text(np.c_[synthetic_ecg()[:, :1], np.full(7200, 2e4)], ("MLII", "V5")))
    check_amplitude(np.array([[np.inf], [np.nan], [1.0]]), ["MLII"])  # missing samples
    with pytest.raises(DxError, match="Lead MLII holds values beyond"):
        check_amplitude(np.array([[np.inf], [1.0]]), ["MLII"], infinite_is_missing=False)


def test_an_edf_whose_values_overflow_is_refused_not_read_as_missing():
    """EDF has no missing samples: values beyond float32 in millivolts (here a physical
    range of 1e36 to 2e36 V) are refused as before, not read as infinities (missing)."""
    data = bytearray(edf_bytes(synthetic_ecg(), unit="V", plus=False))
    for offset, value in ((104, "1e36"), (112, "2e36")):  # physical min, max of lead 1
        data[256 + offset * 2:256 + offset * 2 + 8] = value.ljust(8).encode()
    with pytest.raises(DxError, match="Lead MLII holds values beyond ±10,000 mV"):
        load_uploads({"overflow.edf": bytes(data)})
