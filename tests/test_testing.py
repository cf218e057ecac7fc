"""The conformance checks the package ships (dxcore.testing): which checks a kit gets, how
the entry point names and marks them, and that a check fails a model that breaks the
contract (tests/test_conformance.py runs them on every real model)."""

from __future__ import annotations

import os

import pytest

from dxcore.errors import DxError
from dxcore.testing import (
    COMMON_BAD_INPUTS,
    BadInput,
    Kit,
    RefusedItems,
    Subject,
    check_bad_input_is_one_dx_error,
    check_kits_cover_every_modality,
    checks_of,
    cli_json,
    parametrize_with_checks,
    written,
)


def kit(modality: str, **parts) -> Kit:
    """A kit whose samples are never made (the checks here do not build subjects)."""
    return Kit(modality=modality, samples=lambda model, find, folder: [],
               example=lambda folder: written(folder, f"{modality}.txt", "x"),
               keys=frozenset({"model"}), optional_keys=frozenset(), **parts)


class Answers:
    """A model that answers everything: a contract breach for a bad input."""

    def predict(self, source):
        return "an answer"


class Crashes:
    """A model whose reader fails with a Python error instead of a DxError."""

    def predict(self, source):
        raise ValueError("could not convert string to float")


@pytest.mark.parametrize(("model", "failure"), [(Answers(), AssertionError),
                                                (Crashes(), ValueError)])
def test_a_model_that_does_not_refuse_bad_input_with_a_dx_error_fails(model, failure,
                                                                      tmp_path):
    subject = Subject(model, tmp_path, kit("record"), [], [])  # type: ignore[arg-type]
    with pytest.raises(failure):
        check_bad_input_is_one_dx_error(subject, tmp_path, COMMON_BAD_INPUTS["a number"])


def test_a_kit_gets_the_join_and_refusal_checks_only_when_it_has_them():
    plain = [check.name for check in checks_of(kit("record"))]
    assert "one_input_of_n_items_equals_the_n_inputs" not in plain
    assert "an_input_of_refused_items_answers_each_with_its_error" not in plain
    full = [check.name for check in checks_of(kit(
        "record", join=lambda samples: samples[0],
        refused=RefusedItems(lambda model: None, 1, frozenset({"row"}))))]
    assert set(full) - set(plain) == {"one_input_of_n_items_equals_the_n_inputs",
                                      "an_input_of_refused_items_answers_each_with_its_error"}


def test_every_other_kits_example_is_a_bad_input_and_every_method_is_checked():
    names = [check.name for check in checks_of(
        kit("record", bad_inputs={"a mute file": BadInput(lambda folder: b"")}),
        [kit("record"), kit("ecg"), kit("image")])]
    bad = [name.removeprefix("bad_input_is_one_dx_error-") for name in names
           if name.startswith("bad_input_is_one_dx_error-")]
    assert bad == [*COMMON_BAD_INPUTS, "a mute file", "a file of the ecg modality",
                   "a file of the image modality"]
    assert "the_explainer_gives_the_items_input_shape-ig" in names


def test_the_entry_point_names_each_check_by_model_and_marks_the_slow_ones():
    mark = parametrize_with_checks({"tiny-cxr": kit("image", slow_methods=frozenset(
        {"scorecam"}))})
    assert mark.args[0] == ("model_id", "check")
    params = {param.id: param for param in mark.args[1]}
    assert "tiny-cxr-bad_input_is_one_dx_error-a number" in params
    slow = {name for name, param in params.items()
            if any(m.name == "slow" for m in param.marks)}
    assert slow == {"tiny-cxr-the_explainer_gives_the_items_input_shape-scorecam"}


def test_a_kit_of_a_modality_nobody_registered_is_refused():
    with pytest.raises(DxError, match="Unknown modality 'never-registered'"):
        checks_of(kit("never-registered"))


def test_a_registered_modality_without_a_kit_fails_the_coverage_check():
    with pytest.raises(AssertionError, match="'ecg'"):
        check_kits_cover_every_modality([kit("image"), kit("record")])


def test_the_command_line_runs_on_the_given_models_folder_and_restores_the_environment(
        tmp_path, monkeypatch):
    monkeypatch.setenv("DX_MODELS_DIR", "/somewhere/else")
    status, lines, err = cli_json(tmp_path, "models", "--json")
    assert (status, lines) == (0, []) and "Traceback" not in err
    assert os.environ["DX_MODELS_DIR"] == "/somewhere/else"
