"""Case labels (issue 27): one rule (dxcore.labels.case_label) for the name a clinician
matches an answer by; each modality's hook says what its files state (a DICOM's accession
number or study ID, a case table's ID column), the file name labels the rest; an ID column
is never a model input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dxcore.images.dicom_names import stated_identity
from dxcore.labels import (
    MAX_LABEL_CHARS,
    Identity,
    InputLabels,
    case_label,
    input_labels,
    input_name,
    stated_patients,
)
from dxcore.records.case_ids import id_column, table_identities
from tests.drops import HEART_CASES
from tests.helpers import dicom_file

HEART_FIELDS = ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang",
                "oldpeak", "slope", "ca", "thal"]


def dicom_header(**elements: str) -> bytes:
    """A DICOM file built in memory: its file meta, ``elements``, and a tiny image."""
    return dicom_file(np.arange(64, dtype=np.uint8).reshape(8, 8), 8, **elements)


# --- The one rule ---------------------------------------------------------------------


def test_a_stated_case_name_labels_the_case_else_the_file_name_and_its_row():
    assert case_label("chest.dcm", Identity(case="ACC-5521", patient="P-1")) == "ACC-5521"
    assert case_label("chest.jpeg") == "chest.jpeg"
    assert case_label("chest.dcm", Identity(patient="P-1")) == "chest.dcm"  # a patient's ID
    assert case_label("day.zip/cases.csv", Identity(), row=4) == "day.zip/cases.csv row 4"
    assert case_label("cases.csv", Identity(case="C-9"), row=4) == "C-9"


def test_a_label_is_one_short_line_whatever_the_file_holds():
    identity = Identity(case="  A\n12\t\x00 ", patient="   ")
    assert (identity.case, identity.patient) == ("A 12", None)
    long = Identity(case="x" * 500).case
    assert len(long) == MAX_LABEL_CHARS and long.endswith("…")
    assert Identity(case=float("nan")).case is None


def test_an_input_is_named_by_its_file_or_the_stem_its_files_share():
    assert input_name({"x.png": b""}) == "x.png"
    assert input_name({"100.hea": b"", "100.dat": b"", "100.atr": b""}) == "100"
    assert input_name({"a.hea": b"", "b.dat": b""}) == "a.hea, b.dat"


def test_input_labels_pick_a_row_and_say_the_patients_once():
    labels = InputLabels("cases.csv", (Identity("C-1", "P-1"), Identity(), Identity("C-3", "P-1")))
    assert [labels.case(row) for row in (1, 2, 3)] == ["C-1", "cases.csv row 2", "C-3"]
    assert labels.case() == "cases.csv"  # a table of several rows, as a whole
    assert labels.case(9) == "cases.csv row 9"  # a row the hook did not see: its number
    assert labels.patients() == ["P-1"]
    assert InputLabels("a.dcm", (Identity("ACC-1"),)).case() == "ACC-1"
    assert stated_patients([labels, InputLabels("b.dcm", (Identity(patient="P-2"),))]) == [
        "P-1", "P-2"]


# --- DICOM -------------------------------------------------------------------------------


def test_a_dicom_is_named_by_its_accession_number_else_its_study_id():
    both = dicom_header(AccessionNumber="ACC-5521", StudyID="S-77", PatientID="PID-1")
    assert stated_identity(both) == Identity(case="ACC-5521", patient="PID-1")
    assert stated_identity(dicom_header(StudyID="S-77")) == Identity(case="S-77")
    assert stated_identity(dicom_header(AccessionNumber="", StudyID="S-77")).case == "S-77"
    assert stated_identity(dicom_header(PatientName="Doe^Jane")) == Identity()


def test_other_files_and_damaged_headers_state_nothing():
    assert stated_identity(b"\x89PNG\r\n\x1a\n" + b"\0" * 64) == Identity()
    damaged = dicom_header(AccessionNumber="ACC-5521")[:140]  # cut inside the file meta
    assert stated_identity(damaged) == Identity()


def test_the_image_hook_labels_a_dicom_and_a_png_by_its_file_name(cxr_model):
    model = cxr_model
    dicom = {"scan.dcm": dicom_header(AccessionNumber="ACC-5521", PatientID="PID-1")}
    assert input_labels(model, "day.zip/scan.dcm", dicom).case() == "ACC-5521"
    assert input_labels(model, "day.zip/scan.dcm", dicom).patients() == ["PID-1"]
    png = {"chest.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 64}
    assert input_labels(model, "chest.png", png).case() == "chest.png"
    # Two files are no image upload: labelled by the name, not an error.
    assert input_labels(model, "x", {**png, **dicom}).case() == "x"


# --- Case tables ------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["id", "ID", "Case ID", "case_id", "accession_number",
                                    "Study-ID"])
def test_an_id_column_names_each_row(column):
    table = pd.DataFrame({"age": ["63", "41"], column: ["C-1", ""]})
    assert [identity.case for identity in table_identities(table, ["age"])] == ["C-1", None]


@pytest.mark.parametrize("column", ["patient_id", "MRN", "PatientID", "subject id"])
def test_a_patient_id_column_names_the_row_and_its_patient(column):
    table = pd.DataFrame({column: ["H-1"], "age": ["63"]})
    assert table_identities(table, ["age"]) == [Identity(case="H-1", patient="H-1")]


def test_a_case_column_names_the_case_and_a_patient_column_the_patient():
    table = pd.DataFrame({"mrn": ["H-1", "H-1"], "case_id": ["C-1", "C-2"], "age": ["1", "2"]})
    assert table_identities(table, ["age"]) == [Identity("C-1", "H-1"), Identity("C-2", "H-1")]


def test_a_column_the_model_reads_is_never_an_id_column_and_names_nothing():
    assert id_column(["id", "age"], ["id", "age"], ("id",)) is None
    table = pd.DataFrame({"age": ["63"], "name": ["Jane Doe"], "patient": ["Jane Doe"]})
    assert table_identities(table, ["age"]) == [Identity()]


def test_the_record_hook_numbers_rows_as_the_pages_do(heart_model):
    model = heart_model
    header, *rows = HEART_CASES.decode().splitlines()
    # A blank line between cases: skipped by the reader, so row 2 is still the second case.
    table = "\n".join([f"MRN,{header}", f"H-1,{rows[0]}", "", f",{rows[1]}",
                       f"H-3,{rows[2]}"]).encode()
    labels = input_labels(model, "ward.csv", {"ward.csv": table})
    assert [labels.case(row) for row in (1, 2, 3)] == ["H-1", "ward.csv row 2", "H-3"]
    assert labels.patients() == ["H-1", "H-3"]
    unreadable = input_labels(model, "ward.csv", {"ward.csv": b"\x00\x01"})
    assert unreadable.case(2) == "ward.csv row 2"


def test_an_id_column_never_reaches_the_model(heart_model):
    """The answers are the same with and without the ID column, and no note or error of the
    result repeats its values."""
    header, *rows = HEART_CASES.decode().splitlines()
    labelled = "\n".join([f"{header},case_id"] + [f"{row},CASE-{k}" for k, row in
                                                   enumerate(rows, 1)]).encode()
    bare = heart_model.predict({"cases.csv": HEART_CASES})
    with_id = heart_model.predict({"cases.csv": labelled})
    np.testing.assert_allclose(with_id.probabilities, bare.probabilities)
    said = " ".join(with_id.text() + with_id.detail.notes)
    assert "CASE-" not in said
