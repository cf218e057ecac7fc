"""The registry: which modalities exist, which models are shipped, which recipe trains each.

Every ``saved_models/*/card.json`` is one model; its ``modality`` names the
:class:`~dxcore.contract.DxModel` subclass that runs it. A modality registers itself
(:func:`register_modality`, from its package's ``__init__``) with its model class and the
recipes that train its models; this module imports only the built-in ones, by name, the
first time a modality is needed (:data:`BUILT_IN`).

Example::

    from dxcore.registry import list_cards
    [card.id for card in list_cards()]
    # -> ['ckd', 'cxr-pneumonia', 'ecg-beats', 'heart-disease', 'leukemia-golub']
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from dxcore.cards import CARD_FILE, ModelCard, read_card
from dxcore.datasets import PROJECT_ROOT
from dxcore.errors import DxError

if TYPE_CHECKING:  # the contract imports Keras: listing the cards needs neither
    from dxcore.contract import DxModel, Result
    from dxcore.formats import FileFormat


@dataclass(frozen=True)
class Modality:
    """A modality: its model class and ``{model id: recipe module}`` for the models it
    trains. A recipe module has ``TARGETS``, ``train(out_dir, data, epochs, seed)`` and
    ``evaluate(model, data, resamples)``, optionally ``table(metrics)``; a recipe with
    ``test_predictions(model, data)`` (and ``calibration_predictions``) takes them in
    ``evaluate(..., cases=...)``, so that the test split goes through the network once.

    The rest is how the shared surfaces show it, so that none of them names a modality:
    modules are named rather than imported where importing them costs (Streamlit, fpdf,
    Flower), and are imported by the surface that needs them."""

    name: str
    model_class: type[DxModel]
    recipes: dict[str, str] = field(default_factory=dict)
    label: str = ""
    # The dashboard's views of this modality: a module of ``dxui`` (or a plug-in's own),
    # named rather than imported, so that the core never imports Streamlit.
    views: str = ""
    # Its file formats, each with the one sniffer that the drop zone, its reader and the
    # command line ask (dxcore.formats).
    formats: tuple[FileFormat, ...] = ()
    # What the drop zone calls one of its inputs ("ECG record"), and how it names what it
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
# The built-in modalities by name, each package imported the first time it is asked for:
# listing the cards imports none, and a chest X-ray's prediction imports only the image
# package (which runs its compiled network without TensorFlow).
# In the order the drop zone names what it reads.
BUILT_IN = {"image": "dxcore.images", "ecg": "dxcore.ecg", "record": "dxcore.records"}


def _registered(name: str | None = None) -> dict[str, Modality]:
    """The registered modalities, after importing the built-in package of ``name`` (of
    every built-in one when ``name`` is None) if not yet."""
    for key, package in BUILT_IN.items():
        if key not in _MODALITIES and (name is None or name == key):
            import_module(package)
    return _MODALITIES


def register_modality(modality: Modality) -> None:
    _MODALITIES[modality.name] = modality


def is_registered(name: str) -> bool:
    """Whether the modality ``name`` is registered already (its package imported)."""
    return name in _MODALITIES


def modalities() -> dict[str, Modality]:
    return dict(_registered())


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


def models_dir() -> Path:
    """``$DX_MODELS_DIR`` if set, else the repository's ``saved_models/``."""
    return Path(os.environ.get("DX_MODELS_DIR") or PROJECT_ROOT / "saved_models")


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
