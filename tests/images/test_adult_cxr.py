"""The adult chest X-ray set's split by patient into FIT and HELD-OUT parts: the patients
and file names only (no figure of any film is computed here)."""

from pathlib import Path

import numpy as np

from dxcore.images import adult_cxr


def test_patient_is_read_from_the_file_name():
    assert adult_cxr.patient_of(Path("ANON218_02.png")) == "ANON218"
    assert adult_cxr.patient_of(Path("ANON11_01.png")) == "ANON11"


def test_the_split_is_by_patient_about_half_and_fixed(dataset):
    data = dataset("ood_adult_cxr").parent
    fit, held_out = adult_cxr.adult_split(data)
    assert not set(fit.patients) & set(held_out.patients)
    assert sorted(fit.paths + held_out.paths) == sorted((data / adult_cxr.FOLDER).glob("*.png"))
    patients = len(set(fit.patients)) + len(set(held_out.patients))
    assert len(set(fit.patients)) == patients // 2
    again, _ = adult_cxr.adult_split(data)
    assert again.paths == fit.paths  # the same seed, the same patients
    other, _ = adult_cxr.adult_split(data, seed=adult_cxr.SPLIT_SEED + 1)
    assert other.paths != fit.paths
    assert np.array_equal(fit.patients, [adult_cxr.patient_of(p) for p in fit.paths])
