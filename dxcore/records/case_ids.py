"""The column of a case table that names its cases (or its patients), for the labels a
clinician reads (:mod:`dxcore.labels`): the worklist, the case and patient views, the PDF
reports, so that "row 4" of a report is the case its table calls ``P-0042``.

A column is an ID column when its name, compared without case, spaces, dashes,
underscores or dots, is one of :data:`CASE_ID_COLUMNS` (the case's name) or
:data:`PATIENT_ID_COLUMNS` (the patient's), and it is no field of the model: a model that
reads a column named ``id`` reads it as a finding. An ID column is never a model input
(validation ignores a column the schema does not name, :mod:`dxcore.records.validation`)
and never reaches the audit trail, which keeps the table's SHA-256 and each row's answer.

Example:
    >>> import pandas as pd
    >>> table = pd.DataFrame({"MRN": ["H-1", ""], "Case ID": ["C-7", "C-8"], "age": [63, 41]})
    >>> [(i.case, i.patient) for i in table_identities(table, ["age"])]
    [('C-7', 'H-1'), ('C-8', None)]
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from dxcore.labels import Identity

CASE_ID_COLUMNS = ("id", "caseid", "case", "caseno", "casenumber", "accession",
                   "accessionno", "accessionnumber", "studyid", "recordid", "sampleid",
                   "encounterid")
PATIENT_ID_COLUMNS = ("patientid", "pid", "mrn", "medicalrecordnumber", "hospitalnumber",
                      "subjectid")
_SEPARATORS = re.compile(r"[\s_.\-]+")


def id_column(columns: Iterable[str], fields: Iterable[str], names: tuple[str, ...]) -> str | None:
    """The first of ``columns`` whose name is one of ``names`` (compared as the module
    says) and none of the model's ``fields``; None if there is none."""
    reserved = set(fields)
    return next((column for column in columns if column not in reserved
                 and _SEPARATORS.sub("", str(column)).lower() in names), None)


def table_identities(table: pd.DataFrame, fields: Iterable[str]) -> list[Identity]:
    """One :class:`Identity` per row of ``table`` (in order): the case ID column's cell as
    the case, else the patient ID column's; the patient ID column's cell as the patient.
    Rows without an ID column, or with an empty cell, state nothing."""
    fields = list(fields)
    case_column = id_column(table.columns, fields, CASE_ID_COLUMNS)
    patient_column = id_column(table.columns, fields, PATIENT_ID_COLUMNS)
    patients = (table[patient_column].tolist() if patient_column is not None
                else [None] * len(table))
    cases = table[case_column].tolist() if case_column is not None else patients
    return [Identity(case=case, patient=patient)
            for case, patient in zip(cases, patients, strict=True)]
