"""The upload widgets' file types, checked on the page: every uploader accepts any file
(``type=None``), so that a file of the wrong type gets a visible message here rather than
only the red "file type not allowed" icon on its chip, which is easy to miss."""

from __future__ import annotations

from pathlib import PurePath
from typing import Protocol, TypeVar

import streamlit as st

from dxui.common import plain


class Named(Protocol):
    name: str


File = TypeVar("File", bound=Named)  # Streamlit's UploadedFile, or anything with a name


def extension(name: str) -> str:
    """``"Scan.DCM"`` -> ``"dcm"``; ``""`` for a name without one.

    >>> extension("Scan.DCM"), extension("100"), extension("notes.txt")
    ('dcm', '', 'txt')
    """
    return PurePath(name).suffix.lower().lstrip(".")


def refusal(names: list[str], allowed: list[str], what: str) -> str:
    """The message for files this page does not read.

    >>> print(refusal(["notes.txt"], ["png", "dcm"], "a chest X-ray"))
    notes.txt cannot be read here: this page reads a chest X-ray (.png or .dcm). It was not
    analysed.
    """
    listed = " or ".join(", ".join(f".{a}" for a in allowed if a).rsplit(", ", 1))
    files = ", ".join(names)
    it = "It was" if len(names) == 1 else "They were"
    return f"{files} cannot be read here: this page reads {what} ({listed}). {it} not analysed."


def keep_allowed(files: list[File], allowed: list[str], what: str) -> list[File]:
    """The files whose extension is among ``allowed`` (``""``: no extension, as DICOM files
    often have none); one error on the page names the others."""
    refused = [f for f in files if extension(f.name) not in allowed]
    if refused:
        st.error(refusal([plain(f.name) for f in refused], allowed, what),
                 icon=":material/block:")
    return [f for f in files if f not in refused]
