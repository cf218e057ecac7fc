"""The chest X-ray dataset reader: patients from file names, and a split by patient."""

from pathlib import Path

import numpy as np

from dxcore.images import chest_xray


def test_patient_is_read_from_each_naming_scheme():
    assert chest_xray.patient_of(Path("person1000_bacteria_2931.jpeg")) == "person1000"
    assert chest_xray.patient_of(Path("person1000_virus_1681.jpeg")) == "person1000"
    assert chest_xray.patient_of(Path("IM-0115-0001.jpeg")) == "IM-0115"
    assert chest_xray.patient_of(Path("NORMAL2-IM-0383-0001.jpeg")) == "NORMAL2-IM-0383"


def test_official_split_counts(data_dir):
    train = chest_xray.official_split("train", data_dir)
    test = chest_xray.official_split("test", data_dir)
    assert np.bincount(train.labels).tolist() == [1341, 3875]
    assert np.bincount(test.labels).tolist() == [234, 390]


def test_validation_shares_no_patient_with_training(data_dir):
    fit, validation = chest_xray.train_validation_split(
        chest_xray.official_split("train", data_dir))
    assert not set(fit.patients) & set(validation.patients)
    assert len(fit.paths) + len(validation.paths) == 5216
    assert 0.10 < len(validation.paths) / 5216 < 0.16
    # Both classes are represented in roughly the training proportion.
    assert abs(validation.labels.mean() - fit.labels.mean()) < 0.05
