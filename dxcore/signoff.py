"""A clinician's sign-off of a model's answer: an entry of the audit trail (:mod:`dxcore.audit`).

A sign-off is appended and hash-chained like every entry, with ``"kind": "sign-off"``. It
references the answer entry it signs (``answer``: that entry's ``hash``; ``row``: the row of
a case table, for an answer that holds several) and holds the ``decision`` (``"agree"`` or
``"override"``), the class overridden to (``override_class``), the ``reason``, who signed
(``signed_by``) and whether the dashboard's sign-on vouched for that name
(``authenticated``); the entry's ``time`` is when. It repeats the answer's ``model``,
``weights_sha256`` and ``input_sha256`` (hashes) so that the latest sign-off of an answer
is found without reading the answers again (:class:`SignOffIndex`). Signing again appends
another sign-off, which supersedes the earlier one; both stay in the trail.

What it must not hold: the reason is free text a clinician types, and the trail holds no
patient identifier. The form says so, and :func:`checked_reason` refuses a reason that looks
like one (a run of six or more digits, as a record number, a phone number or a date of birth
has; an e-mail address) or is longer than :data:`MAX_REASON` characters. The signer's name
is the clinician's, kept for accountability.

Example:
    >>> import tempfile
    >>> log = AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl")
    >>> answer = Answer.of(log.append_entry({
    ...     "model": "m", "weights_sha256": "w", "input_sha256": "i",
    ...     "output": [{"prediction": "A", "probabilities": {"A": 0.8, "B": 0.2}}]}))
    >>> entry = sign_off(log, answer, OVERRIDE, Signer("Dr Ward", False),
    ...                  override_class="B", reason="consolidation on the film",
    ...                  class_names=["A", "B"])
    >>> SignOffIndex(log.path).refresh().latest(answer.key()).status_text()
    'overridden to B'
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from dxcore.audit import AuditLog, configured_path, is_answer, local_time_text, read_entries
from dxcore.errors import DxError

KIND = "sign-off"
AGREE, OVERRIDE = "agree", "override"
DECISIONS = (AGREE, OVERRIDE)
MAX_REASON = 500
MAX_NAME = 120
MIN_PREFIX = 8  # the fewest hex digits of a hash that name an entry
# What a reason must not hold: six or more digits in a run (single spaces, dots, slashes or
# dashes between them: "12.03.1950", "943 476 5919"), or an e-mail address.
IDENTIFIER_PATTERNS = (re.compile(r"\d(?:[ ./-]?\d){5,}"),
                       re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+"))
REASON_RULE = ("Do not name the patient or write an identifier (a name, a date of birth, a "
               "record or phone number): the reason is kept in the audit trail.")

# (model, weights SHA-256, input SHA-256, row): one model version's answer on one input.
AnswerKey = tuple[str, str, str, int | None]


@dataclass(frozen=True)
class Signer:
    """Who signs off: a name and whether the dashboard's sign-on vouched for it."""

    name: str
    authenticated: bool

    @property
    def described(self) -> str:
        """``"Dr Ward (unauthenticated)"``, or the name and ``"(signed in)"``."""
        return f"{self.name} ({'signed in' if self.authenticated else 'unauthenticated'})"


def signer_of(user: Any, typed_name: str | None) -> Signer | None:
    """Who signs: the signed-in user when the dashboard runs behind sign-on (``user`` is
    ``st.user``, or any mapping: its ``is_logged_in`` true and a ``name``, ``email``,
    ``preferred_username`` or ``sub`` claim), else ``typed_name`` (entered on the page),
    recorded as unauthenticated; None when there is neither.

    >>> signer_of({"is_logged_in": True, "email": "a@b.org"}, "typed")
    Signer(name='a@b.org', authenticated=True)
    >>> signer_of({"email": "test@example.com"}, " Dr Ward "), signer_of({}, "")
    (Signer(name='Dr Ward', authenticated=False), None)
    """
    if user.get("is_logged_in") is True:
        for claim in ("name", "email", "preferred_username", "sub"):
            value = user.get(claim)
            if isinstance(value, str) and value.strip():
                return Signer(value.strip(), True)
    name = (typed_name or "").strip()
    return Signer(name, False) if name else None


@dataclass(frozen=True)
class Answer:
    """An answer entry of the trail as a sign-off needs it: its hash, model version and
    input, and per row (None: the input's one answer) its prediction (None: an answer
    without one class, as an ECG record's beat counts) or, for a row the model declined,
    its error code."""

    hash: str
    model: str
    weights_sha256: str
    input_sha256: str
    predictions: dict[int | None, str | None]
    declined: dict[int | None, str]
    classes: tuple[str, ...]  # the classes its probabilities name

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Answer:
        """The answer ``entry`` holds; a sign-off or any other entry raises DxError."""
        name = f"Entry {str(entry.get('hash', ''))[:16]}"
        if entry.get("kind") == KIND:
            raise DxError(f"{name} is a sign-off, not a model's answer: sign off the answer "
                          "entry it refers to.")
        if not is_answer(entry):
            raise DxError(f"{name} holds no model's answer: there is nothing to sign off.")
        predictions: dict[int | None, str | None] = {}
        declined: dict[int | None, str] = {}
        classes: dict[str, None] = {}
        for item in entry["output"]:
            row = item.get("row")
            if "prediction" in item:
                predictions[row] = str(item["prediction"])
                classes.update(dict.fromkeys(item.get("probabilities") or {}))
            elif "summary" in item:
                predictions[row] = None
                classes.update(dict.fromkeys(item["summary"].get("beats_per_class") or {}))
            else:
                declined[row] = str(item.get("code") or "not predicted")
        return cls(entry["hash"], str(entry.get("model")), str(entry.get("weights_sha256")),
                   str(entry.get("input_sha256")), predictions, declined, tuple(classes))

    def key(self, row: int | None = None) -> AnswerKey:
        return (self.model, self.weights_sha256, self.input_sha256, row)

    def row_signed(self, row: int | None) -> int | None:
        """``row`` checked against the answer's rows (None names the answer's only one);
        a row it does not have, or one the model declined, raises DxError."""
        rows = [*self.predictions, *self.declined]
        name = f"Entry {self.hash[:16]}"
        if row is None:
            if len(rows) == 1:
                return rows[0]
            raise DxError(f"{name} holds the answers for {len(rows)} rows of a case table: "
                          "say which row is signed off.")
        if row not in rows:
            listed = ", ".join(str(r) for r in rows[:10]) + (", …" if len(rows) > 10 else "")
            raise DxError(f"{name} has no row {row} (its rows: {listed}).")
        if row in self.declined:
            raise DxError(f"Row {row} of {name[0].lower()}{name[1:]} got no answer (the model "
                          f"declined it: {self.declined[row]}): there is nothing to sign off.")
        return row


@dataclass(frozen=True)
class SignOff:
    """A sign-off entry as it is shown."""

    hash: str
    time: str
    answer: str
    row: int | None
    decision: str
    override_class: str | None
    reason: str
    signer: Signer

    @classmethod
    def of(cls, entry: dict[str, Any]) -> SignOff:
        return cls(str(entry.get("hash")), str(entry.get("time")), str(entry.get("answer")),
                   entry.get("row"), str(entry.get("decision")), entry.get("override_class"),
                   str(entry.get("reason") or ""),
                   Signer(str(entry.get("signed_by")), entry.get("authenticated") is True))

    @property
    def overridden(self) -> bool:
        return self.decision == OVERRIDE

    def status_text(self, label: Callable[[str], str] = str) -> str:
        """``"agreed"`` or ``"overridden to <class>"`` (``label`` names the class)."""
        return f"overridden to {label(str(self.override_class))}" if self.overridden \
            else "agreed"

    def text(self, label: Callable[[str], str] = str) -> str:
        """``"Signed off by Dr Ward (unauthenticated) at 2026-12-01 14:03:12 CET: agreed"``,
        with the reason after an override (or a reason given with an agreement)."""
        reason = f" (reason: {self.reason})" if self.reason else ""
        return (f"Signed off by {self.signer.described} at {local_time_text(self.time)}: "
                f"{self.status_text(label)}{reason}")


def checked_reason(text: str | None, required: bool) -> str:
    """The reason with its whitespace made single spaces; an empty one where ``required``,
    one over :data:`MAX_REASON` characters or one that looks like an identifier
    (:data:`IDENTIFIER_PATTERNS`) raises DxError.

    >>> checked_reason("  air  bronchograms\\n on the left ", required=True)
    'air bronchograms on the left'
    """
    reason = " ".join((text or "").split())
    if required and not reason:
        raise DxError("An override needs a reason: say in a few words why the model's answer "
                      "is overridden.")
    if len(reason) > MAX_REASON:
        raise DxError(f"The reason is {len(reason)} characters long; keep it to "
                      f"{MAX_REASON}.")
    if any(pattern.search(reason) for pattern in IDENTIFIER_PATTERNS):
        raise DxError("The reason seems to hold an identifier (a long number, a date or an "
                      "e-mail address), and the audit trail must not name the patient. Say "
                      "why without it.")
    return reason


def resolved_class(text: str, class_names: Sequence[str]) -> str:
    """The model's class ``text`` names (its code, in any case); any other raises DxError.

    >>> resolved_class("pneumonia", ["NORMAL", "PNEUMONIA"])
    'PNEUMONIA'
    """
    matches = [name for name in class_names if name == text] or \
        [name for name in class_names if name.lower() == text.strip().lower()]
    if len(matches) != 1:
        raise DxError(f"The model has no class '{text}'; its classes are "
                      f"{', '.join(class_names)}.")
    return matches[0]


def class_names_of(answer: Answer) -> list[str]:
    """The classes of the answer's model: its card's, where the registry has it, else the
    ones its answer names."""
    from dxcore.registry import get_card

    try:
        return get_card(answer.model).class_names
    except DxError:  # a model not installed here (a log copied from another machine)
        if not answer.classes:
            raise DxError(f"The model '{answer.model}' is not installed here, and its answer "
                          "does not name its classes: an override cannot be checked.") \
                from None
        return list(answer.classes)


def sign_off(log: AuditLog, answer: Answer, decision: str, signer: Signer, *,
             override_class: str | None = None, reason: str | None = None,
             row: int | None = None, class_names: Sequence[str] | None = None,
             session: str | None = None) -> dict[str, Any]:
    """Append the sign-off of ``answer`` (its row ``row`` for a case table) by ``signer``:
    ``decision`` :data:`AGREE`, or :data:`OVERRIDE` to ``override_class`` (one of the
    model's ``class_names``, by default its card's) with a ``reason``; the entry written.
    Anything wrong raises one DxError and writes nothing."""
    if decision not in DECISIONS:
        raise DxError(f"A sign-off agrees or overrides, not '{decision}'.")
    name = " ".join(signer.name.split())
    if not name:
        raise DxError("Say who signs off: a sign-off without a name cannot be recorded.")
    if len(name) > MAX_NAME:
        raise DxError(f"The signer's name is {len(name)} characters long; keep it to "
                      f"{MAX_NAME}.")
    row = answer.row_signed(row)
    fields: dict[str, Any] = {"kind": KIND, "answer": answer.hash, "model": answer.model,
                              "weights_sha256": answer.weights_sha256,
                              "input_sha256": answer.input_sha256}
    if row is not None:
        fields["row"] = row
    fields["decision"] = decision
    if decision == OVERRIDE:
        if not override_class:
            raise DxError("Say which class the answer is overridden to.")
        chosen = resolved_class(override_class, class_names or class_names_of(answer))
        if chosen == answer.predictions[row]:
            raise DxError(f"{chosen} is the model's own answer: sign off with 'agree' "
                          "instead of an override.")
        fields["override_class"] = chosen
    elif override_class:
        raise DxError("An agreement overrides no class: agree, or override to a class.")
    text = checked_reason(reason, required=decision == OVERRIDE)
    if text:
        fields["reason"] = text
    fields.update({"signed_by": name, "authenticated": signer.authenticated})
    if session:
        fields["session"] = session
    return log.append_entry(fields)


def find_entry(path: Path, reference: str) -> dict[str, Any]:
    """The entry of the log at ``path`` whose hash is ``reference`` or starts with it (at
    least :data:`MIN_PREFIX` hex digits); none, or several, raises DxError."""
    wanted = reference.strip().lower()
    if len(wanted) < MIN_PREFIX or not re.fullmatch(r"[0-9a-f]+", wanted):
        raise DxError(f"'{reference}' does not name an entry: give its hash, or at least "
                      f"its first {MIN_PREFIX} hex digits (the Audit trail page and `audit "
                      "export` show them).")
    found = [entry for entry in read_entries(path)
             if str(entry.get("hash", "")).startswith(wanted)]
    if not found:
        raise DxError(f"No entry of the audit log {path} has a hash starting with {wanted}.")
    if len(found) > 1:
        raise DxError(f"{len(found)} entries of the audit log have a hash starting with "
                      f"{wanted}: give more of it.")
    return found[0]


def key_of(entry: dict[str, Any], row: int | None = None) -> AnswerKey:
    """The :data:`AnswerKey` of an answer entry's row, or of the answer a sign-off signs."""
    return (str(entry.get("model")), str(entry.get("weights_sha256")),
            str(entry.get("input_sha256")), entry.get("row") if row is None else row)


def latest_sign_offs(entries: Iterable[dict[str, Any]]) -> dict[AnswerKey, SignOff]:
    """The latest sign-off of each answer (model version, input and row) among ``entries``,
    oldest first: a later sign-off supersedes an earlier one."""
    return {key_of(entry): SignOff.of(entry) for entry in entries if entry.get("kind") == KIND}


class SignOffIndex:
    """The latest sign-off of each answer in the log at ``path``, read as it grows: each
    :meth:`refresh` reads only what was appended since the last (the whole log again only
    when it was replaced or cut), and parses only sign-off lines, so that a worklist or a
    report asks it for every row without reading the log each time. Holds sign-offs only."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._file: tuple[int, int] | None = None  # (device, inode) read so far
        self._offset = 0
        self._latest: dict[AnswerKey, SignOff] = {}
        self._latest_of_input: dict[tuple[str, str, str], str] = {}

    def refresh(self) -> SignOffIndex:
        with self._lock:
            try:
                with open(self.path, "rb") as handle:
                    appended = self._appended(handle)
            except FileNotFoundError:
                self._reset(None)
                return self
            complete = appended[:appended.rfind(b"\n") + 1]  # a line being written waits
            self._offset += len(complete)
            for line in complete.splitlines():
                if KIND.encode() not in line:  # answers: not parsed
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a damaged line: `audit verify` reports it
                if isinstance(entry, dict) and entry.get("kind") == KIND:
                    key = key_of(entry)
                    self._latest[key] = SignOff.of(entry)
                    self._latest_of_input[key[:3]] = str(entry.get("hash"))
        return self

    def _appended(self, handle: BinaryIO) -> bytes:
        """What was appended since the last read (everything, after a reset)."""
        status = os.fstat(handle.fileno())
        identity = (status.st_dev, status.st_ino)
        if identity != self._file or status.st_size < self._offset:
            self._reset(identity)
        handle.seek(self._offset)
        return handle.read(status.st_size - self._offset)

    def _reset(self, identity: tuple[int, int] | None) -> None:
        self._file, self._offset = identity, 0
        self._latest, self._latest_of_input = {}, {}

    def latest(self, key: AnswerKey) -> SignOff | None:
        """The latest sign-off of the answer ``key`` as of the last :meth:`refresh`."""
        return self._latest.get(key)

    def version(self, model: str, weights_sha256: str, input_sha256: str) -> str | None:
        """The hash of the latest sign-off of any row of one model version's answer on one
        input: what changes when the input's report must be written again."""
        return self._latest_of_input.get((model, weights_sha256, input_sha256))


_indexes: dict[Path, SignOffIndex] = {}
_indexes_lock = threading.Lock()


def sign_offs(path: Path | None = None) -> SignOffIndex | None:
    """The refreshed :class:`SignOffIndex` of the log at ``path`` (by default the configured
    one, :func:`dxcore.audit.configured_path`), one per log per process; None when the
    trail is off."""
    path = configured_path() if path is None else path
    if path is None:
        return None
    with _indexes_lock:
        index = _indexes.setdefault(path, SignOffIndex(path))
    return index.refresh()
