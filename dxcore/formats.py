"""File formats: how a modality's files are recognised and grouped, in one place per format.

A modality lists its formats when it registers (``formats`` of
:class:`dxcore.registry.Modality`); each :class:`FileFormat` has the one sniffer that says
whether a file is of that format, from its first bytes and its name, and that every path
asks: the drop zone (:mod:`dxcore.intake`), the modality's own reader (a page's upload)
and the command line. A format whose files come in groups (a WFDB header with the signal
files and annotations it names) names a file's companions; a format read by several
models of its modality may choose among them by content (:attr:`FileFormat.route`: a case
table by its columns), else every model of the modality is a candidate and their domain
guards choose when the file is predicted (:func:`dxcore.intake.predict_cases`).

Sniffers are asked in :attr:`FileFormat.order`: binary signatures first, then text with a
structure of its own, then any table, then the readings of a table that no model of the
earlier ones takes (a long CSV of numbers, an ECG recording). A file is its first format
whose models read it; a format that recognises a file but whose models do not read it
*declines* (:class:`Declined`), and the next one is asked.

This module knows no modality: only what text formats share (:func:`text_head`,
:func:`looks_like_table`, :func:`table_shape`).

Example:
    >>> text_head(b"age,sex\\n63,1\\n") is not None, text_head(b"\\x00\\x01binary")
    (True, None)
    >>> looks_like_table("age,sex\\n63,1\\n"), looks_like_table("just words")
    (True, False)
    >>> table_shape(b"age;sex\\n63;1\\n41;0\\n")
    (['age', 'sex'], 2)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dxcore.errors import DxError

if TYPE_CHECKING:
    from dxcore.cards import ModelCard

# When a format's sniffer is asked, lowest first.
SIGNATURE = 0  # a binary signature (magic number): unambiguous
TEXT = 1       # text of a structure of its own (a WFDB header, a file of beats)
TABLE = 2      # any delimited or JSON table (a table of cases)
FALLBACK = 3   # a table read as something else when no TABLE format's model takes it
# How much of a file a sniffer of text reads.
HEAD_BYTES = 1 << 16


@dataclass(frozen=True)
class Routed:
    """The models of a modality that read a file, in order of preference (several: each
    one's domain guard is tried when the file is predicted, and the best-fitting one
    answers), and how many rows the worklist gives it (a table's cases; one otherwise)."""

    model_ids: tuple[str, ...]
    rows: int = 1


class Declined(DxError):
    """A format recognised a file that none of its models reads. ``clause`` says why (in a
    form that joins others': "The columns of x.csv match no case-record model on this
    dashboard (...)", "it is too short to be an ECG recording"); ``advice``, what to do;
    ``mappable``: the file is a table whose columns a mapping could route."""

    def __init__(self, clause: str, advice: str = "", mappable: bool = False, **facts: Any):
        super().__init__(joined([clause], advice), **facts)
        self.clause, self.advice, self.mappable = clause, advice, mappable


def joined(clauses: list[str], advice: str = "") -> str:
    """One message of several clauses and an advice.

    >>> joined(["The columns match no model", "it is too short to be a recording"],
    ...        "Map its columns.")
    'The columns match no model, and it is too short to be a recording. Map its columns.'
    """
    text = ", and ".join(clauses)
    return f"{text[:1].upper()}{text[1:]}." + (f" {advice}" if advice else "")


@dataclass(frozen=True)
class FileFormat:
    """A format a modality reads.

    - ``name``: as a person names it ("PNG", "WFDB header"), in messages and cards;
    - ``sniff(name, data)``: whether the file ``name`` with the bytes ``data`` is of this
      format (the start of the file suffices: :data:`HEAD_BYTES`);
    - ``extensions``: the file extensions a page's uploader accepts for it (``""``: a file
      without one);
    - ``order``: when its sniffer is asked (:data:`SIGNATURE` ... :data:`FALLBACK`);
    - ``companions(name, data)``: the names of the files read with this one, in its folder
      (a WFDB header's signal files and annotations); None for a format of single files;
    - ``route(name, data, cards)``: which of ``cards`` (the modality's models in use) read
      the file, or :class:`Declined`; None: all of them, routed by their domain guards.
    """

    name: str
    sniff: Callable[[str, bytes], bool]
    extensions: tuple[str, ...] = ()
    order: int = SIGNATURE
    companions: Callable[[str, bytes], set[str]] | None = None
    route: Callable[[str, bytes, list[ModelCard]], Routed] | None = None

    def routed(self, name: str, data: bytes, cards: list[ModelCard]) -> Routed:
        """The models of ``cards`` that read the file (:attr:`route`, else all)."""
        if self.route is not None:
            return self.route(name, data, cards)
        return Routed(tuple(card.id for card in cards))


def signature(*signatures: bytes, offset: int = 0) -> Callable[[str, bytes], bool]:
    """A sniffer of binary formats: the file begins with one of ``signatures`` at byte
    ``offset``.

    >>> signature(b"\\x89PNG")("x", b"\\x89PNG\\r\\n"), signature(b"DICM", offset=2)("x", b"..DICM")
    (True, True)
    """
    def sniff(name: str, data: bytes) -> bool:
        return any(data[offset:offset + len(known)] == known for known in signatures)
    return sniff


def text_head(data: bytes, limit: int = HEAD_BYTES) -> str | None:
    """The start of ``data`` as text, or None when it holds binary (a NUL, or not UTF-8 or
    Latin-1 printable)."""
    head = data[:limit]
    if not head or b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    # Printable ASCII and letters (accented ones of a Latin-1 file): random bytes decoded
    # as Latin-1 are mostly neither. The ASCII ones are dropped in C (a whole-file read of
    # a long CSV is megabytes); only what remains is looked at one by one.
    others = text.translate(_ASCII_READABLE)
    readable = len(text) - len(others) + sum(ch.isalpha() for ch in others)
    return text if readable >= 0.95 * len(text) else None


_ASCII_READABLE = dict.fromkeys([*range(ord(" "), ord("~") + 1), *map(ord, "\r\n\t")])


def is_json_text(text: str) -> bool:
    """Whether text starts as a JSON object or array."""
    return text.lstrip()[:1] in ("{", "[")


def looks_like_table(text: str) -> bool:
    """Whether text reads as a table: JSON, or values separated by commas, semicolons or
    tabs."""
    return is_json_text(text) or "," in text or ";" in text or "\t" in text


def table_shape(data: bytes) -> tuple[list[str], int]:
    """A text table's column names and (roughly) its number of rows, from its text: what
    routes it before any model reads it."""
    from dxcore.tables import sniff_dialect

    text = text_head(data, limit=len(data)) or ""
    if is_json_text(text):
        try:
            parsed = json.loads(text)
        except ValueError:
            return [], 0
        rows = parsed if isinstance(parsed, list) else [parsed]
        objects = [row for row in rows if isinstance(row, dict)]
        return (list(dict.fromkeys(k for row in objects for k in row)), len(objects))
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return [], 0
    separator, _ = sniff_dialect(text)
    return [c.strip().strip('"') for c in lines[0].split(separator)], len(lines) - 1
