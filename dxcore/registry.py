"""The registry: which modalities exist, which models are shipped, which recipe trains each.

Every ``saved_models/*/card.json`` is one model; its ``modality`` names the
:class:`~dxcore.contract.DxModel` subclass that runs it. A modality registers itself
(:func:`register_modality`, from its package's ``__init__``) with its model class and the
recipes that train its models; this module imports only the built-in ones, by name, the
first time a modality is needed (:data:`BUILT_IN`).

A name is registered once (:mod:`dxcore.registration`): a second modality under a name
already taken is refused with a :class:`DxError`, unless it is the same registration made
again (its package imported a second time) or ``replace=True`` says so.

A recipe is a module that follows :class:`Recipe`, checked by :func:`check_recipe`.

Example::

    from dxcore.registry import list_cards
    [card.id for card in list_cards()]
    # -> ['ckd', 'cxr-pneumonia', 'ecg-beats', 'heart-disease', 'leukemia-golub']
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from dxcore.cards import CARD_FILE, ModelCard, read_card
from dxcore.errors import DxError
from dxcore.paths import models_dir
from dxcore.registration import check_unclaimed

if TYPE_CHECKING:  # the contract imports Keras: listing the cards needs neither
    from dxcore.contract import DxModel, Result
    from dxcore.formats import FileFormat


@runtime_checkable
class Recipe(Protocol):
    """The training and evaluation recipe of a model: a module (named in its modality's
    :attr:`Modality.recipes`) with

    - ``TARGETS``: ``{metric: {"at_least" | "at_most": bound}}``, the test-split figures the
      model is built to reach (written into its card);
    - ``train(out_dir, data=None, epochs=..., seed=0)``: trains, saves the weights in
      ``out_dir`` and returns the card's fields;
    - ``evaluate(model, data=None, resamples=2000)``: the test metrics.

    and optionally the hooks of :data:`RECIPE_HOOKS`, each called as it states: a recipe
    with ``test_predictions`` (and ``calibration_predictions``) takes them in
    ``evaluate(..., cases=...)``, so that the test split goes through the network once; a
    recipe whose metrics need their own layout gives ``table(metrics)``.
    :func:`check_recipe` checks a recipe against all of it."""

    TARGETS: dict[str, dict[str, float]]

    def train(self, out_dir: Path, data: str | None = None, epochs: int | None = None,
              seed: int = 0) -> dict[str, Any]: ...

    def evaluate(self, model: DxModel, data: str | None = None,
                 resamples: int = 2000) -> dict[str, Any]: ...


# How the project calls each part of a recipe: positional arguments, then keywords. The
# optional hooks: the split a page or test reads cases from, the test and calibration
# cases (dxcore.predictions.Predictions), decisions that read more than each case's
# probabilities, prediction sets calibrated the recipe's own way, the guards' fitting and
# measurement, and a table of the metrics.
RECIPE_CALLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "train": (("out_dir",), ("data", "epochs", "seed")),
    "evaluate": (("model", "data", "resamples"), ()),
}
RECIPE_HOOKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "split": (("data",), ()),
    "test_predictions": (("model", "data"), ()),
    "calibration_predictions": (("model", "data"), ()),
    "test_decisions": (("model", "cases", "data"), ()),
    "prediction_sets": (("model", "data"), ()),
    "fit_domain_guard": (("model", "data"), ()),
    "evaluate_domain": (("model", "data"), ()),
    "fit_population_guard": (("model", "data"), ()),
    "evaluate_population": (("model", "data"), ()),
    "table": (("metrics",), ()),
}


def _call_problem(recipe: Any, name: str, positional: tuple[str, ...],
                  keywords: tuple[str, ...]) -> str | None:
    """Why ``recipe.name`` cannot be called as the project calls it, else None."""
    hook = getattr(recipe, name)
    if not callable(hook):
        return f"{name} is not a function"
    try:
        inspect.signature(hook).bind(*positional, **dict.fromkeys(keywords))
    except TypeError as error:
        called = ", ".join([*positional, *(f"{k}=..." for k in keywords)])
        return f"{name}({called}) cannot be called ({error})"
    except ValueError:  # a callable without a readable signature: nothing to check
        return None
    return None


def _targets_problem(targets: Any) -> str | None:
    if not isinstance(targets, dict):
        return "TARGETS is not a dict of metric -> {'at_least' or 'at_most': bound}"
    for metric, target in targets.items():
        if not (isinstance(target, dict) and len(target) == 1
                and set(target) <= {"at_least", "at_most"}
                and isinstance(next(iter(target.values())), int | float)):
            return f"TARGETS['{metric}'] is not {{'at_least' or 'at_most': a number}}"
    return None


def check_recipe(recipe: Any) -> None:
    """Raise one :class:`DxError` naming every way ``recipe`` (a module) departs from
    :class:`Recipe`: a missing part, ``TARGETS`` of the wrong form, or a part or hook of
    :data:`RECIPE_HOOKS` that cannot be called as the project calls it.

    >>> import types
    >>> check_recipe(types.SimpleNamespace(TARGETS={"auc": {"at_least": 0.9}},
    ...     train=lambda out_dir, data=None, epochs=1, seed=0: {},
    ...     evaluate=lambda model, data=None, resamples=2000: {}))
    >>> try:
    ...     check_recipe(types.SimpleNamespace(TARGETS={}, train=lambda out_dir: {}))
    ... except DxError as error:
    ...     print(error)
    The recipe SimpleNamespace does not follow dxcore.registry.Recipe: evaluate is missing;
    train(out_dir, data=..., epochs=..., seed=...) cannot be called (got an unexpected
    keyword argument 'data').
    """
    problems = [f"{name} is missing" for name in ("TARGETS", *RECIPE_CALLS)
                if not hasattr(recipe, name)]
    if hasattr(recipe, "TARGETS"):
        problems.append(_targets_problem(recipe.TARGETS))
    calls = {**RECIPE_CALLS, **RECIPE_HOOKS}
    if hasattr(recipe, "test_predictions"):  # its cases come back to evaluate
        calls["evaluate"] = (calls["evaluate"][0], ("cases",))
    problems += [_call_problem(recipe, name, *call) for name, call in calls.items()
                 if hasattr(recipe, name)]
    problems = [problem for problem in problems if problem]
    if problems:
        name = getattr(recipe, "__name__", type(recipe).__name__)
        raise DxError(f"The recipe {name} does not follow dxcore.registry.Recipe: "
                      f"{'; '.join(problems)}.")


@dataclass(frozen=True)
class Modality:
    """A modality: its model class and ``{model id: recipe module}`` for the models it
    trains (each recipe a :class:`Recipe`).

    The rest is how the shared surfaces show it, so that none of them names a modality:
    modules are named rather than imported where importing them costs (Streamlit, fpdf,
    Flower), and are imported by the surface that needs them."""

    name: str
    model_class: type[DxModel]
    recipes: dict[str, str] = field(default_factory=dict)
    # Its name in words, as the home page's models table gives a model's modality
    # (modality_label; a built-in one's also in BUILT_IN, read before it is imported).
    label: str = ""
    # The dashboard's views of this modality: a module of ``dxui`` (or a plug-in's own),
    # named rather than imported, so that the core never imports Streamlit.
    views: str = ""
    # Its file formats, each with the one sniffer that the drop zone, its reader and the
    # command line ask (dxcore.formats).
    formats: tuple[FileFormat, ...] = ()
    # What the drop zone, the worklist and the patient view call one of its inputs ("ECG
    # record": "ECG record: 100 — read by ecg-beats"), and how it names what it
    # reads when a file is none of it ("an ECG record (WFDB .hea with its .dat, EDF, or
    # CSV)"), with a hint on files it reads only with others.
    input_label: str = ""
    input_text: str = ""
    input_hint: str = ""
    # How many of its inputs one patient's drop may hold (a frontal and a lateral film;
    # one ECG record): more is a worklist (dxcore.intake.Intake.one_patient).
    per_patient: int = 1
    # How well an answer its guard accepted fits the model's domain, lower better (None:
    # the model has no guard): when several of its models accept an input, the
    # best-fitting one answers (dxcore.intake.predict_cases).
    fit: Callable[[DxModel, Result], float | None] | None = None
    # A module whose ``SECTIONS`` (a dxcore.pdf_report.Sections) draws its part of a PDF
    # report; "": the sections every classifier shares.
    report: str = ""
    # Its dataset loaders (modules): the public datasets its models are trained and
    # tested on.
    datasets: tuple[str, ...] = ()
    # A module whose ``add_commands(commands, say)`` adds its own subcommands to
    # ``python -m dxcore`` (and whose ``predict_options(model, args)``, if any, reads
    # the predict options it needs from files), imported only for one of them.
    commands: str = ""
    # The columns of a model's case-file template (dxcore.templates.TemplateColumn; not
    # imported: the templates read the registry), for a modality that reads tables of
    # cases; None: its models have none.
    case_file: Callable[[ModelCard], list] | None = None


_MODALITIES: dict[str, Modality] = {}


class BuiltIn(NamedTuple):
    """A built-in modality before its package is imported: the package, and its name in
    words (its registration's :attr:`Modality.label`, which tests/test_registrations.py
    checks), for the home page's models table, which imports no modality (TensorFlow)."""

    package: str
    label: str


# The built-in modalities by name, each package imported the first time it is asked for:
# listing the cards imports none, and a chest X-ray's prediction imports only the image
# package (which runs its compiled network without TensorFlow).
# In the order the drop zone names what it reads.
BUILT_IN = {"image": BuiltIn("dxcore.images", "Image"), "ecg": BuiltIn("dxcore.ecg", "ECG"),
            "record": BuiltIn("dxcore.records", "Record")}


def _registered(name: str | None = None) -> dict[str, Modality]:
    """The registered modalities, after importing the built-in package of ``name`` (of
    every built-in one when ``name`` is None) if not yet."""
    for key, built_in in BUILT_IN.items():
        if key not in _MODALITIES and (name is None or name == key):
            import_module(built_in.package)
    return _MODALITIES


def register_modality(modality: Modality, replace: bool = False) -> None:
    """Register ``modality`` under its name; a name another model class holds already is
    refused (:mod:`dxcore.registration`), unless ``replace``."""
    held = _MODALITIES.get(modality.name)
    check_unclaimed(f"modality '{modality.name}'", None if held is None else held.model_class,
                    modality.model_class, replace)
    _MODALITIES[modality.name] = modality


def is_registered(name: str) -> bool:
    """Whether the modality ``name`` is registered already (its package imported)."""
    return name in _MODALITIES


def modalities() -> dict[str, Modality]:
    return dict(_registered())


def modality_label(name: str) -> str:
    """The modality ``name`` in words, importing nothing: its registration's label once
    registered, a built-in one's before its package is imported, else the name title-cased
    (the card of a plug-in not imported in this process).

    >>> modality_label("ecg"), modality_label("eeg-sleep")
    ('ECG', 'Eeg-Sleep')
    """
    registered = _MODALITIES.get(name)
    if registered is not None and registered.label:
        return registered.label
    return BUILT_IN[name].label if name in BUILT_IN else name.title()


def modality(name: str) -> Modality:
    if name not in _registered(name):
        raise DxError(f"Unknown modality '{name}'. Known: "
                      f"{', '.join(_registered()) or 'none'}.")
    return _MODALITIES[name]


def recipe_for(model_id: str) -> ModuleType:
    """The training and evaluation recipe of ``model_id``."""
    for registered in _registered().values():
        if model_id in registered.recipes:
            return import_module(registered.recipes[model_id])
    known = ", ".join(m for r in _MODALITIES.values() for m in r.recipes)
    raise DxError(f"No training recipe for '{model_id}'. Known: {known}.")


def list_cards(folder: Path | None = None) -> list[ModelCard]:
    folder = folder or models_dir()
    return [read_card(path) for path in sorted(folder.glob(f"*/{CARD_FILE}"))]


def get_card(model_id: str, folder: Path | None = None) -> ModelCard:
    for card in list_cards(folder):
        if card.id == model_id:
            return card
    known = ", ".join(card.id for card in list_cards(folder)) or "none"
    raise DxError(f"There is no model called '{model_id}'. Shipped models: {known}.")


def model_for(card: ModelCard) -> DxModel:
    """The model ``card`` describes. A card of a modality not registered in this process is
    listed like any other (plug-ins register their own modality when imported) and refused
    here, when it is used, naming the field."""
    if card["modality"] not in _registered(card["modality"]):
        raise DxError(f"Unknown modality '{card['modality']}' (field 'modality' of the model "
                      f"card of '{card.id}'). Known: {', '.join(_registered()) or 'none'}.")
    return modality(card["modality"]).model_class(card)


def get_model(model_id: str, folder: Path | None = None) -> DxModel:
    """The model with this id in ``folder`` (default :func:`models_dir`, read at each
    call, so that a changed ``$DX_MODELS_DIR`` is honoured); its weights load on first use,
    once per process and folder."""
    return _cached_model(model_id, (folder or models_dir()).resolve())


@cache
def _cached_model(model_id: str, folder: Path) -> DxModel:
    return model_for(get_card(model_id, folder))


def clear_cache() -> None:
    """Forget loaded models (after retraining one in place)."""
    _cached_model.cache_clear()
