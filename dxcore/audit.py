"""The audit trail: every prediction the dashboard makes, one JSON line each, hash-chained.

Each entry holds the time (UTC), the session's pseudonym (a random token per dashboard
session, never a user name), the model id, its version (the card's training date) and
weights SHA-256, the input's SHA-256 (:func:`input_sha256`) and the output in a
whitelisted form (:func:`output_of`: decisions, probabilities, prediction sets, an ECG's beat
counts; for an answer adapted to the site's prevalence, the prior it was adapted to and the
model's own probabilities, which :mod:`dxcore.site_prior` reads; never pixels, signals,
field values, file names or error messages, which may quote what was in a file). Each entry
carries ``prev``, the previous entry's ``hash``, and its own ``hash``, the SHA-256 of the
entry without it, so that :func:`verify` finds an edited, removed or reordered entry.
Removing the *last* entries leaves a valid shorter chain: note the head hash :func:`verify`
reports to detect that.

A clinician's sign-off of an answer is an entry of its own in the same chain
(:mod:`dxcore.signoff`, ``"kind": "sign-off"``): it references the answer's hash and names
the clinician who signed (for accountability), never the patient. :func:`is_answer` tells
the two kinds apart.

The log's place is ``$DX_AUDIT_LOG`` (``off`` turns it off; the test suite does so), else
``~/.local/state/dx-dashboard/audit.jsonl`` (``$XDG_STATE_HOME`` honoured).

Example:
    >>> import tempfile
    >>> log = AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl")
    >>> first = log.append_entry({"model": "m", "output": [{"prediction": "A"}]})
    >>> second = log.append_entry({"model": "m", "output": [{"prediction": "B"}]})
    >>> second["prev"] == first["hash"], verify(log.path).ok
    (True, True)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dxcore.errors import DxError
from dxcore.paths import configured, xdg_folder

if TYPE_CHECKING:
    from dxcore.cards import ModelCard
    from dxcore.contract import Result

ENV = "DX_AUDIT_LOG"
GENESIS = "0" * 64  # the ``prev`` of the first entry
# The only keys of a result's JSON lines that reach the log (see the module docstring).
OUTPUT_KEYS = ("row", "prediction", "probabilities", "prediction_set", "coverage",
               "atypicality", "code", "site_prior", "unadapted_probabilities")
ECG_SUMMARY_KEYS = ("beats", "beats_per_class", "mean_heart_rate_bpm",
                    "ectopic_burden_percent", "longest_v_run", "af_burden_percent")
CSV_COLUMNS = ("time", "session", "model", "model_version", "weights_sha256", "input_sha256",
               "output", "prev", "hash")
_lock = threading.Lock()  # one dashboard process, many session threads


def default_path() -> Path:
    return xdg_folder("STATE", ".local/state") / "audit.jsonl"


def configured_path() -> Path | None:
    """Where the log is (``$DX_AUDIT_LOG``, else :func:`default_path`); None when off."""
    return configured(ENV, default_path())


def input_sha256(files: dict[str, bytes]) -> str:
    """The SHA-256 of an input's bytes: of the file itself for one file (what
    ``sha256sum`` prints), else of the files' SHA-256 digests in name order (a WFDB
    record's .hea, .dat, .atr). File names are never hashed in: a name may identify.

    >>> input_sha256({"x.png": b"abc"}) == hashlib.sha256(b"abc").hexdigest()
    True
    """
    if len(files) == 1:
        return hashlib.sha256(next(iter(files.values()))).hexdigest()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def output_of(result: Result) -> list[dict[str, Any]]:
    """A result's output as the log keeps it: per image, record or table row, only the
    keys of :data:`OUTPUT_KEYS` (an ECG record: its summary's beat counts instead of
    its beats)."""
    kept = []
    for line in result.as_json():
        entry = {key: line[key] for key in OUTPUT_KEYS if key in line}
        if isinstance(line.get("summary"), dict):
            entry["summary"] = {key: line["summary"][key] for key in ECG_SUMMARY_KEYS
                                if key in line["summary"]}
        kept.append(entry)
    return kept


def entry_hash(entry: dict[str, Any]) -> str:
    """The SHA-256 of an entry's canonical JSON, its own ``hash`` left out."""
    body = {key: value for key, value in entry.items() if key != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _last_line(handle) -> bytes:
    """The file's last non-empty line, read backwards from its end in blocks."""
    handle.seek(0, os.SEEK_END)
    end = position = handle.tell()
    tail = b""
    while position > 0:
        position = max(0, position - 65536)
        handle.seek(position)
        tail = handle.read(end - position)
        lines = tail.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or position == 0:
            return lines[-1]
    return tail


class AuditLog:
    """The append-only log at ``path`` (created with its folder on the first entry)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @classmethod
    def configured(cls) -> AuditLog | None:
        """The log at :func:`configured_path`, or None when ``$DX_AUDIT_LOG`` is ``off``."""
        path = configured_path()
        return None if path is None else cls(path)

    def append_entry(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Append ``fields`` with the time, ``prev`` and ``hash``; the entry written."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _lock, open(self.path, "a+b") as handle:
            # The file lock keeps two processes (a dashboard and a CLI) from forking the chain.
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                last = _last_line(handle)
                prev = json.loads(last)["hash"] if last.strip() else GENESIS
                entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                         **fields, "prev": prev}
                entry["hash"] = entry_hash(entry)
                handle.seek(0, os.SEEK_END)
                handle.write(json.dumps(entry, allow_nan=False).encode() + b"\n")
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return entry

    def append(self, result: Result, card: ModelCard, files: dict[str, bytes],
               session: str) -> dict[str, Any]:
        """Log one prediction: ``result`` of the model of ``card`` on the upload
        ``files``, in the session of pseudonym ``session``."""
        return self.append_entry({
            "session": session, "model": card.id, "model_version": card["date"],
            "weights_sha256": card["weights_sha256"], "input_sha256": input_sha256(files),
            "output": output_of(result)})

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first ([] before the first); a damaged line raises DxError."""
        return read_entries(self.path)


def read_entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise DxError(f"Line {number} of the audit log {path} is not a JSON entry: the "
                          "log has been damaged or edited.") from None
        if not isinstance(entry, dict):
            raise DxError(f"Line {number} of the audit log {path} is not an entry.")
        entries.append(entry)
    return entries


@dataclass
class Verification:
    """What :func:`verify` found: the entries read, the head hash, and each problem."""

    entries: int
    head: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: str | Path) -> Verification:
    """Check the chain: each entry's hash matches its content (else it was edited) and
    its ``prev`` is the hash of the entry before it (else one was removed or moved)."""
    path = Path(path)
    if not path.exists():
        raise DxError(f"There is no audit log at {path}.")
    problems: list[str] = []
    prev = GENESIS
    lines = path.read_text().splitlines()
    count = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        count += 1
        try:
            entry = json.loads(line)
            stored, linked = entry["hash"], entry["prev"]
        except (json.JSONDecodeError, KeyError, TypeError):
            problems.append(f"line {number}: not an audit entry (damaged or edited)")
            prev = None
            continue
        if entry_hash(entry) != stored:
            problems.append(f"line {number}: its content does not match its hash (edited)")
        if prev is not None and linked != prev:
            problems.append(f"line {number}: it does not follow the entry before it (an "
                            "entry was removed, inserted or moved)")
        prev = stored
    return Verification(count, prev or "", problems)


def is_answer(entry: dict[str, Any]) -> bool:
    """Whether ``entry`` is a model's answer (not a sign-off or another kind of entry).

    >>> is_answer({"output": []}), is_answer({"kind": "sign-off", "answer": "ab"})
    (True, False)
    """
    return "kind" not in entry and isinstance(entry.get("output"), list)


def local_time_text(time: str, zone: tzinfo | None = None) -> str:
    """An entry's time (UTC, ISO 8601) in ``zone``, by default the server's local time zone
    (the browser's is not known to the server), named; text that is no time, as it is.

    >>> from datetime import timedelta, timezone
    >>> local_time_text("2026-12-01T13:03:12.123+00:00", timezone(timedelta(hours=1), "CET"))
    '2026-12-01 14:03:12 CET'
    """
    try:
        moment = datetime.fromisoformat(time)
    except (TypeError, ValueError):
        return str(time)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def output_text(entry: dict[str, Any]) -> str:
    """An entry's output in a few words: each item's prediction, or an ECG's beat counts.

    >>> output_text({"output": [{"prediction": "ckd"}, {"row": 2, "code": "invalid_input"}]})
    'ckd; row 2 not predicted (invalid_input)'
    """
    parts = []
    for item in entry.get("output") or []:
        if "summary" in item:
            counts = item["summary"].get("beats_per_class") or {}
            parts.append(", ".join(f"{name} {count}" for name, count in counts.items()))
        elif "prediction" in item:
            parts.append(str(item["prediction"]))
        else:
            parts.append(f"row {item.get('row')} not predicted ({item.get('code')})")
    return "; ".join(parts)


def export_csv(entries: list[dict[str, Any]]) -> str:
    """The entries as CSV, every field of every kind of entry whole: one row per entry, one
    column per field (answers' first, then the others as they first appear), a field that is
    not text (the output, a row number, true or false) as its JSON text."""
    import csv
    import io

    columns = list(dict.fromkeys([*CSV_COLUMNS, *(key for entry in entries for key in entry)]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow({key: value if isinstance(value, str) else json.dumps(value)
                         for key, value in entry.items()})
    return buffer.getvalue()
