"""One drop for every model: recognise each file by its content, group the files that belong
together, and route each group (a *case*) to the model that reads it.

A drop is ``{file name: bytes}``, as the dashboard's drop zone receives it; nothing is
written to disk. What each file is comes from its bytes, the name serving only to pair files:

- an image of :data:`IMAGE_FORMATS` (PNG, JPEG, TIFF by their magic numbers, DICOM by
  "DICM" at byte 128);
- a WFDB header (text whose first record line is "name signals [rate [samples]]") and the
  signal files its lines name, with the record's ``.atr`` annotations: one ECG record;
- an EDF or EDF+ file (its header starts with the version "0" and seven spaces): an ECG record;
- a CSV, JSON or Excel (.xlsx) table whose columns cover a case-record model's fields: that
  model's cases; a CSV of numbers that matches none, long enough to be a signal: an ECG
  record. A workbook is a ZIP too, recognised as a workbook (:mod:`dxcore.workbook`) before
  any ZIP is expanded, and read as the table of its sheet; an old .xls or an encrypted
  workbook gets a problem saying what to do;
- a ZIP of any of these, expanded in memory within :data:`MAX_ZIP_ENTRIES` files and
  :data:`MAX_ZIP_BYTES` uncompressed (a "zip bomb" is refused before it is expanded).

A file that is none of these gets one :class:`~dxcore.errors.DxError` in
:attr:`Intake.problems` and the others go on; a table whose columns match no model is also
kept in :attr:`Intake.mappable`, for a page that offers to map its columns. A case may need
an option only the user can give (an ECG CSV's sampling rate,
:meth:`~dxcore.contract.DxModel.options_needed`): :attr:`Case.options` holds the answers,
and :func:`predict_cases` reads each case with its own. :func:`predict_cases` then runs every case
through its model's contract, one batched :meth:`~dxcore.contract.DxModel.predict_many`
per model; the result is a list of :class:`Outcome` (case, model id, Result or DxError),
which is what a report or an audit log reads.

Importing this module imports neither TensorFlow nor a model: the home page offers the drop
zone before any model is loaded.

Example:
    >>> kind_of("x.png", b"\\x89PNG\\r\\n\\x1a\\n" + b"\\0" * 8)
    'image'
    >>> kind_of("100.hea", b"100 1 360 650000\\n100.dat 212 200 11 1024 995 -22131 0 MLII\\n")
    'wfdb-header'
    >>> kind_of("notes.txt", b"\\x00\\x01binary")
    >>> kind_of("old.xls", b"\\xd0\\xcf\\x11\\xe0\\xa1\\xb1\\x1a\\xe1" + b"\\0" * 504)
    'workbook'
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from dxcore.errors import DxError
from dxcore.workbook import workbook_format

if TYPE_CHECKING:
    from dxcore.cards import ModelCard
    from dxcore.contract import DxModel, Result

# A ZIP is opened in memory only within these bounds, checked on its directory before any
# entry is decompressed (and each entry is decompressed no further than its declared size,
# which zipfile enforces with the entry's CRC): 5,000 files holds a clinic's day of images.
MAX_ZIP_ENTRIES = 5_000
MAX_ZIP_BYTES = 1 << 30  # 1 GiB uncompressed in all
# An ECG CSV has a row per sample: a table of fewer rows that matches no case-record model
# is no recording (at 360 Hz, 100 rows are under a third of a second).
MIN_SIGNAL_ROWS = 100
# How many inputs go through one predict_many call: bounds the memory of a large worklist
# (a batch of 256 chest X-rays is 16 MB at the network's input size) and lets a page show
# its progress between calls.
CHUNK = 256

# The most inputs a drop offered as one patient holds (Intake.one_patient).
PATIENT_INPUTS = 4
# The fewest answers of one model a drop or a folder needs to estimate its own class prior
# (dxcore.site_prior); here, with no numpy behind it, so that the command line's help can
# name it without loading the adaptation.
MIN_BATCH = 20
KINDS = {"image": "Image", "ecg": "ECG record", "record": "Case records"}


@dataclass(frozen=True)
class ImageFormat:
    """An image file format the dashboard reads: its name (as Pillow names it, for the
    formats Pillow decodes), the file extensions the Chest X-ray page accepts for it (``""``:
    none), and how its files begin (``signatures``, at byte ``offset``)."""

    name: str
    extensions: tuple[str, ...]
    signatures: tuple[bytes, ...]
    offset: int = 0
    decoder: Literal["Pillow", "pydicom"] = "Pillow"

    def matches(self, data: bytes) -> bool:
        """Whether ``data`` begins as a file of this format does."""
        return any(data[self.offset:self.offset + len(signature)] == signature
                   for signature in self.signatures)


# The image formats read everywhere, from this one list: the drop zone recognises a file by
# its signature, the Chest X-ray page accepts a file by its extension, and the image reader
# (which the pages and ``python -m dxcore predict`` share) lets Pillow decode these formats
# and no other. A format added here is read by all three.
IMAGE_FORMATS = (
    ImageFormat("PNG", ("png",), (b"\x89PNG\r\n\x1a\n",)),
    ImageFormat("JPEG", ("jpg", "jpeg"), (b"\xff\xd8\xff",)),
    ImageFormat("TIFF", ("tif", "tiff"), (b"II*\x00", b"MM\x00*")),  # little-, big-endian
    # "DICM" after the 128-byte preamble; DICOM files often have no extension.
    ImageFormat("DICOM", ("dcm", ""), (b"DICM",), offset=128, decoder="pydicom"),
)
_MAGIC = (
    (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"),  # a ZIP, or an empty one
)
# The record line of a WFDB header: record name (with an optional "/segments"), the number
# of signals, then optionally the sampling rate and sample count.
_WFDB_RECORD_LINE = re.compile(r"^[\w.-]+(/\d+)?\s+\d+(\s|$)")


@dataclass(frozen=True)
class Case:
    """Files one model reads together: an image, the files of one ECG record, or a table
    of cases. ``files`` is ``{file name: bytes}``, as every model's ``read`` takes it;
    ``rows`` is how many rows the worklist gives it: a table's rows (counted from its text,
    before any model reads it), one for anything else; ``options`` are its reader's options
    that the user gave (an ECG CSV's sampling rate ``fs``)."""

    name: str
    kind: str  # a key of KINDS
    model_id: str
    files: dict[str, bytes]
    rows: int = 1
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Intake:
    """A drop sorted out: the cases in the order dropped, each file that could not be
    read with the one reason why, and the tables among those whose columns match no model
    (``{name in the drop: bytes}``), which a mapping of their columns could route."""

    cases: list[Case]
    problems: list[tuple[str, DxError]]
    mappable: dict[str, bytes] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.cases or self.problems)

    @property
    def rows(self) -> int:
        """The rows the worklist shows for this drop (a table of 3 cases is 3 rows)."""
        return sum(case.rows for case in self.cases)

    def with_options(self, options: dict[str, dict[str, Any]]) -> Intake:
        """The drop with each case's reader options from ``{case name: options}`` (the
        user's answers, :meth:`~dxcore.contract.DxModel.options_needed`)."""
        return Intake([replace(case, options={**case.options, **options[case.name]})
                       if case.name in options else case for case in self.cases],
                      self.problems, self.mappable)

    def one_patient(self) -> bool:
        """Whether the drop looks like one patient's files, for the patient view: at most
        :data:`PATIENT_INPUTS` inputs, no more than one ECG record or case record, and no
        table of several rows (several rows are several patients). A few images are
        allowed, as a frontal and a lateral view. Anything larger is a batch: a worklist."""
        kinds = Counter(case.kind for case in self.cases)
        return (0 < len(self.cases) <= PATIENT_INPUTS and kinds["ecg"] <= 1
                and kinds["record"] <= 1 and self.rows == len(self.cases))


@dataclass
class Outcome:
    """A case and what its model made of it: a Result or the DxError that says why not."""

    case: Case
    result: Result | DxError

    @property
    def model_id(self) -> str:
        return self.case.model_id


# --- Recognising files ----------------------------------------------------------------


def image_formats_text() -> str:
    """The names of :data:`IMAGE_FORMATS` for a sentence.

    >>> image_formats_text()
    'PNG, JPEG, TIFF or DICOM'
    """
    *first, last = (image_format.name for image_format in IMAGE_FORMATS)
    return f"{', '.join(first)} or {last}"


def image_extensions() -> list[str]:
    """Every extension of :data:`IMAGE_FORMATS` (``""``: a file without one).

    >>> image_extensions()
    ['png', 'jpg', 'jpeg', 'tif', 'tiff', 'dcm', '']
    """
    return [extension for image_format in IMAGE_FORMATS
            for extension in image_format.extensions]


def kind_of(name: str, data: bytes) -> str | None:
    """What a file is, from its bytes: ``image`` (one of :data:`IMAGE_FORMATS`),
    ``workbook`` (an Excel workbook, or an old or encrypted Office file that may be one),
    ``zip``, ``wfdb-header``, ``edf``, ``table`` (CSV or JSON text), or None. A WFDB signal
    or annotation file has no signature of its own: it is recognised through its header
    (:func:`group_files`)."""
    office = workbook_format(data)  # before the ZIP: a workbook is a ZIP never expanded
    if office in ("xlsx", "ole2"):
        return "workbook"
    if office is not None:  # a Word or PowerPoint package: no ZIP of files either
        return None
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if any(image_format.matches(data) for image_format in IMAGE_FORMATS):
        return "image"
    if len(data) >= 256 and data[:8] == b"0       ":
        return "edf"
    text = _text(data)
    if text is None:
        return None
    if wfdb_signal_files(text) is not None:
        return "wfdb-header"
    if text.lstrip()[:1] in ("{", "[") or "," in text or ";" in text or "\t" in text:
        return "table"
    return None


def _text(data: bytes, limit: int = 1 << 16) -> str | None:
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
    # as Latin-1 are mostly neither.
    readable = sum((" " <= ch <= "~") or ch.isalpha() or ch in "\r\n\t" for ch in text)
    return text if readable >= 0.95 * len(text) else None


def wfdb_signal_files(text: str) -> list[str] | None:
    """The signal files a WFDB header names, or None when ``text`` is no WFDB header."""
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines or not _WFDB_RECORD_LINE.match(lines[0]):
        return None
    count = int(lines[0].split()[1])
    signal_lines = lines[1:1 + count]
    if len(signal_lines) < count:
        return None
    return sorted({line.split()[0] for line in signal_lines})


# --- ZIP files ---------------------------------------------------------------------------


def expand_zip(name: str, data: bytes) -> tuple[dict[str, bytes], list[tuple[str, DxError]]]:
    """The files of a ZIP, ``{"archive.zip/folder/file": bytes}``, in memory, and the
    entries refused (a ZIP inside the ZIP, an encrypted entry). The whole ZIP is refused,
    before anything is decompressed, when it holds more than :data:`MAX_ZIP_ENTRIES`
    files or more than :data:`MAX_ZIP_BYTES` once expanded."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise DxError(f"{name} is not a ZIP file that can be opened (damaged or "
                      "incomplete).") from None
    entries = [info for info in archive.infolist() if _is_content(info)]
    if len(entries) > MAX_ZIP_ENTRIES:
        raise DxError(f"{name} holds {len(entries):,} files; at most {MAX_ZIP_ENTRIES:,} "
                      "can be opened from one ZIP. Split it.")
    total = sum(info.file_size for info in entries)
    if total > MAX_ZIP_BYTES:
        raise DxError(f"{name} expands to {total / 2 ** 30:.1f} GB; at most "
                      f"{MAX_ZIP_BYTES / 2 ** 30:.0f} GB can be opened from one ZIP. "
                      "Split it.")
    files: dict[str, bytes] = {}
    refused: list[tuple[str, DxError]] = []
    for info in entries:
        inner = f"{name}/{info.filename}"
        try:
            content = archive.read(info)
        except RuntimeError:  # zipfile's word for an encrypted entry
            refused.append((inner, DxError(f"{inner} is encrypted; unpack it yourself "
                                           "and drop the file.")))
            continue
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
            refused.append((inner, DxError(f"{inner} cannot be unpacked (damaged, or "
                                           "compressed in a way this ZIP reader lacks).")))
            continue
        if kind_of(inner, content) == "zip":
            refused.append((inner, DxError(f"{inner} is a ZIP inside a ZIP; only one "
                                           "level is opened. Unpack it and drop it.")))
            continue
        files[inner] = content
    return files, refused


def _is_content(info: zipfile.ZipInfo) -> bool:
    """An entry that is a file of its own: not a folder, not macOS's resource forks nor a
    hidden file (``.DS_Store``)."""
    parts = PurePosixPath(info.filename).parts
    return not info.is_dir() and "__MACOSX" not in parts and not parts[-1].startswith(".")


def expand(files: dict[str, bytes]) -> tuple[dict[str, bytes], list[tuple[str, DxError]]]:
    """A drop with every ZIP replaced by its files, and the files or entries refused."""
    expanded: dict[str, bytes] = {}
    problems: list[tuple[str, DxError]] = []
    for name, data in files.items():
        if kind_of(name, data) != "zip":
            expanded[name] = data
            continue
        try:
            inner, refused = expand_zip(name, data)
        except DxError as error:
            problems.append((name, error))
            continue
        expanded.update(inner)
        problems.extend(refused)
    return expanded, problems


# --- Grouping and routing ------------------------------------------------------------------


def group_files(files: dict[str, bytes], cards: list[ModelCard] | None = None) -> Intake:
    """The cases of a drop (ZIPs expanded), each routed to its model among ``cards``
    (default: the registry's), and the files that could not be."""
    from dxcore.registry import list_cards

    cards = list_cards() if cards is None else cards
    files, problems = expand(files)
    kinds = {name: kind_of(name, data) for name, data in files.items()}
    cases: list[Case] = []
    mappable: dict[str, bytes] = {}
    claimed: set[str] = set()
    # WFDB headers first: they claim their signal files and annotations by name, in their
    # own folder (two records of the same name in two folders of a ZIP stay apart).
    for name in [n for n in files if kinds[n] == "wfdb-header"]:
        folder, stem = _folder(name), PurePosixPath(name).stem
        wanted = set(wfdb_signal_files(_text(files[name]) or "") or ()) | {f"{stem}.atr"}
        # Claimed whatever they look like: a signal file's bytes can pass for text.
        members = {n for n in files if _folder(n) == folder and PurePosixPath(n).name in wanted
                   and kinds[n] != "wfdb-header" and n not in claimed}
        claimed |= members | {name}
        record = {PurePosixPath(n).name: files[n] for n in sorted({name} | members)}
        cases.append(_routed(f"{folder}{stem}" if folder else stem, "ecg", record, cards,
                             problems))
    for name, data in files.items():
        if name in claimed:
            continue
        kind = kinds[name]
        single = {PurePosixPath(name).name: data}
        if kind == "image":
            cases.append(_routed(name, "image", single, cards, problems))
        elif kind == "edf":
            cases.append(_routed(name, "ecg", single, cards, problems))
        elif kind in ("table", "workbook"):
            case = _table_case(name, data, single, cards, problems)
            cases.append(case)
            if case is None and _unmatched(problems, name):
                mappable[name] = data
        else:
            problems.append((name, DxError(
                f"{name} is not a file the dashboard can read: expected an image "
                f"({image_formats_text()}), an ECG record (WFDB .hea with its .dat, EDF, or "
                "CSV), a case table (CSV, JSON or Excel .xlsx) or a ZIP of these. A WFDB "
                ".dat or .atr file needs its .hea header in the same drop.")))
    return Intake([case for case in cases if case is not None], problems, mappable)


def _folder(name: str) -> str:
    parent = str(PurePosixPath(name).parent)
    return "" if parent == "." else f"{parent}/"


def _model_of_modality(modality: str, cards: list[ModelCard]) -> str | None:
    return next((card.id for card in cards if card["modality"] == modality), None)


def _routed(name: str, kind: str, files: dict[str, bytes], cards: list[ModelCard],
            problems: list[tuple[str, DxError]]) -> Case | None:
    model_id = _model_of_modality(kind, cards)
    if model_id is None:
        problems.append((name, DxError(f"{name} is {KINDS[kind].lower()}, which none of "
                                       "the models in use reads.")))
        return None
    return Case(name, kind, model_id, files)


def _table_case(name: str, data: bytes, files: dict[str, bytes], cards: list[ModelCard],
                problems: list[tuple[str, DxError]]) -> Case | None:
    """A CSV, JSON or workbook table: the case-record model its columns match, else an ECG
    record when it is a long CSV of numbers, else a problem (:data:`UNMATCHED` when it was
    read but its columns match no model)."""
    from dxcore.records import match_model

    workbook = workbook_format(data) is not None
    try:
        columns, rows = _workbook_columns_and_rows(data, name) if workbook else \
            _columns_and_rows(data)
    except DxError as error:  # an unreadable workbook
        problems.append((name, error))
        return None
    model_id = match_model(columns, cards) if columns else None
    if model_id is not None:
        return Case(name, "record", model_id, files, rows)
    if not workbook and rows >= MIN_SIGNAL_ROWS and _model_of_modality("ecg", cards) is not None:
        return _routed(name, "ecg", files, cards, problems)
    record_models = ", ".join(c.id for c in cards if c["modality"] == "record") or "none"
    short = "" if workbook else ", and it is too short to be an ECG recording"
    problems.append((name, DxError(
        f"The columns of {name} match no case-record model on this dashboard "
        f"({record_models}){short}. Check its header row against the fields on the model's "
        "card, or map its columns to a model's fields on the Case records page.",
        reason=UNMATCHED)))
    return None


# A problem's reason (``DxError.facts``) when a table was read but matches no model.
UNMATCHED = "columns_unmatched"


def _unmatched(problems: list[tuple[str, DxError]], name: str) -> bool:
    """Whether ``name``'s problem, the last one said, is that its columns match no model."""
    return bool(problems) and problems[-1][0] == name and \
        problems[-1][1].facts.get("reason") == UNMATCHED


def _workbook_columns_and_rows(data: bytes, name: str) -> tuple[list[str], int]:
    """A workbook's column names and number of cases, read as the case-record reader reads
    it (so that what routes it is what the model will read)."""
    from dxcore.records.reader import read_cases

    table = read_cases(data, name=name)
    return list(table.columns), len(table)


def _columns_and_rows(data: bytes) -> tuple[list[str], int]:
    """A table's column names and (roughly) its number of rows, from its text."""
    from dxcore.tables import sniff_dialect

    text = _text(data, limit=len(data)) or ""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
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


# --- Prediction -----------------------------------------------------------------------------


def predict_cases(cases: Iterable[Case], model_of: Callable[[str], DxModel] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  **options: Any) -> list[Outcome]:
    """Every case through its model: per model, :data:`CHUNK` inputs per batched
    ``predict_many`` (one forward pass each); ``progress(done, total)`` after each chunk.
    The outcomes come back in the order of ``cases``; an input that cannot be read, or that
    the domain guard refuses, gets its DxError and the others go on."""
    if model_of is None:
        from dxcore.registry import get_model

        def model_of(model_id: str) -> DxModel:
            return get_model(model_id).load()

    cases = list(cases)
    outcomes: list[Outcome | None] = [None] * len(cases)
    # One batch per model and reader options: a case's options (an ECG CSV's rate) are its
    # own.
    by_model: dict[tuple[str, str], list[int]] = {}
    for index, case in enumerate(cases):
        key = (case.model_id, json.dumps(case.options, sort_keys=True, default=str))
        by_model.setdefault(key, []).append(index)
    done = 0
    for (model_id, _), indices in by_model.items():
        case_options = {**options, **cases[indices[0]].options}
        try:
            model = model_of(model_id)
        except DxError as error:  # a damaged or refused model: each of its cases says so
            for index in indices:
                outcomes[index] = Outcome(cases[index], error)
            done += len(indices)
            continue
        for start in range(0, len(indices), CHUNK):
            chunk = indices[start:start + CHUNK]
            answers = model.predict_many([cases[i].files for i in chunk], **case_options)
            for index, answer in zip(chunk, answers, strict=True):
                outcomes[index] = Outcome(cases[index], answer)
            done += len(chunk)
            if progress is not None:
                progress(done, len(cases))
    return outcomes  # type: ignore[return-value]
