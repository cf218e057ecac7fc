"""Each modality's dashboard views (dxui.views): every registered modality, built in or
plugged in, names a views module that provides what the shared pages call, and a
registration that names none, a module that is not there or one that lacks part of the
protocol is one clear DxError."""

from __future__ import annotations

import pytest

from dxcore.errors import DxError
from dxcore.registry import Modality, modalities
from dxui import views
from dxui.views import MEMBERS, views_of
from tests import toy_modality as toy


def test_the_protocols_members_are_what_a_views_module_must_have():
    assert MEMBERS == ("ROW_PER_ITEM", "case_view", "patient_section",
                       "worklist_rows", "failure_gallery")


@pytest.mark.parametrize("name", [*modalities()])
def test_every_registered_modality_has_views_that_satisfy_the_protocol(name):
    module = views_of(name)

    assert module.__name__ == modalities()[name].views
    assert isinstance(module.ROW_PER_ITEM, bool)
    assert all(callable(getattr(module, member)) for member in MEMBERS[1:])


def test_the_toy_plug_in_has_its_views_in_the_test_suite():
    assert views_of(toy.MODALITY).__name__ == "tests.toy_views"


@pytest.mark.parametrize(("named", "message"), [
    ("", "has no dashboard views: its registration names none"),
    ("tests.no_such_views", "(tests.no_such_views) cannot be found"),
    ("tests.toy_modality", "(tests.toy_modality) lack ROW_PER_ITEM, case_view, "
                           "patient_section, worklist_rows, failure_gallery"),
])
def test_views_that_cannot_be_used_are_one_clear_error(monkeypatch, named, message):
    monkeypatch.setattr(views, "modality",
                        lambda name: Modality(name, toy.BeatModel, views=named))

    with pytest.raises(DxError, match="the modality 'plug-in'|The modality 'plug-in'") as raised:
        views_of("plug-in")
    assert message in str(raised.value)


def test_an_unknown_modality_is_refused_naming_the_known_ones():
    with pytest.raises(DxError, match="Unknown modality 'eeg'"):
        views_of("eeg")
