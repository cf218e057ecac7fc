"""The one model contract every modality implements, after Hugging Face pipelines:

    read (bytes, path or uploads -> decoded input)  ->  preprocess (-> network input)
    ->  forward (one batched pass, shared)  ->  postprocess (calibration and the decision
    rule, shared)  ->  :class:`Result`

A modality subclasses :class:`DxModel` and overrides :meth:`DxModel.read`,
:meth:`DxModel.preprocess` and :meth:`DxModel.describe` (the typed child of the result:
an image's facts, a record's beats and summary, a table's rows); everything else, the
explanations (:meth:`DxModel.explain`, through :mod:`dxcore.explain`) included, is shared.

An input that cannot be read without something only the user knows (an ECG CSV's sampling
rate) says so through :meth:`DxModel.options_needed`, from the modality's
:attr:`DxModel.asked_options`: a page asks for it, and reads the input with the answer.

Example (needs the shipped weights)::

    from dxcore import get_model
    result = get_model("cxr-pneumonia").predict("chest.png")
    result.decisions[0], result.as_json()[0]["probabilities"]
    # -> ('PNEUMONIA', {'NORMAL': 0.08, 'PNEUMONIA': 0.92})
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from dxcore.batching import Batch, batch_size_of, batched_outputs, take
from dxcore.calibration import calibrated_probabilities
from dxcore.cards import ModelCard, sha256_of
from dxcore.conformal import ConformalSets
from dxcore.errors import DxError

if TYPE_CHECKING:  # the core imports Keras (and TensorFlow) only where a network is loaded
    import keras

    from dxcore.adaptation import LabelShift
    from dxcore.compiled import CompiledNetwork
    from dxcore.explain import Explanation
    from dxcore.label_shift import SitePrior
    from dxcore.labels import Identity

# What ``read`` accepts: a path, the bytes of one file, ``{file name: bytes}`` for an
# upload of one or more files that belong together, or an already decoded input.
Source = str | Path | bytes | dict[str, bytes] | Any


@dataclass(frozen=True)
class AskedOption:
    """A reader option a user may have to give for some inputs (an ECG CSV's sampling rate):
    the keyword ``read`` takes (``name``), how to ask for it (``label``, ``help``) and its
    plausible bounds (``low`` to ``high``)."""

    name: str
    label: str
    low: float
    high: float
    help: str = ""


@dataclass(frozen=True)
class DecisionRule:
    """The card's decision rule, applied in one place for every model.

    - ``threshold``: the ``positive_class`` when its probability reaches ``threshold``,
      else the most probable other class (binary models);
    - ``log_offsets``: the highest log-probability plus the class's offset; a class with no
      offset is never returned (the ECG model's F class).

    Example:
        >>> rule = DecisionRule(["NORMAL", "PNEUMONIA"], positive_class="PNEUMONIA",
        ...                     threshold=0.3)
        >>> rule.decide(np.array([[0.75, 0.25], [0.6, 0.4]])).tolist()
        ['NORMAL', 'PNEUMONIA']
    """

    class_names: list[str]
    positive_class: str | None = None
    threshold: float | None = None
    log_offsets: dict[str, float] | None = None

    @classmethod
    def from_card(cls, card: ModelCard) -> DecisionRule:
        if card.log_offsets is not None:
            return cls(card.class_names, log_offsets=dict(card.log_offsets))
        return cls(card.class_names, card.positive_class, card.threshold)

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        names = np.asarray(self.class_names)
        if self.log_offsets is not None:
            shift = np.array([self.log_offsets.get(n, -np.inf) for n in self.class_names])
            return names[np.argmax(np.log(np.clip(probabilities, 1e-12, 1.0)) + shift, axis=1)]
        positive = self.class_names.index(self.positive_class)
        others = np.where(np.arange(len(names)) == positive, -np.inf, probabilities)
        decided = np.where(probabilities[:, positive] >= self.threshold, positive,
                           np.argmax(others, axis=1))
        return names[decided]

    def moved(self, scale: float, shift: np.ndarray) -> DecisionRule:
        """The rule that gives the same decisions on probabilities transformed as
        ``log p' = scale * log p + shift`` (less a constant per item; ``scale > 0``): a
        threshold moved along the log-odds, offsets ``scale * offset - shift``. Answers
        adapted to a site's prior (:mod:`dxcore.adaptation`) keep their decisions so.

        >>> rule = DecisionRule(["NORMAL", "PNEUMONIA"], positive_class="PNEUMONIA",
        ...                     threshold=0.5)
        >>> round(rule.moved(1.0, np.log([0.5, 2.0])).threshold, 3)  # odds x 4
        0.8
        """
        shift = np.asarray(shift, float)
        if self.log_offsets is not None:
            index = {name: k for k, name in enumerate(self.class_names)}
            return DecisionRule(self.class_names, log_offsets={
                name: float(scale * offset - shift[index[name]])
                for name, offset in self.log_offsets.items()})
        if len(self.class_names) != 2:
            raise DxError("A threshold rule over more than two classes cannot be moved with "
                          "the probabilities; this model's answers cannot be adapted.")
        positive = self.class_names.index(self.positive_class)
        if self.threshold in (0.0, 1.0):
            return self
        log_odds = (scale * np.log(self.threshold / (1 - self.threshold))
                    + shift[positive] - shift[1 - positive])
        return DecisionRule(self.class_names, self.positive_class,
                            float(1 / (1 + np.exp(-log_odds))))

    @property
    def returned(self) -> list[str]:
        """The classes the rule can return (under offsets, those with one)."""
        if self.log_offsets is None:
            return list(self.class_names)
        return [name for name in self.class_names if name in self.log_offsets]

    @property
    def never_returned(self) -> list[str]:
        """The classes the rule never returns (those without a log-probability offset)."""
        returned = self.returned
        return [name for name in self.class_names if name not in returned]

    def shown_probability(self, probabilities: np.ndarray, decisions: np.ndarray) -> np.ndarray:
        """Each item's probability of its decision, with the classes the rule never returns
        counted in it: the decided class stands for them too, so what is shown is
        P(decision or a never-returned class), which under a plain argmax is the largest of
        the shown probabilities (a beat 0.97 F, 0.02 N reads N at 0.99, "N or F"). NaN for an item
        decided outside the classes (an ECG's unclassifiable Q).

        >>> rule = DecisionRule(["N", "S", "V", "F"], log_offsets={"N": 0, "S": 0, "V": 0})
        >>> p = np.array([[0.02, 0.0, 0.01, 0.97], [0.7, 0.1, 0.2, 0.0]])
        >>> rule.shown_probability(p, np.array(["N", "Q"])).round(2).tolist()
        [0.99, nan]
        """
        names = np.asarray(self.class_names)
        matches = np.asarray(decisions)[:, None] == names
        folded = np.isin(names, self.never_returned)
        chosen = (np.asarray(probabilities) * (matches | folded)).sum(axis=1)
        return np.where(matches.any(axis=1), chosen, np.nan)


@dataclass
class Prepared:
    """What :meth:`DxModel.preprocess` hands on: the network input and the decoded input
    with whatever the modality needs to describe the result (beat positions, valid rows)."""

    x: Batch
    decoded: Any
    context: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class Detail(Protocol):
    """A modality's typed child of :class:`Result`."""

    def as_json(self, result: Result, explanations: dict[int, Explanation]) -> list[dict]:
        """The JSON objects of the result (one per image, record or table row)."""

    def text(self, result: Result) -> list[str]:
        """The same in plain lines for a terminal."""


@dataclass
class Result:
    """The outcome of one input, for every modality: one item per image, beat or valid
    table row, each with its calibrated probabilities and decision under ``rule``;
    ``detail`` holds the modality's own view (beats and summary, table rows, image facts)."""

    model_id: str
    rule: DecisionRule
    probabilities: np.ndarray  # (items, classes), calibrated
    decisions: np.ndarray      # (items,) class names
    outputs: dict[str, np.ndarray]  # the network's raw outputs (logits, ...)
    model_input: Batch         # what the network read, one row per item
    detail: Detail
    notes: list[str] = field(default_factory=list)
    # Each item's conformal prediction set (its decision included), at ``coverage``; None
    # for a model whose card has no conformal calibration.
    prediction_sets: list[list[str]] | None = None
    coverage: float | None = None
    # The site prior the answers were adapted to (DxModel.adapt); then ``probabilities``,
    # ``rule`` and ``prediction_sets`` are adapted and these are the model's own.
    site_prior: SitePrior | None = None
    unadapted_probabilities: np.ndarray | None = None

    @property
    def class_names(self) -> list[str]:
        return self.rule.class_names

    def __len__(self) -> int:
        return len(self.decisions)

    def probabilities_of(self, item: int, decimals: int = 6) -> dict[str, float]:
        return {name: round(float(p), decimals)
                for name, p in zip(self.class_names, self.probabilities[item], strict=True)}

    def set_of(self, item: int) -> list[str]:
        """Item ``item``'s prediction set (just its decision without conformal sets)."""
        if self.prediction_sets is None:
            return [str(self.decisions[item])]
        return self.prediction_sets[item]

    def uncertain(self, item: int) -> bool:
        """Whether item ``item``'s prediction set holds more than its decision."""
        return len(self.set_of(item)) > 1

    def set_json(self, item: int) -> dict[str, Any]:
        """``{"prediction_set": [...], "coverage": 0.9}`` for a JSON line (empty without
        conformal sets)."""
        if self.prediction_sets is None:
            return {}
        return {"prediction_set": self.prediction_sets[item], "coverage": self.coverage}

    def adaptation_json(self, item: int, decimals: int = 6) -> dict[str, Any]:
        """``{"site_prior": {"shares": {...}, "source": ...}, "unadapted_probabilities":
        {...}}`` for a JSON line of an adapted result (the prior alone when it left the
        answers as they were; empty when the result was not adapted)."""
        if self.site_prior is None:
            return {}
        prior = self.site_prior.as_json()
        line: dict[str, Any] = {"site_prior": {"shares": prior["shares"],
                                               "source": prior["source"]}}
        if self.unadapted_probabilities is not None:
            line["unadapted_probabilities"] = {
                name: round(float(p), decimals) for name, p in
                zip(self.class_names, self.unadapted_probabilities[item], strict=True)}
        return line

    def input_of(self, item: int) -> Batch:
        """Item ``item``'s network input as a batch of one (what an explainer reads)."""
        return take(self.model_input, slice(item, item + 1))

    def as_json(self, explanations: dict[int, Explanation] | None = None) -> list[dict]:
        """JSON-ready objects, one per image, record or table row; ``explanations`` by item."""
        return self.detail.as_json(self, explanations or {})

    def text(self) -> list[str]:
        return self.detail.text(self)


def is_upload(source: Any) -> bool:
    return isinstance(source, dict) and all(isinstance(v, bytes) for v in source.values())


def single_upload(files: dict[str, bytes], what: str) -> tuple[str, bytes]:
    """The one (name, bytes) of an upload that must hold exactly one file."""
    if len(files) != 1:
        raise DxError(f"Upload one {what} at a time.")
    return next(iter(files.items()))


def read_path(path: str | Path) -> bytes:
    """A file's bytes, or one clear :class:`DxError` when it cannot be opened (every
    reader's path input comes through here)."""
    try:
        return Path(path).read_bytes()
    except OSError:
        raise DxError(f"The file {path} cannot be opened (missing, or not readable).") \
            from None


def load_network(card: ModelCard) -> keras.Model:
    """The card's network, loaded in Keras safe mode (no Python code in the file runs: no
    Lambda layer, no external SavedModel, no function named by the config); one
    :class:`DxError` for a file that safe mode refuses or Keras cannot read."""
    import keras

    try:
        return keras.saving.load_model(card.weights_path, compile=False, safe_mode=True)
    except Exception as error:  # Keras's deserializer raises many types for a bad file
        what = f"The model file of '{card.id}' ({card.weights_path.name})"
        if "safe_mode" in str(error):  # Keras names the switch it refused to flip
            raise DxError(f"{what} contains code or layers that are not allowed to run; it "
                          "was not loaded.") from error
        raise DxError(f"{what} is not a model this version of dxcore can read; it was not "
                      "loaded.") from error


class DxModel:
    """A trained model and its card, behind the one contract.

    Weights load lazily, once, in Keras safe mode, after the checksum check; loading is
    guarded by a lock because Streamlit shares one instance across sessions (inference
    itself is read-only). Subclasses set ``modality`` and override :meth:`read`,
    :meth:`preprocess` and :meth:`describe`; they may override :meth:`explained_items`."""

    modality: ClassVar[str] = ""
    batch_size: ClassVar[int] = 64
    # Whether the modality's Detail reads each item's probabilities and prediction set from
    # the result when it writes them, with ``result.adaptation_json(item)``: then an adapted
    # result (:meth:`adapt`) shows adapted answers, and ``python -m dxcore calibrate`` fits
    # its card's label-shift calibration.
    adaptable: ClassVar[bool] = False
    # The reader options a user may be asked for, by keyword: ``read`` raises a DxError
    # whose ``needs`` fact names one when an input cannot be read without it.
    asked_options: ClassVar[dict[str, AskedOption]] = {}

    def __init__(self, card: ModelCard):
        self.card = card
        self.rule = DecisionRule.from_card(card)
        self.conformal = (None if card.conformal is None else
                          ConformalSets.from_runtime(card.class_names, card.conformal))
        self._network: keras.Model | None = None
        self._compiled: CompiledNetwork | None = None
        self._lock = threading.Lock()

    # --- weights ---------------------------------------------------------------------
    @property
    def network(self) -> keras.Model:
        with self._lock:
            if self._network is None:
                self.card.verify_weights()
                self._network = load_network(self.card)
        return self._network

    @property
    def compiled_network(self) -> CompiledNetwork | None:
        """The network compiled for inference (:mod:`dxcore.compiled`) when the card has
        one, checked against its SHA-256 and loaded once; prediction runs it instead of the
        Keras network, without TensorFlow."""
        entry = self.card.compiled
        if entry is None:
            return None
        with self._lock:
            if self._compiled is None:
                from dxcore.compiled import load_compiled

                # The weights it was compiled from must be the card's too: one rule for a
                # model whose files were changed, whichever of them prediction reads.
                self.card.verify_weights()
                path = self.card.beside(entry["file"], "runtime.compiled.file")
                if not path.is_file() or sha256_of(path) != entry["sha256"]:
                    raise DxError(f"The compiled model file of '{self.card.id}' is missing or "
                                  "does not match its model card (checksum mismatch); the "
                                  "model was not loaded.")
                self._compiled = load_compiled(path, self.card.interface["inputs"][0]["name"])
        return self._compiled

    def load(self) -> DxModel:
        """Verify and load what prediction runs (the compiled network, else the weights)
        now rather than on the first prediction."""
        if self.compiled_network is None:
            _ = self.network
        return self

    @cached_property
    def label_shift(self) -> LabelShift | None:
        """The card's label-shift calibration (:mod:`dxcore.adaptation`), checked against
        its SHA-256 on first use; None when the card has none or the modality cannot show
        adapted answers."""
        from dxcore.adaptation import LabelShift

        return LabelShift.from_card(self.card) if self.adaptable else None

    def adapt(self, result: Result, prior: SitePrior) -> Result:
        """``result`` with its answers adapted to the site's class prior ``prior``
        (:mod:`dxcore.adaptation`: probabilities by Bayes' rule, prediction sets weighted
        for the shift, the same decisions)."""
        if self.label_shift is None:
            raise DxError(f"The model '{self.card.id}' has no label-shift calibration; run "
                          f"python -m dxcore calibrate {self.card.id} --label-shift first.")
        return self.label_shift.adapt(result, prior)

    # --- the modality's part -----------------------------------------------------------
    def read(self, source: Source, **options: Any) -> Any:
        """Decode one input (a path, bytes, ``{name: bytes}`` or an already decoded input);
        anything that cannot be read raises one :class:`DxError`."""
        raise NotImplementedError

    def preprocess(self, decoded: Any, **options: Any) -> Prepared:
        """The network input for a decoded input, as in training."""
        raise NotImplementedError

    def options_needed(self, source: Source, **options: Any) -> list[AskedOption]:
        """The :attr:`asked_options` that ``source`` cannot be read without, given
        ``options`` (none for a modality that asks for nothing; otherwise the input is read
        once to find out). An input unreadable for another reason needs none: its error
        shows when it is predicted."""
        if not self.asked_options:
            return []
        try:
            self.read(source, **options)
        except DxError as error:
            needed = self.asked_options.get(error.facts.get("needs", ""))
            return [] if needed is None else [needed]
        return []

    def describe(self, prepared: Prepared, result: Result) -> Detail:
        """The modality's typed child of the result."""
        raise NotImplementedError

    def check_domain(self, prepared: Prepared, outputs: dict[str, np.ndarray]) -> None:
        """The domain guard, run on every input before any answer is formed: raise
        :class:`~dxcore.errors.OutOfDomain` when the input as a whole is unlike what the
        model was trained on. Checks of single items (a table row, a beat) belong in the
        modality's ``preprocess`` or ``describe``. None by default."""

    def conformal_groups(self, prepared: Prepared) -> list[str] | None:
        """Each item's group for prediction sets calibrated per group (the card's
        ``runtime.conformal.groups``; :mod:`dxcore.conformal`), or None: one calibration
        for all."""
        return None

    def describe_explanation(self, result: Result, explanation: Explanation) -> Any:
        """The modality's reading of an explanation (``Explanation.detail``; none here)."""
        return None

    def explained_items(self, result: Result) -> list[int]:
        """The items the command line explains with ``--explain`` (all, by default)."""
        return list(range(len(result)))

    def identities(self, files: dict[str, bytes]) -> list[Identity]:
        """What an upload states about itself, for the case labels a clinician reads
        (:mod:`dxcore.labels`): one :class:`~dxcore.labels.Identity` per item the worklist
        shows (a table's rows in order; one for an image or a record), or none, and the
        file name labels it (the default). Identifiers: shown on the pages and in the PDFs,
        never logged. Raises nothing but :class:`DxError` (an unreadable upload)."""
        return []

    # --- shared ----------------------------------------------------------------------
    @property
    def forward_network(self) -> keras.Model:
        """The Keras network :meth:`forward` runs when there is no compiled one (and the one
        that is compiled): the network itself, unless a modality adds outputs."""
        return self.network

    def forward(self, x: Batch) -> dict[str, np.ndarray]:
        """One batched pass through the network (its compiled form, where there is one)."""
        return batched_outputs(self.compiled_network or self.forward_network, x,
                               self.batch_size)

    def probabilities(self, x: Batch) -> np.ndarray:
        """Calibrated probabilities, (items, classes), of a prepared batch."""
        return calibrated_probabilities(self.forward(x)["logits"],
                                        self.card.temperature)

    def postprocess(self, prepared: Prepared, outputs: dict[str, np.ndarray]) -> Result:
        """The domain guard, calibrated probabilities, the decision rule and the prediction
        sets, then the modality's detail."""
        if not np.isfinite(outputs["logits"]).all():  # never a NaN probability
            raise DxError("The input holds values that are not numbers (or are infinite) "
                          "after reading, so the model cannot give an answer. Check the file.")
        self.check_domain(prepared, outputs)
        probabilities = calibrated_probabilities(outputs["logits"],
                                                 self.card.temperature)
        decisions = self.rule.decide(probabilities)
        result = Result(self.card.id, self.rule, probabilities, decisions, outputs,
                        prepared.x, detail=None,  # type: ignore[arg-type]
                        notes=list(prepared.notes))
        if self.conformal is not None:
            result.prediction_sets = self.conformal.sets(probabilities, decisions,
                                                         groups=self.conformal_groups(prepared))
            result.coverage = self.conformal.coverage
        result.detail = self.describe(prepared, result)
        return result

    def predict(self, source: Source, **options: Any) -> Result:
        """read -> preprocess -> forward -> postprocess. ``options`` are the modality's
        (an ECG CSV's sampling rate ``fs``, the ``lead``); others are ignored."""
        prepared = self.preprocess(self.read(source, **options), **options)
        return self.postprocess(prepared, self.forward(prepared.x))

    def predict_many(self, sources: list[Source], **options: Any) -> list[Result | DxError]:
        """:meth:`predict` for many inputs with one batched forward pass over all of them
        (the path for worklists and folders); an input that cannot be read gets its
        :class:`DxError` in its place and the others still run."""
        prepared: list[Prepared | DxError] = []
        for source in sources:
            try:
                prepared.append(self.preprocess(self.read(source, **options), **options))
            except DxError as error:
                prepared.append(error)
        ready = [p for p in prepared if isinstance(p, Prepared)]
        if not ready:
            return prepared  # type: ignore[return-value]
        joined = ([np.concatenate([p.x[k] for p in ready]) for k in range(len(ready[0].x))]
                  if isinstance(ready[0].x, list) else np.concatenate([p.x for p in ready]))
        outputs = self.forward(joined)
        starts = np.cumsum([0] + [batch_size_of(p.x) for p in ready])
        order = iter(range(len(ready)))
        results: list[Result | DxError] = []
        for p in prepared:
            if isinstance(p, DxError):
                results.append(p)
                continue
            k = next(order)
            rows = slice(starts[k], starts[k + 1])
            try:
                results.append(self.postprocess(p, {name: v[rows]
                                                    for name, v in outputs.items()}))
            except DxError as error:  # refused by the domain guard
                results.append(error)
        return results

    def explain(self, result: Result, method: str, item: int = 0,
                class_name: str | None = None) -> Explanation:
        """Why item ``item`` got its decision (or ``class_name``), by ``method`` among the
        modality's explainers (:func:`dxcore.explain.explainers_for`)."""
        from dxcore.explain import get_explainer

        return get_explainer(self.modality, method)(self, result, [item], class_name)[0]

    def explain_all(self, result: Result, method: str,
                    items: list[int] | None = None) -> dict[int, Explanation]:
        """Explanations of ``items`` (default :meth:`explained_items`), in one batched call."""
        from dxcore.explain import get_explainer

        chosen = self.explained_items(result) if items is None else items
        if not chosen:
            return {}
        explanations = get_explainer(self.modality, method)(self, result, chosen)
        return dict(zip(chosen, explanations, strict=True))
