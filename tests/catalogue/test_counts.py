"""The catalogue's size: at least 150 bad inputs across the families, each family
represented (issue 11). Counts every module-level list of :class:`BadInput` cases."""

from __future__ import annotations

import importlib
import pkgutil

import tests.catalogue as catalogue
from tests.catalogue import BadInput

FAMILIES = ("images", "cards", "ecg", "records")
MINIMUM = 150


def catalogue_cases() -> dict[str, list[BadInput]]:
    """``{family: its distinct cases}``, a family being a ``test_<family>.py`` module."""
    families = {}
    for module_info in pkgutil.iter_modules(catalogue.__path__):
        if not module_info.name.startswith("test_") or module_info.name == "test_counts":
            continue
        module = importlib.import_module(f"tests.catalogue.{module_info.name}")
        distinct = {id(case): case for value in vars(module).values() if isinstance(value, list)
                    for case in value if isinstance(case, BadInput)}
        families[module_info.name.removeprefix("test_")] = list(distinct.values())
    return families


def test_the_catalogue_holds_150_cases_across_every_family():
    counts = {family: len(cases) for family, cases in catalogue_cases().items()}
    print(counts, sum(counts.values()))
    assert set(FAMILIES) <= set(counts), counts
    assert all(counts[family] > 0 for family in FAMILIES), counts
    assert sum(counts.values()) >= MINIMUM, counts


def test_case_names_are_unique_within_each_family():
    for family, cases in catalogue_cases().items():
        names = [case.name for case in cases]
        assert len(names) == len(set(names)), family
