"""Case labels: the name by which a clinician matches an answer to a patient, on the
worklist, the case and patient views and the PDF reports.

:func:`case_label` is the one rule. A case is labelled by what its input states about
itself when it states something, else by its file name:

- an :class:`Identity` from its modality's :meth:`~dxcore.contract.DxModel.identities`
  hook: a DICOM's AccessionNumber (else its StudyID), a case table's ID column;
- else the file name (a WFDB record's name), with ``row N`` for a row of a table, rows
  numbered as the pages and the reports number them (1 = the first case under the header).

A label is an identifier: the pages and the PDFs show it (the PDFs say that they hold
identifiers), the audit trail and the logs never do (they keep the input's SHA-256,
:func:`dxcore.audit.input_sha256`). Nothing here reads a file: the hooks do.

Example:
    >>> case_label("chest.dcm", Identity(case="ACC-5521"))
    'ACC-5521'
    >>> case_label("cases.csv", Identity(), row=4)
    'cases.csv row 4'
    >>> InputLabels("rec", (Identity(patient="P-17"),)).patients()
    ['P-17']
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

from dxcore.errors import DxError

# A cell or a header value may hold anything: a label is one line of at most this many
# characters (an accession number is 16, an MRN rarely over 20).
MAX_LABEL_CHARS = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean(value: object) -> str | None:
    """``value`` as one line of text of at most :data:`MAX_LABEL_CHARS` characters; None
    when it is missing, NaN or blank.

    >>> clean("  A 12\\n"), clean(float("nan")), clean("   "), len(clean("x" * 100))
    ('A 12', None, None, 64)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    if not text:
        return None
    return text if len(text) <= MAX_LABEL_CHARS else text[:MAX_LABEL_CHARS - 1] + "…"


@dataclass(frozen=True)
class Identity:
    """What one item of an input (an image, a record, a table's row) states about itself:
    ``case``, the name of the case (an accession number, an ID column's cell), and
    ``patient``, the patient's (a DICOM PatientID, a patient-ID column's cell); either may
    be None. Both are cleaned (:func:`clean`) however the hook built them."""

    case: str | None = None
    patient: str | None = None

    def __post_init__(self) -> None:
        # A frozen dataclass: set through object.__setattr__, once, here.
        object.__setattr__(self, "case", clean(self.case))
        object.__setattr__(self, "patient", clean(self.patient))


def case_label(name: str, identity: Identity | None = None, row: int | None = None) -> str:
    """The label of a case: the case name its input states, else ``name`` (the file or
    record name), with ``row N`` for row ``row`` of a table."""
    if identity is not None and identity.case is not None:
        return identity.case
    return name if row is None else f"{name} row {row}"


def input_name(files: dict[str, bytes]) -> str:
    """The name of an input ``{file name: bytes}``: its file's name, else the stem its
    files share (a WFDB record's ``100.hea`` and ``100.dat``: ``100``), else every name.

    >>> input_name({"a.png": b""}), input_name({"100.hea": b"", "100.dat": b""})
    ('a.png', '100')
    """
    names = sorted(files)
    stems = {PurePosixPath(name).stem for name in names}
    if len(names) == 1:
        return names[0]
    return stems.pop() if len(stems) == 1 else ", ".join(names)


@dataclass(frozen=True)
class InputLabels:
    """The labels of one input's cases: its ``name`` and what its items state
    (``identities``, one per item in order: a table's rows, else one or none)."""

    name: str
    identities: tuple[Identity, ...] = ()

    def case(self, row: int | None = None) -> str:
        """The label of row ``row`` of a table (1 = the first case), or with ``row`` None
        of the input as a whole (what its one item states, else its name)."""
        if row is not None:
            identity = self.identities[row - 1] if 0 < row <= len(self.identities) else None
        else:
            identity = self.identities[0] if len(self.identities) == 1 else None
        return case_label(self.name, identity, row)

    def patients(self) -> list[str]:
        """The patients the input's items state, each once, in order."""
        return list(dict.fromkeys(identity.patient for identity in self.identities
                                  if identity.patient is not None))


class StatesIdentities(Protocol):
    """A model as :func:`input_labels` reads it (a :class:`dxcore.contract.DxModel`, whose
    ``identities`` returns this module's :class:`Identity`: a protocol, so that this module
    does not import the contract back)."""

    def identities(self, files: dict[str, bytes]) -> list[Identity]: ...


def input_labels(model: StatesIdentities, name: str, files: dict[str, bytes]) -> InputLabels:
    """The labels of an input ``name`` that ``model`` reads; an input the hook cannot read
    is labelled by its name (its model's answer says why it could not be read)."""
    try:
        identities = tuple(model.identities(files))
    except DxError:
        identities = ()
    return InputLabels(name, identities)


def stated_patients(inputs: Sequence[InputLabels]) -> list[str]:
    """Every patient the inputs state, each once, in order: one for one patient's files,
    none when they state none, several when the files are not one patient's.

    >>> stated_patients([InputLabels("a.dcm", (Identity(patient="P-1"),)),
    ...                  InputLabels("b.png"), InputLabels("c.dcm", (Identity(patient="P-1"),))])
    ['P-1']
    """
    return list(dict.fromkeys(patient for labels in inputs for patient in labels.patients()))
