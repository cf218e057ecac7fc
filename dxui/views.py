"""Each modality's dashboard views, and the one way the shared pages reach them.

A modality names the module of its views when it registers
(:attr:`dxcore.registry.Modality.views`: ``dxui.imaging``, ``dxui.ecg``, ``dxui.records``,
or a plug-in's own module), by name, so that the core never imports Streamlit. The
worklist, the patient view and the Models page ask :func:`views_of` for that module (by
the modality's name: a case's ``kind``, a card's ``modality``) and call what
:class:`ModalityViews` lists: none of them knows a modality by its name, and a new
modality's answers show on them with no shared file changed (``tests/toy_views.py`` is the
test suite's example).

The shared parts stay shared: a case whose model gave no answer is said by
:func:`dxui.patient.outcome_section` and :mod:`dxui.worklist` before any view is asked, and
the columns every worklist row has (its label, model, sign-off) are filled in for the view.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from dxcore.errors import DxError
from dxcore.registry import modality

if TYPE_CHECKING:  # type hints only: this module is imported before any model is
    from dxcore.cards import ModelCard
    from dxcore.contract import Result
    from dxcore.intake import Outcome
    from dxcore.labels import InputLabels
    from dxui.results import Upload


class ModalityViews(Protocol):
    """What a modality's views module provides (module-level names, as a module satisfies
    a protocol). Every function draws with Streamlit and is given an answered case: a case
    its model refused or could not read never reaches it."""

    #: Whether the worklist gives each item of an input a row of its own (a table's cases),
    #: and opens that item when its row is picked; else one row per input, opening it whole.
    ROW_PER_ITEM: bool

    def case_view(self, outcome: Outcome, upload: Upload, item: int | None = None) -> None:
        """The case's answer and explanation in full, as its own page shows them (the
        worklist's drill-down); ``item``: the one item of a row picked in the worklist,
        None for the whole input."""

    def patient_section(self, outcome: Outcome, upload: Upload) -> None:
        """The same in a column of the patient view, half the page's width at most."""

    def worklist_rows(self, result: Result, card: ModelCard, base: dict[str, Any],
                      labels: InputLabels, signed: Callable[[int | None], str]
                      ) -> list[dict[str, Any]]:
        """The input's rows in the worklist (:data:`dxui.worklist.COLUMNS` and the hidden
        columns the orderings read), from ``base``: the columns every row has, filled in
        for the input as a whole. ``labels`` names a row (``labels.case(row)``) and
        ``signed(row)`` gives its sign-off (``None``: the input's)."""

    def failure_gallery(self, card: ModelCard, failures: list[dict[str, Any]]) -> None:
        """The Models page's gallery of the test cases the model got most confidently
        wrong (the report's ``failures``), read from the dataset in place; raises
        :class:`~dxcore.errors.DxError` when the dataset is not there."""


# The names a views module must have: the protocol's, read off it.
MEMBERS = tuple(dict.fromkeys(name for name in (*ModalityViews.__annotations__,
                                                *vars(ModalityViews))
                              if not name.startswith("_")))


def views_of(name: str) -> ModalityViews:
    """The views module the modality ``name`` registered; a :class:`DxError` naming what is
    missing when it registered none, or one that lacks part of :class:`ModalityViews`."""
    registered = modality(name)
    if not registered.views:
        raise DxError(f"The modality '{name}' has no dashboard views: its registration "
                      "names none (Modality.views).")
    module = _imported(registered.views, name)
    missing = [member for member in MEMBERS if not hasattr(module, member)]
    if missing:
        raise DxError(f"The dashboard views of the modality '{name}' ({registered.views}) "
                      f"lack {', '.join(missing)}.")
    return module  # type: ignore[return-value]  (checked member by member above)


def _imported(module_name: str, name: str) -> ModuleType:
    try:
        return import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is None or not module_name.startswith(error.name):
            raise  # the views module exists and one of its own imports failed: a bug
        raise DxError(f"The dashboard views of the modality '{name}' ({module_name}) "
                      "cannot be found.") from None
