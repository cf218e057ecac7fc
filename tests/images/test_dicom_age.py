"""The patient's age a DICOM header states (dxcore.images.dicom_age), and how the reader
keeps it: apart from the facts and notes, never shown."""

from __future__ import annotations

from datetime import date

import pytest
from pydicom import Dataset

from dxcore.images import load_image
from dxcore.images.dicom_age import completed_years, stated_age
from tests.images.test_reader import dicom_bytes, encode, gradient

# pydicom warns when a test sets a malformed date or age, which is what some tests do.
pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR")


def header(**attributes: str) -> Dataset:
    dataset = Dataset()
    for keyword, value in attributes.items():
        setattr(dataset, keyword, value)
    return dataset


@pytest.mark.parametrize(("value", "years"), [
    ("045Y", 45.0), ("018M", 1.5), ("216M", 18.0), ("052W", 52 * 7 / 365.2425),
    ("010D", 10 / 365.2425), (" 45y ", 45.0), ("100Y", 100.0),
])
def test_an_age_string_is_read_in_years(value, years):
    assert stated_age(header(PatientAge=value)) == pytest.approx(years)


@pytest.mark.parametrize("value", ["", "45", "Y", "4500Y", "forty", "045X", "-45Y"])
def test_a_malformed_age_string_states_nothing(value):
    assert stated_age(header(PatientAge=value)) is None


@pytest.mark.parametrize(("attributes", "years"), [
    ({"PatientBirthDate": "19790412", "StudyDate": "20240412"}, 45.0),  # the birthday
    ({"PatientBirthDate": "19790412", "StudyDate": "20240411"}, 44.0),  # the day before
    ({"PatientBirthDate": "20210301", "AcquisitionDate": "20240101"}, 2.0),
    ({"PatientBirthDate": "1979.04.12", "StudyDate": "2024.04.12"}, 45.0),  # ACR-NEMA dates
    # The study date first, the acquisition date only without it.
    ({"PatientBirthDate": "20000101", "StudyDate": "20040101",
      "AcquisitionDate": "20300101"}, 4.0),
])
def test_the_age_follows_from_the_birth_and_study_dates(attributes, years):
    assert stated_age(header(**attributes)) == years


@pytest.mark.parametrize("attributes", [
    {"PatientBirthDate": "19790412"},  # no date of the study
    {"StudyDate": "20240412"},
    {"PatientBirthDate": "20240412", "StudyDate": "20200101"},  # born after the study
    {"PatientBirthDate": "18500101", "StudyDate": "20240101"},  # 174 years
    {"PatientBirthDate": "19790231", "StudyDate": "20240101"},  # no such day
    {"PatientBirthDate": "unknown", "StudyDate": "20240101"},
])
def test_dates_that_give_no_possible_age_state_nothing(attributes):
    assert stated_age(header(**attributes)) is None


def test_the_stated_age_comes_before_the_dates():
    assert stated_age(header(PatientAge="003Y", PatientBirthDate="19790412",
                             StudyDate="20240412")) == 3.0


def test_completed_years_count_whole_years_only():
    assert completed_years(date(2020, 2, 29), date(2021, 2, 28)) == 0.0
    assert completed_years(date(2020, 2, 29), date(2021, 3, 1)) == 1.0
    assert completed_years(date(2021, 1, 1), date(2020, 1, 1)) is None


def test_the_reader_keeps_the_age_apart_from_what_is_shown():
    image = load_image(dicom_bytes(gradient(64, 64), PatientAge="045Y"))
    assert image.stated_age_years == 45.0
    shown = " ".join([*image.facts, *image.facts.values(), *image.notes])
    assert "045Y" not in shown and "45" not in shown
    assert "stated_age" not in repr(image)


def test_other_files_state_no_age():
    assert load_image(encode(gradient(64, 64))).stated_age_years is None
    # The reader tests' DICOM helper sets a birth date without a study date: no age.
    assert load_image(dicom_bytes(gradient(64, 64))).stated_age_years is None
