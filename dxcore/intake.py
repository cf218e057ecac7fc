"""One drop for every model: recognise each file by its content, group the files that belong
together, and route each group (a *case*) to the model that reads it.

A drop is ``{file name: bytes}``, as the dashboard's drop zone receives it; nothing is
written to disk. What each file is comes from its bytes, the name serving only to pair
files: each modality in use (a modality of the model cards given) registers its file
formats (:mod:`dxcore.formats`), each with the one sniffer its reader and the command line
ask too, and this module asks them in their order. A format that groups files (a WFDB
header with the signal files and annotations it names, in its folder) claims them first;
a format whose models do not read a file it recognises declines, and the next format is
asked (a table whose columns match no case-record model may be a long ECG recording); a
file no format takes gets one :class:`~dxcore.errors.DxError` in :attr:`Intake.problems`,
naming what the dashboard reads, and the others go on. A table a mapping of its columns
could route is also kept in :attr:`Intake.mappable`, for a page that offers to map them.

Besides the modalities' formats, this module opens ZIP files, in memory, within
:data:`MAX_ZIP_ENTRIES` files and :data:`MAX_ZIP_BYTES` uncompressed (a "zip bomb" is
refused before it is expanded); an Office file is never expanded as one (a workbook is
read as a table; :mod:`dxcore.workbook`).

A case may need an option only the user can give (an ECG CSV's sampling rate,
:meth:`~dxcore.contract.DxModel.options_needed`): :attr:`Case.options` holds the answers,
and :func:`predict_cases` reads each case with its own. :func:`predict_cases` then runs
every case through its model's contract, one batched
:meth:`~dxcore.contract.DxModel.predict_many` per model; a case that several models of its
modality may read (two image models) goes through each, and the one whose domain guard
accepts it best answers. The result is a list of :class:`Outcome` (case, model id, Result
or DxError), which is what a report or an audit log reads.

Importing this module imports neither TensorFlow nor a model, nor pandas: the home page
offers the drop zone before any model is loaded.

Example:
    >>> is_zip(b"PK\\x03\\x04" + b"\\0" * 26), is_zip(b"\\x89PNG\\r\\n\\x1a\\n")
    (True, False)
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from dxcore.errors import DxError, OutOfDomain
from dxcore.formats import Declined, joined, pair_files
from dxcore.workbook import workbook_format

if TYPE_CHECKING:
    from dxcore.cards import ModelCard
    from dxcore.contract import DxModel, Result
    from dxcore.formats import FileFormat
    from dxcore.registry import Modality

# A ZIP is opened in memory only within these bounds, checked on its directory before any
# entry is decompressed (and each entry is decompressed no further than its declared size,
# which zipfile enforces with the entry's CRC): 5,000 files holds a clinic's day of images.
MAX_ZIP_ENTRIES = 5_000
MAX_ZIP_BYTES = 1 << 30  # 1 GiB uncompressed in all
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
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a ZIP, or an empty one


@dataclass(frozen=True)
class Case:
    """Files one model reads together: an image, the files of one ECG record, or a table
    of cases. ``kind`` is the name of its modality; ``files`` is ``{file name: bytes}``, as
    every model's ``read`` takes it; ``rows`` is how many rows the worklist gives it: a
    table's rows (counted from its text, before any model reads it), one for anything
    else; ``options`` are its reader's options that the user gave (an ECG CSV's sampling
    rate ``fs``). ``candidates`` are the models of its modality that may read it, best
    first (``model_id`` is the first): when there are several, their domain guards choose
    (:func:`predict_cases`), and the outcome's case names the one that answered."""

    name: str
    kind: str
    model_id: str
    files: dict[str, bytes]
    rows: int = 1
    options: dict[str, Any] = field(default_factory=dict)
    candidates: tuple[str, ...] = ()

    @property
    def models(self) -> tuple[str, ...]:
        """The models that may read it (its candidates; its model alone when none)."""
        return self.candidates or (self.model_id,)


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
        :data:`PATIENT_INPUTS` inputs, no more inputs of a modality than one patient has
        (its ``per_patient``: one ECG record or case record, a few images as a frontal and
        a lateral view), and no table of several rows (several rows are several
        patients). Anything larger is a batch: a worklist."""
        from dxcore.registry import modality

        kinds = Counter(case.kind for case in self.cases)
        return (0 < len(self.cases) <= PATIENT_INPUTS
                and all(count <= modality(kind).per_patient for kind, count in kinds.items())
                and self.rows == len(self.cases))


@dataclass
class Outcome:
    """A case and what its model made of it: a Result or the DxError that says why not."""

    case: Case
    result: Result | DxError

    @property
    def model_id(self) -> str:
        return self.case.model_id




def is_zip(data: bytes) -> bool:
    """Whether ``data`` is a ZIP of files to open: a ZIP that is no Office file (a workbook
    is a ZIP, read as a table, never expanded)."""
    return data.startswith(_ZIP_SIGNATURES) and workbook_format(data) is None


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
        if is_zip(content):
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
        if not is_zip(data):
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
    readers = _modalities_of(cards)
    formats = sorted(((file_format, modality) for modality in readers
                      for file_format in modality.formats), key=lambda pair: pair[0].order)
    files, problems = expand(files)
    sniffed = {name: [pair for pair in formats if pair[0].sniff(name, data)]
               for name, data in files.items()}
    cases: list[Case | None] = []
    mappable: dict[str, bytes] = {}
    claimed: set[str] = set()
    # Files that name their companions first (a WFDB header: its signal files and
    # annotations), each case with them (:func:`dxcore.formats.pair_files`).
    for name, members in pair_files(files, [pair[0] for pair in formats]).items():
        folder, stem = _folder(name), PurePosixPath(name).stem
        claimed |= members | {name}
        group = {PurePosixPath(n).name: files[n] for n in sorted({name} | members)}
        cases.append(_routed(f"{folder}{stem}" if folder else stem, files[name], group,
                             sniffed[name][:1], cards, problems, mappable))
    for name, data in files.items():
        if name in claimed:
            continue
        if not sniffed[name]:
            problems.append((name, DxError(_unreadable(name, readers))))
            continue
        cases.append(_routed(name, data, {PurePosixPath(name).name: data}, sniffed[name],
                             cards, problems, mappable))
    return Intake([case for case in cases if case is not None], problems, mappable)


def _modalities_of(cards: list[ModelCard]) -> list[Modality]:
    """The registered modalities of ``cards``, the built-in ones in their order (as the
    drop zone names what it reads), then the others by name; a modality no package of
    this process registered (a plug-in not imported) reads nothing here."""
    from dxcore.registry import BUILT_IN, modality

    order = list(BUILT_IN)
    names = sorted({card["modality"] for card in cards},
                   key=lambda name: (order.index(name) if name in order else len(order), name))
    found = []
    for name in names:
        try:
            found.append(modality(name))
        except DxError:
            continue
    return found


def _folder(name: str) -> str:
    parent = str(PurePosixPath(name).parent)
    return "" if parent == "." else f"{parent}/"


def _unreadable(name: str, readers: list[Modality]) -> str:
    expected = ", ".join([modality.input_text for modality in readers] + [""])
    hints = "".join(f" {modality.input_hint}" for modality in readers if modality.input_hint)
    return (f"{name} is not a file the dashboard can read: expected {expected[:-2]} or a ZIP "
            f"of these.{hints}")


def _routed(name: str, data: bytes, files: dict[str, bytes],
            sniffed: list[tuple[FileFormat, Modality]], cards: list[ModelCard],
            problems: list[tuple[str, DxError]], mappable: dict[str, bytes]) -> Case | None:
    """The case of ``files`` (named ``name``; ``data``: its first file's bytes): the first
    of its formats whose models read it, or None after noting why none does."""
    declined: list[Declined] = []
    for file_format, modality in sniffed:
        models = [card for card in cards if card["modality"] == modality.name]
        try:
            routed = file_format.routed(name, data, models)
        except Declined as reason:
            declined.append(reason)
            continue
        except DxError as error:  # recognised, but unreadable (a damaged workbook)
            problems.append((name, error))
            return None
        if not routed.model_ids:
            declined.append(Declined(f"{name} is {modality.input_label.lower()}, which "
                                     "none of the models in use reads"))
            continue
        return Case(name, modality.name, routed.model_ids[0], files, routed.rows,
                    candidates=routed.model_ids if len(routed.model_ids) > 1 else ())
    first = declined[0]
    problems.append((name, DxError(
        joined([reason.clause for reason in declined],
               " ".join(reason.advice for reason in declined if reason.advice)),
        **first.facts)))
    if any(reason.mappable for reason in declined):
        mappable[name] = data
    return None


# --- Prediction -----------------------------------------------------------------------------


def predict_cases(cases: Iterable[Case], model_of: Callable[[str], DxModel] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  **options: Any) -> list[Outcome]:
    """Every case through its model: per model, :data:`CHUNK` inputs per batched
    ``predict_many`` (one forward pass each); ``progress(done, total)`` after each chunk.
    A case several models may read goes through each of them, and the one its domain
    guard accepts best answers (:func:`_chosen`). The outcomes come back in the order of
    ``cases``; an input that cannot be read, or that the domain guards refuse, gets its
    DxError and the others go on."""
    if model_of is None:
        from dxcore.registry import get_model

        def model_of(model_id: str) -> DxModel:
            return get_model(model_id).load()

    cases = list(cases)
    outcomes: list[Outcome | None] = [None] * len(cases)
    # One batch per model (or set of candidate models) and reader options: a case's
    # options (an ECG CSV's rate) are its own.
    by_model: dict[tuple[tuple[str, ...], str], list[int]] = {}
    for index, case in enumerate(cases):
        key = (case.models, json.dumps(case.options, sort_keys=True, default=str))
        by_model.setdefault(key, []).append(index)
    done = 0
    for (model_ids, _), indices in by_model.items():
        case_options = {**options, **cases[indices[0]].options}
        models: dict[str, DxModel | DxError] = {}
        for model_id in model_ids:
            try:
                models[model_id] = model_of(model_id)
            except DxError as error:  # a damaged or refused model: its cases say so
                models[model_id] = error
        for start in range(0, len(indices), CHUNK):
            chunk = indices[start:start + CHUNK]
            sources = [cases[i].files for i in chunk]
            answers = {model_id: [model] * len(chunk) if isinstance(model, DxError)
                       else model.predict_many(sources, **case_options)
                       for model_id, model in models.items()}
            for position, index in enumerate(chunk):
                model_id, answer = _chosen(cases[index], models, {
                    model_id: given[position] for model_id, given in answers.items()})
                outcomes[index] = Outcome(replace(cases[index], model_id=model_id), answer)
            done += len(chunk)
            if progress is not None:
                progress(done, len(cases))
    return outcomes  # type: ignore[return-value]


def _chosen(case: Case, models: dict[str, DxModel | DxError],
            answers: dict[str, Result | DxError]) -> tuple[str, Result | DxError]:
    """Which model answers ``case``, and its answer: of the models whose guard accepted
    it, the best-fitting (its modality's ``fit``: lower fits better; a model without a
    guard after those with one; then in the order of the candidates); if none accepted
    it, the error of the first that could not read it, else one refusal naming every model
    tried."""
    if len(answers) == 1:
        return next(iter(answers.items()))
    from dxcore.registry import modality

    fit = modality(case.kind).fit
    accepted = []
    for order, (model_id, answer) in enumerate(answers.items()):
        if not isinstance(answer, DxError):
            score = fit(models[model_id], answer) if fit is not None else None
            accepted.append((score is None, score or 0.0, order, model_id))
    if accepted:
        model_id = min(accepted)[3]
        return model_id, answers[model_id]
    unread = [(model_id, error) for model_id, error in answers.items()
              if not isinstance(error, OutOfDomain)]
    if unread:
        return unread[0]
    scores = [error.facts["domain_score"] for error in answers.values()
              if "domain_score" in error.facts]
    reasons = " ".join(f"{model_id}: {error}" for model_id, error in answers.items())
    return case.model_id, OutOfDomain(
        f"None of the models that could read this input accepts it (tried "
        f"{', '.join(answers)}). {reasons}",
        domain_score=min(scores) if len(scores) == len(answers) else None,
        tried=list(answers))
