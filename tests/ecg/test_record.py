"""The record's lead choice: MLII, else lead II, else another limb lead, else the first;
in WFDB 12-lead records, EDF and CSV alike."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.ecg import EcgRecord, load_record, load_uploads
from dxcore.ecg.csv_io import read_csv
from dxcore.ecg.record import lead_rank
from dxcore.errors import OutOfDomain
from tests.helpers import (
    TWELVE_LEADS,
    edf_bytes,
    synthetic_ecg,
    twelve_lead_ecg,
)

NOT_II = "Lead II was not in the record; lead {} was analysed instead: the model was " \
         "trained on lead MLII, so read the beat classes with care."


def leads(*names: str) -> EcgRecord:
    """A synthetic record whose leads are called ``names`` (the same signal in each)."""
    signal = synthetic_ecg()[:, :1]
    return EcgRecord(np.repeat(signal, len(names), axis=1), 360.0, list(names), "leads")


def csv_text(signals: np.ndarray, names: tuple[str, ...]) -> bytes:
    """A CSV at 360 Hz with a time column."""
    rows = ["time," + ",".join(names)]
    for i, row in enumerate(signals):
        values = [f"{v:.4f}" for v in row]
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
