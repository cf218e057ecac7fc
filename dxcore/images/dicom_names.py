"""The case and the patient a DICOM header names, for the labels a clinician reads
(:mod:`dxcore.labels`): the worklist, the case and patient views, the PDF reports.

DICOM PS3.3 C.7.2.1 (General Study module): Accession Number (0008,0050), the department's
number for the order, is what a ward finds a study by; without it, Study ID (0020,0010).
C.7.1.1 (Patient module): Patient ID (0010,0020), the hospital's number for the patient,
which the patient view shows when its files agree on it. Only these three elements are
read, and the pixels are not.

These are identifiers: they are shown to the clinician and never logged nor audited (the
audit trail keeps the input's SHA-256). The image itself is read by
:mod:`dxcore.images.reader`, whose facts and notes hold none of them.

Example:
    >>> stated_identity(b"\\x89PNG\\r\\n\\x1a\\n")
    Identity(case=None, patient=None)
"""

from __future__ import annotations

import io

from dxcore.images.formats import has_preamble
from dxcore.labels import Identity

# The case's name, most specific first; then the patient's.
CASE_ELEMENTS = ("AccessionNumber", "StudyID")
PATIENT_ELEMENT = "PatientID"


def stated_identity(data: bytes) -> Identity:
    """The accession number (else the study ID) and the patient ID a DICOM file's header
    states; an empty :class:`Identity` for another file, a header without them or one that
    cannot be read (a DICOM without its preamble is named by its file name)."""
    if not has_preamble(data):
        return Identity()
    import pydicom

    try:
        header = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True,
                                 specific_tags=[*CASE_ELEMENTS, PATIENT_ELEMENT])
        case = next((value for value in (header.get(keyword) for keyword in CASE_ELEMENTS)
                     if value not in (None, "")), None)
        return Identity(case=case, patient=header.get(PATIENT_ELEMENT))
    except Exception:  # pydicom raises many types for a damaged header, read lazily
        return Identity()
