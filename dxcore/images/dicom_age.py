"""The patient's age as a DICOM header states it, for the population guard only.

DICOM PS3.3 C.7.2.1 (Patient Study module): Patient's Age (0010,1010) is the age at the
study, an Age String (PS3.5 6.2, VR AS: ``nnnD``, ``nnnW``, ``nnnM`` or ``nnnY``); without
it, the age follows from Patient's Birth Date (0010,0030) and the Study Date (0008,0020),
else the Acquisition Date (0008,0022), both Date strings (VR DA: ``YYYYMMDD``). A value
that is absent, malformed or impossible (a birth after the study, an age over
:data:`MAX_AGE_YEARS`) says nothing, and gives ``None``: a header is read, never trusted
to refuse on nonsense.

The age is patient data: :mod:`dxcore.images.reader` keeps it out of the image's facts
and notes, and only :mod:`dxcore.images.population` reads it.

Example:
    >>> from pydicom import Dataset
    >>> header = Dataset()
    >>> header.PatientAge = "018M"
    >>> stated_age(header)
    1.5
    >>> header = Dataset()
    >>> header.PatientBirthDate, header.StudyDate = "19790412", "20240411"
    >>> stated_age(header)
    44.0
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydicom import Dataset

MAX_AGE_YEARS = 130
# An Age String, leniently: 1-3 digits and the unit, in either case, spaces around.
_AGE_STRING = re.compile(r"^\s*(\d{1,3})\s*([DWMY])\s*$", re.IGNORECASE)
_DAYS_PER_YEAR = 365.2425
_UNIT_YEARS = {"D": 1 / _DAYS_PER_YEAR, "W": 7 / _DAYS_PER_YEAR, "M": 1 / 12, "Y": 1.0}
_STUDY_DATES = ("StudyDate", "AcquisitionDate")


def stated_age(dataset: Dataset) -> float | None:
    """The age in years at the study (fractional from days, weeks or months; completed
    years from dates), or ``None`` when the header states none that is valid."""
    try:
        age = _age_string(dataset.get("PatientAge"))
        if age is None:
            birth = _date(dataset.get("PatientBirthDate"))
            study = next((d for d in (_date(dataset.get(k)) for k in _STUDY_DATES) if d), None)
            age = completed_years(birth, study) if birth and study else None
    except Exception:  # pydicom raises many types for a damaged element, read lazily
        return None
    return age if age is not None and 0 <= age <= MAX_AGE_YEARS else None


def completed_years(birth: date, on: date) -> float | None:
    """Whole years from ``birth`` to ``on`` (the age a person states); None if negative."""
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return float(years) if years >= 0 else None


def _age_string(value: object) -> float | None:
    match = _AGE_STRING.match(str(value)) if value not in (None, "") else None
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_YEARS[match.group(2).upper()]


def _date(value: object) -> date | None:
    """A DA value (``YYYYMMDD``; the old ``YYYY.MM.DD`` too), else None."""
    digits = re.sub(r"[.\-]", "", str(value or "").strip())
    if not re.fullmatch(r"\d{8}", digits):
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:  # 20240231
        return None
