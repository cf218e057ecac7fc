"""Model cards: the machine-readable facts shipped beside every model's weights.

After Mitchell M et al., "Model Cards for Model Reporting", FAT* 2019, with the layout of
MONAI bundle metadata and Hugging Face model cards. A card is the JSON file
``saved_models/<id>/card.json`` in the versioned format ``schema_version`` 2.0, described by
the JSON Schema ``dxcore/card_schema.json`` and validated whenever a card is read or
written (writing, which only training and the commands that add to a card do, is
:mod:`dxcore.card_writing`). Its parts:

- documentation for people: ``name``, ``task``, ``intended_use``, ``limitations``,
  ``methods`` (how the input is read and the parameters were chosen, in words), the
  ``training_data`` (``dataset_id``, ``licence`` and ``references`` as fields), the
  ``software`` the model was trained with, ``validation_metrics``, ``test_metrics`` and
  ``targets``;
- ``runtime``: every parameter inference reads (decision rule, calibration temperature,
  input side or record fields, imputation, atypicality quantiles, explainer layer). Code
  reads them only through :class:`ModelCard`'s accessors;
- ``interface``: the network's inputs and outputs (name, dtype, shape, value range,
  channels), checked against the network by :func:`verify_interface`; the layer the
  saliency maps read (``runtime.explainer_layer``) is checked to exist whenever the network
  loads (:func:`verify_explainer_layer`);
- ``weights_sha256``, which pins the weights file, so that a swapped or damaged weights
  file is refused instead of silently used. A long record field list lives in its own file
  beside the card (``runtime.input.fields_file``, pinned by its SHA-256 too), a per-epoch
  training log in ``training.log_file``.

A card may state ``targets``: the test-split figures its model was built to reach,
e.g. ``{"accuracy": {"at_least": 0.88}}``. :meth:`ModelCard.target_checks` compares them
with the card's test metrics, so that a model below a target says so wherever it is shown.

Example:
    >>> card = ModelCard({"test_metrics": {"auc": {"value": 0.96}, "accuracy": {"value": 0.857}},
    ...                   "targets": {"auc": {"at_least": 0.96}, "accuracy": {"at_least": 0.88}}},
    ...                  Path("."))
    >>> [(check.metric, check.met) for check in card.target_checks()]
    [('auc', True), ('accuracy', False)]
    >>> card.unmet_targets()[0].describe()
    'accuracy 0.857 (target at least 0.88)'
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dxcore.errors import DxError

if TYPE_CHECKING:
    import keras

SCHEMA_VERSION = "2.0"
CARD_FILE = "card.json"
SCHEMA_FILE = Path(__file__).with_name("card_schema.json")
# Documentation and runtime sections every card has (the schema's top-level "required").
REQUIRED_FIELDS = (
    "schema_version", "id", "name", "modality", "task", "class_names", "licence",
    "intended_use", "limitations", "date", "software", "training_data", "interface", "runtime",
    "test_metrics", "weights_file", "weights_sha256",
)
# How the schema's patterns for the files a card names begin: no path separator.
_FILE_NAME_PATTERN = "^[^/\\\\]+"


def named_files(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, file name) of every file a card names beside itself: the weights, a record
    model's field list, the domain and population guards' parameters, the compiled network,
    the label-shift calibration cases, the training log, the test report."""
    runtime = fields.get("runtime") or {}
    candidates = [
        ("weights_file", fields.get("weights_file")),
        ("runtime.input.fields_file", (runtime.get("input") or {}).get("fields_file")),
        ("runtime.domain_guard.parameters_file",
         (runtime.get("domain_guard") or {}).get("parameters_file")),
        ("runtime.population.image_guard.parameters_file",
         ((runtime.get("population") or {}).get("image_guard") or {}).get("parameters_file")),
        ("runtime.compiled.file", (runtime.get("compiled") or {}).get("file")),
        ("runtime.label_shift.cases_file", (runtime.get("label_shift") or {}).get("cases_file")),
        ("training.log_file", (fields.get("training") or {}).get("log_file")),
        ("test_report.file", (fields.get("test_report") or {}).get("file")),
        ("gene_symbols.file", (fields.get("gene_symbols") or {}).get("file")),
    ]
    return [(field, name) for field, name in candidates if isinstance(name, str)]


def leads_outside(folder: Path, name: str) -> bool:
    """Whether ``folder / name``, links followed, lies outside ``folder`` (``../x``, an
    absolute path, or a link to elsewhere)."""
    return not (folder / name).resolve().is_relative_to(folder.resolve())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- the schema --------------------------------------------------------------------------
@cache
def card_schema() -> dict[str, Any]:
    """The JSON Schema of the card format (``dxcore/card_schema.json``)."""
    return json.loads(SCHEMA_FILE.read_text())


@cache
def _validator(definition: str | None = None):
    from jsonschema import Draft202012Validator

    schema = card_schema()
    if definition is not None:  # one of the schema's $defs, its references resolved within
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"],
                  "$ref": f"#/$defs/{definition}"}
    return Draft202012Validator(schema)


def _field_name(path: Iterable[Any]) -> str:
    """``runtime.decision.threshold``, ``interface.inputs[0].shape``."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _schema_problem(fields: Any, definition: str | None = None) -> tuple[str, str] | None:
    """The most relevant violation of the schema as (field, what is wrong), else None."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(definition).iter_errors(fields))
    if error is None:
        return None
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            return _field_name([*path, missing[0]]), "missing"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        if extra:
            return _field_name([*path, extra[0]]), "not a field of this card format"
    if error.validator == "pattern" and error.validator_value.startswith(_FILE_NAME_PATTERN):
        return _field_name(path), f"{error.instance!r} is not a file name beside the card " \
            "(a path or folder is not allowed)"
    return _field_name(path) or "(the card)", error.message


def _semantic_problem(fields: dict[str, Any], folder: Path) -> tuple[str, str] | None:
    """What the schema cannot say: cross-references between fields and to files."""
    classes = fields["class_names"]
    runtime = fields["runtime"]
    decision = runtime["decision"]
    if "positive_class" in decision and decision["positive_class"] not in classes:
        return "runtime.decision.positive_class", f"{decision['positive_class']!r} is not " \
            "one of class_names"
    unknown = sorted(set(decision.get("log_offsets") or {}) - set(classes))
    if unknown:
        return "runtime.decision.log_offsets", f"{unknown[0]!r} is not one of class_names"
    quantiles = runtime.get("atypicality_quantiles")
    if quantiles is not None and any(b < a for a, b in zip(quantiles, quantiles[1:], strict=False)):
        return "runtime.atypicality_quantiles", "not in non-decreasing order"
    shift = runtime.get("label_shift") or {}
    for part in ("training_prior", "bias"):
        if part in shift and sorted(shift[part]) != sorted(classes):
            return f"runtime.label_shift.{part}", "its classes are not class_names"
    if "training_prior" in shift and abs(sum(shift["training_prior"].values()) - 1) > 1e-4:
        return "runtime.label_shift.training_prior", "its shares do not add up to 1"
    outputs = {o["name"]: o for o in fields["interface"]["outputs"]}
    logits = outputs.get("logits")
    if logits is None:
        return "interface.outputs", "no output named 'logits'"
    if logits["shape"][-1] != len(classes):
        return "interface.outputs", f"'logits' has {logits['shape'][-1]} classes, " \
            f"class_names {len(classes)}"
    for field, name in named_files(fields):
        if leads_outside(folder, name):
            return field, f"{name!r} leads outside the model's folder"
    fields_file = (runtime.get("input") or {}).get("fields_file")
    if fields_file is not None and not (folder / fields_file).is_file():
        return "runtime.input.fields_file", f"{fields_file} is not beside the card"
    return None


def validate_card(fields: Any, where: Path | str = "") -> None:
    """Raise one :class:`DxError` naming the first field of ``fields`` that breaks the card
    format (the JSON Schema, then the cross-references the schema cannot express)."""
    label = f"The model card {where}".rstrip()
    if not isinstance(fields, dict):
        raise DxError(f"{label} is not a JSON object.")
    version = fields.get("schema_version")
    if version != SCHEMA_VERSION:
        found = "has no schema_version (a card older than format 2.0)" if version is None \
            else f"has schema_version {version!r}"
        raise DxError(f"{label} {found}; this version of dxcore reads format "
                      f"{SCHEMA_VERSION}. Retrain the model or update the card.")
    problem = _schema_problem(fields) or _semantic_problem(fields, Path(where).parent)
    if problem is not None:
        field, what = problem
        raise DxError(f"{label} is not valid: field '{field}': {what}.")


@cache
def fields_file_content(path: Path, sha256: str, what: str) -> list[dict[str, Any]]:
    """A field-list file's entries, validated; once per content (``sha256``)."""
    try:
        content = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise DxError(f"{what} cannot be read: {error}") from error
    problem = _schema_problem(content, "fields_file")
    if problem is not None:
        raise DxError(f"{what} is not valid: field '{problem[0]}': {problem[1]}.")
    return content["fields"]


# --- metrics and targets -----------------------------------------------------------------
# How a metric is named for people: on the pages, and in the README's models table.
METRIC_LABELS = {
    "auc": "AUC",
    "accuracy": "Accuracy",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "macro_f1": "Macro F1",
    "ece": "Calibration error (ECE)",
    "misclassified": "Wrongly classified test cases",
    "answered": "Cases answered",
    "coverage_90": "90% set coverage",
}


def metric_label(name: str) -> str:
    """``"auc"`` -> ``"AUC"``, ``"S_ppv"`` -> ``"S PPV"``, ``"V_sensitivity"`` ->
    ``"V sensitivity"``, ``"auc_at_hungary"`` -> ``"AUC at Hungary"`` (a metric measured at
    one site of a model trained across sites)."""
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    measure, at, site = name.partition("_at_")
    if at:
        return f"{metric_label(measure)} at {site.replace('_', ' ').title()}"
    label, _, measure = name.rpartition("_")
    if label and measure in ("ppv", "f1"):
        return f"{label} {measure.upper()}"
    return name.replace("_", " ")


@dataclass(frozen=True)
class TargetCheck:
    """One target of a card against the measured test metric."""

    metric: str
    value: float | None  # None: not measured
    bound: float
    direction: Literal["at_least", "at_most"]

    @property
    def met(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.bound if self.direction == "at_least" else \
            self.value <= self.bound

    def describe(self, label: str | None = None) -> str:
        """``'accuracy 0.857 (target at least 0.88)'``; ``label`` names the metric."""
        measured = "not measured" if self.value is None else f"{self.value:.3g}"
        return (f"{label or self.metric} {measured} "
                f"(target {self.direction.replace('_', ' ')} {self.bound:g})")


# --- the card ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelCard:
    """A parsed card; ``folder`` is where the card and its weights live. Documentation
    fields are read as ``card["task"]``; runtime parameters only through the accessors."""

    fields: dict[str, Any]
    folder: Path

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    @property
    def id(self) -> str:
        return self.fields["id"]

    @property
    def class_names(self) -> list[str]:
        return list(self.fields["class_names"])

    def class_label(self, name: str) -> str:
        """A class code as people read it (the card's optional ``class_labels``), e.g.
        ``"ckd"`` -> ``"chronic kidney disease"``; the code itself when it has none."""
        return (self.fields.get("class_labels") or {}).get(name, name)

    @cached_property
    def gene_symbols(self) -> dict[str, str]:
        """Probe id -> gene symbol (the optional ``gene_symbols`` file beside the card);
        empty without one, or when the file does not match its checksum (display only)."""
        entry = self.fields.get("gene_symbols")
        if entry is None:
            return {}
        path = self.beside(entry["file"], "gene_symbols.file")
        if not path.is_file() or sha256_of(path) != entry["sha256"]:
            return {}
        return json.loads(path.read_text())

    @property
    def runtime(self) -> dict[str, Any]:
        """The card's runtime section (prefer the accessors below)."""
        return self.fields.get("runtime") or {}

    @property
    def _decision(self) -> dict[str, Any]:
        return self.runtime.get("decision") or {}

    @property
    def positive_class(self) -> str:
        """The class the decision threshold is about (``runtime.decision.positive_class``,
        else the last class)."""
        return self._decision.get("positive_class") or self.class_names[-1]

    # --- runtime parameters: what inference reads (code reads them only through these) ---
    @cached_property
    def input_spec(self) -> dict[str, Any]:
        """What preprocessing reads: an image's ``side`` and ``normalization``; a record
        model's ``fields`` (read from the card's field-list file when it has one, checked
        against its SHA-256) and ``top_fields``."""
        spec = copy.deepcopy(self.runtime.get("input") or {})
        name = spec.get("fields_file")
        if name is not None:
            spec["fields"] = self._read_fields_file(name, spec.get("fields_sha256"))
        return spec

    def _read_fields_file(self, name: str, sha256: str | None) -> list[dict[str, Any]]:
        path = self.verified_file(name, sha256, "runtime.input.fields_file", "The field list")
        what = f"The field list of model '{self.id}' ({path})"
        return copy.deepcopy(fields_file_content(path, sha256, what))

    @property
    def threshold(self) -> float | None:
        """The positive class's decision threshold (None for a log-offset rule)."""
        value = self._decision.get("threshold")
        return None if value is None else float(value)

    @property
    def temperature(self) -> float:
        """The calibration temperature the logits are divided by."""
        return float(self.runtime["calibration_temperature"])

    @property
    def log_offsets(self) -> dict[str, float] | None:
        """Per-class log-offsets of an argmax decision rule, if the card has one."""
        return self._decision.get("log_offsets")

    @property
    def imputation(self) -> dict[str, float | str]:
        """Each record field's fill value (training-split statistics)."""
        return self.runtime["imputation"]

    @property
    def atypicality_quantiles(self) -> list[float]:
        """The training cohort's out-of-fold reconstruction-error quantiles."""
        return self.runtime["atypicality_quantiles"]

    @property
    def conformal(self) -> dict[str, Any] | None:
        """The conformal prediction sets' levels and per-class minimum probabilities
        (:class:`dxcore.conformal.ConformalSets`), if the card has them."""
        return self.runtime.get("conformal")

    @property
    def label_shift(self) -> dict[str, Any] | None:
        """What adapting answers to a site's class prior reads (:mod:`dxcore.adaptation`):
        the training prior, the bias-corrected calibration and the calibration cases' file,
        if the card has them."""
        return self.runtime.get("label_shift")

    @property
    def domain_guard(self) -> dict[str, Any] | None:
        """The modality's domain-guard parameters, if the card has them."""
        return self.runtime.get("domain_guard")

    @property
    def population(self) -> dict[str, Any] | None:
        """The population guard's parameters (``runtime.population``: the age limit a DICOM
        header is checked against, the image check), if the card has them."""
        return self.runtime.get("population")

    @property
    def rhythm(self) -> dict[str, Any] | None:
        """The rhythm analysis's parameters (``runtime.rhythm``), if the card has them."""
        return self.runtime.get("rhythm")

    @property
    def compiled(self) -> dict[str, Any] | None:
        """The network compiled for inference (:mod:`dxcore.compiled`), if the card has one."""
        return self.runtime.get("compiled")

    @property
    def explainer_layer(self) -> str:
        """The layer saliency methods read (default ``last_conv``)."""
        return self.runtime.get("explainer_layer", "last_conv")

    @property
    def interface(self) -> dict[str, Any]:
        """The network's inputs and outputs as the card states them."""
        return self.fields["interface"]

    @property
    def weights_path(self) -> Path:
        return self.beside(self.fields["weights_file"], "weights_file")

    def verified_file(self, name: str, sha256: str, field: str, what: str,
                      consequence: str = "the model was not used") -> Path:
        """The side file ``name`` that the card's ``field`` names, checked against its
        ``sha256``: one :class:`DxError` naming ``what`` ("The domain guard") and its
        ``consequence`` when it is missing or has changed."""
        path = self.beside(name, field)
        label = f"{what} of model '{self.id}' ({path})"
        if not path.is_file():
            raise DxError(f"{label} is missing; {consequence}.")
        if sha256_of(path) != sha256:
            raise DxError(f"{label} does not match its model card (checksum mismatch). It may "
                          f"be damaged or replaced; {consequence}.")
        return path

    def beside(self, name: str, field: str) -> Path:
        """The file ``name`` that the card's ``field`` names, in the card's folder; one
        :class:`DxError` when it leads outside it (checked again where the file is opened:
        a link may have changed since the card was read)."""
        if leads_outside(self.folder, name):
            raise DxError(f"The model card of '{self.id}' is not valid: field '{field}': "
                          f"{name!r} leads outside the model's folder; the model was not used.")
        return self.folder / name

    # --- documentation -----------------------------------------------------------------
    def metric_text(self, name: str) -> str | None:
        """A test metric with its 95% CI as every page, the ROC legend and the README show
        it, e.g. ``"0.961 (0.946-0.974)"``; None when the card has no finite value and
        interval for it (a PPV of a class never called, a metric not measured).

        >>> ModelCard({"test_metrics": {"auc": {"value": 0.96145, "ci95": [0.9461, 0.974]},
        ...            "F_ppv": {"value": None, "ci95": None}}}, Path(".")).metric_text("auc")
        '0.961 (0.946-0.974)'
        """
        metric = (self.fields.get("test_metrics") or {}).get(name)
        if not (isinstance(metric, dict) and metric.get("ci95")
                and all(isinstance(v, int | float) and math.isfinite(v)
                        for v in (metric.get("value"), *metric["ci95"]))):
            return None
        low, high = metric["ci95"]
        return f"{metric['value']:.3f} ({low:.3f}-{high:.3f})"

    def headline(self) -> dict[str, str]:
        """Test metrics as :meth:`metric_text` gives them, e.g. ``{"auc": "0.961
        (0.946-0.974)"}``; only those named in the card's optional ``headline_metrics``,
        when it has that list."""
        chosen = self.fields.get("headline_metrics")
        shown = {name: self.metric_text(name) for name in self.fields["test_metrics"]
                 if chosen is None or name in chosen}
        return {name: text for name, text in shown.items() if text is not None}

    def target_checks(self) -> list[TargetCheck]:
        """Each of the card's ``targets`` against its test metrics, in the card's order."""
        metrics = self.fields.get("test_metrics") or {}
        checks = []
        for name, target in (self.fields.get("targets") or {}).items():
            measured = metrics.get(name)
            value = measured.get("value") if isinstance(measured, dict) else None
            direction = "at_least" if "at_least" in target else "at_most"
            checks.append(TargetCheck(name, value, float(target[direction]), direction))
        return checks

    def unmet_targets(self) -> list[TargetCheck]:
        """The targets the model does not reach on its test split."""
        return [check for check in self.target_checks() if not check.met]

    def verify_weights(self) -> None:
        """Refuse weights whose SHA-256 differs from the card's."""
        if not self.weights_path.exists():
            raise DxError(f"The weights of model '{self.id}' are missing ({self.weights_path}).")
        if sha256_of(self.weights_path) != self.fields["weights_sha256"]:
            raise DxError(
                f"The weights of model '{self.id}' do not match its model card (checksum "
                "mismatch). They may be damaged or replaced; the model was not loaded."
            )


# --- the interface -----------------------------------------------------------------------
def network_io(network: keras.Model) -> tuple[list[tuple[str, str, list]],
                                               list[tuple[str, str, list]]]:
    """(name, dtype, shape) of each input, in order, and of each output, by the names the
    project uses (``network.output_names``: dict keys, or the last layer's name)."""
    def described(tensor) -> tuple[str, list]:
        return str(tensor.dtype), [None if d is None else int(d) for d in tensor.shape]

    inputs = [(tensor.name, *described(tensor)) for tensor in network.inputs]
    names = list(network.output_names)
    outputs = [(name, *described(tensor))
               for name, tensor in zip(names, network.outputs, strict=True)]
    return inputs, outputs


def verify_interface(card: ModelCard, network: keras.Model) -> None:
    """Raise one :class:`DxError` listing every difference between the card's
    ``interface`` and ``network``: the inputs' names, dtypes and shapes in order (and that
    named channels match the last axis), the outputs' by name (after MONAI's
    ``verify_net_in_out``)."""
    stated = card.interface
    inputs, outputs = network_io(network)
    problems = []
    if len(inputs) != len(stated["inputs"]):
        problems.append(f"the network has {len(inputs)} inputs, the card "
                        f"{len(stated['inputs'])}")
    for k, (spec, (name, dtype, shape)) in enumerate(zip(stated["inputs"], inputs,
                                                          strict=False)):
        where = f"input {k} '{spec['name']}'"
        for key, actual in (("name", name), ("dtype", dtype), ("shape", shape)):
            if spec[key] != actual:
                problems.append(f"{where}: {key} {actual!r} in the network, {spec[key]!r} in "
                                "the card")
        channels = spec.get("channels")
        if channels is not None and len(channels) != shape[-1]:
            problems.append(f"{where}: {len(channels)} channels named for a last axis of "
                            f"{shape[-1]}")
    by_name = {name: (dtype, shape) for name, dtype, shape in outputs}
    stated_outputs = {spec["name"]: spec for spec in stated["outputs"]}
    for name in sorted(set(by_name) ^ set(stated_outputs)):
        side = "the network" if name in by_name else "the card"
        problems.append(f"output '{name}' only in {side}")
    for name in sorted(set(by_name) & set(stated_outputs)):
        for key, actual in zip(("dtype", "shape"), by_name[name], strict=True):
            if stated_outputs[name][key] != actual:
                problems.append(f"output '{name}': {key} {actual!r} in the network, "
                                f"{stated_outputs[name][key]!r} in the card")
    if problems:
        raise DxError(f"The network of model '{card.id}' does not match its card's "
                      f"interface: {'; '.join(problems)}.")


def verify_explainer_layer(card: ModelCard, network: keras.Model) -> None:
    """Refuse a network without the layer the card's ``runtime.explainer_layer`` names (the
    layer Grad-CAM and the other saliency maps read), with one :class:`DxError` naming the
    field: when the network loads, not when a clinician first asks for an explanation. A
    card that names no layer (a record model's) has nothing to check."""
    if "explainer_layer" not in card.runtime:
        return
    try:
        network.get_layer(card.explainer_layer)
    except ValueError:  # Keras's answer for a name no layer has
        raise DxError(f"The model card of '{card.id}' is not valid: field "
                      f"'runtime.explainer_layer': the network has no layer named "
                      f"{card.explainer_layer!r}; the model was not loaded.") from None


# --- reading -----------------------------------------------------------------------------
def read_card(path: Path) -> ModelCard:
    """The card at ``path``, validated; one :class:`DxError` naming the field otherwise."""
    try:
        fields = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise DxError(f"The model card {path} cannot be read: {error}") from error
    validate_card(fields, path)
    return ModelCard(fields, path.parent)
