"""What each built-in modality registers for the shared surfaces (dxcore.registry.Modality):
its file formats with their sniffers, the drop zone's words for its inputs, its PDF report
sections, its dataset loaders inside its own package, its commands and case-file template
where it has them. The toy plug-in (tests/test_toy_modality.py) proves the same from
outside dxcore."""

from __future__ import annotations

from importlib import import_module

import pytest

from dxcore.formats import FALLBACK, SIGNATURE, FileFormat
from dxcore.pdf_report import Sections
from dxcore.registry import BUILT_IN, modality, modality_label

MODALITIES = list(BUILT_IN)


@pytest.mark.parametrize("name", MODALITIES)
def test_a_modality_registers_its_formats_and_the_drop_zones_words(name):
    registered = modality(name)
    assert registered.formats and all(isinstance(known, FileFormat)
                                      for known in registered.formats)
    assert all(SIGNATURE <= known.order <= FALLBACK and known.extensions
               for known in registered.formats)
    assert registered.input_label and registered.input_text.startswith(("a ", "an "))
    assert registered.per_patient >= 1


@pytest.mark.parametrize("name", MODALITIES)
def test_its_word_is_known_before_its_package_is_imported(name):
    """The home page's models table names a built-in modality from BUILT_IN (importing
    its package would import TensorFlow): the word its registration gives."""
    assert modality(name).label == BUILT_IN[name].label == modality_label(name)


@pytest.mark.parametrize("name", MODALITIES)
def test_its_report_sections_and_dataset_loaders_are_its_own(name):
    registered = modality(name)
    assert isinstance(import_module(registered.report).SECTIONS, Sections)
    package = BUILT_IN[name].package
    assert registered.report.startswith(f"{package}.")
    for loader in registered.datasets:
        module = import_module(loader)
        assert module.__doc__, loader
        # the image and ECG loaders live in their package; the case-record sets stay
        # shared (dxcore.datasets), read by the recipes and the federation alike
        assert loader.startswith((f"{package}.", "dxcore.datasets."))


def test_commands_and_the_case_file_are_the_case_records():
    records = modality("record")
    assert callable(import_module(records.commands).add_commands)
    assert callable(records.case_file)
    assert not modality("image").commands and modality("ecg").case_file is None
