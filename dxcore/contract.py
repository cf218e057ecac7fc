"""The one model contract every modality implements, after Hugging Face pipelines:

    read (bytes, path or uploads -> decoded input)  ->  preprocess (-> network input)
    ->  forward (one batched pass, shared)  ->  postprocess (calibration and the decision
    rule, shared)  ->  :class:`Result`

A modality subclasses :class:`DxModel` and overrides :meth:`DxModel.read`,
:meth:`DxModel.preprocess` and :meth:`DxModel.describe` (the typed child of the result:
an image's facts, a record's beats and summary, a table's rows); everything else, the
explanations (:meth:`DxModel.explain`, through :mod:`dxcore.explain`) included, is shared.
The result and the decision rule are :mod:`dxcore.results`'s (the modules that read a
result without running a model need only that one), the batched pass
:mod:`dxcore.batching`'s.

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
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from dxcore.batching import Batch, batch_size_of, batched_outputs
from dxcore.calibration import calibrated_probabilities
from dxcore.cards import ModelCard, sha256_of, verify_explainer_layer
from dxcore.conformal import ConformalSets
from dxcore.errors import DxError
from dxcore.explain import get_explainer
from dxcore.results import DecisionRule, Detail, Result

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


@dataclass
class Prepared:
    """What :meth:`DxModel.preprocess` hands on: the network input and the decoded input
    with whatever the modality needs to describe the result (beat positions, valid rows)."""

    x: Batch
    decoded: Any
    context: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


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
    :class:`DxError` for a file that safe mode refuses or Keras cannot read, or for a
    network without the layer the card's explainers read (:func:`verify_explainer_layer`)."""
    import keras

    try:
        network = keras.saving.load_model(card.weights_path, compile=False, safe_mode=True)
    except Exception as error:  # Keras's deserializer raises many types for a bad file
        what = f"The model file of '{card.id}' ({card.weights_path.name})"
        if "safe_mode" in str(error):  # Keras names the switch it refused to flip
            raise DxError(f"{what} contains code or layers that are not allowed to run; it "
                          "was not loaded.") from error
        raise DxError(f"{what} is not a model this version of dxcore can read; it was not "
                      "loaded.") from error
    verify_explainer_layer(card, network)
    return network


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
        return get_explainer(self.modality, method)(self, result, [item], class_name)[0]

    def explain_all(self, result: Result, method: str,
                    items: list[int] | None = None) -> dict[int, Explanation]:
        """Explanations of ``items`` (default :meth:`explained_items`), in one batched call."""
        chosen = self.explained_items(result) if items is None else items
        if not chosen:
            return {}
        explanations = get_explainer(self.modality, method)(self, result, chosen)
        return dict(zip(chosen, explanations, strict=True))
