"""Uploaded text tables, whatever wrote them: their encoding and their CSV dialect (a
European spreadsheet separates with semicolons and writes decimal commas). Shared by the
case-record reader and the ECG CSV reader, so that both read a file alike.
"""

from __future__ import annotations

import codecs
import re

from dxcore.errors import DxError

# A value with a decimal comma between separators ("2,3"), as a European spreadsheet
# writes it.
_DECIMAL_COMMA = re.compile(r"(?:^|[;\t])\s*-?\d+,\d+\s*(?=[;\t]|$)", re.MULTILINE)


def text_encoding(data: bytes, what: str) -> str:
    """The encoding of an uploaded table: UTF-16 and UTF-8 as their byte-order mark says,
    else UTF-8, else Latin-1 (older spreadsheet exports). Refuses binary files (a NUL
    byte is in no text of this kind)."""
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
                          (codecs.BOM_UTF8, "utf-8-sig")):
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                break
            if "\x00" not in text:
                return encoding
            break
    else:
        if b"\x00" not in data:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                return "latin-1"  # decodes any byte: what is left is text
            return "utf-8"
    raise DxError(f"{what} is not a text file (CSV or JSON).")


def decode_text(data: bytes, what: str) -> str:
    """The text of an uploaded table, decoded as :func:`text_encoding` says."""
    return data.decode(text_encoding(data, what))


def sniff_dialect(text: str) -> tuple[str, str]:
    """The separator and decimal mark of a CSV text, from its first lines: the one of
    comma, semicolon and tab in the header row (comma when none or several), and a
    decimal comma when the separator is not a comma and the values hold "1,5".

    >>> sniff_dialect("age;chol\\n63;2,3\\n"), sniff_dialect("age,chol\\n63,2.3\\n")
    ((';', ','), (',', '.'))
    """
    head = text[:65536]
    header = head.split("\n", 1)[0]
    found = [sep for sep in (",", ";", "\t") if sep in header]
    separator = found[0] if len(found) == 1 else ","
    decimal = "," if separator != "," and _DECIMAL_COMMA.search(head) else "."
    return separator, decimal
