"""The conformance checks every model kind passes, shipped with the package, as
scikit-learn ships ``parametrize_with_checks``: a modality built in or plugged in runs the
same checks through one entry point, :func:`parametrize_with_checks`, and MONAI's
``verify_net_in_out`` (the card's declared interface against its network) is one of them.

A modality enters through its :class:`Kit`: sample inputs from its real dataset, bad
inputs of its own, a small example file (a bad input for every other modality), the keys
of its JSON objects and the shape of its explanations. The checks, for every model:

- bad input raises :class:`DxError`, never another exception, through ``predict``,
  ``predict_many`` (in its place) and the command line (an error object per file), and
  through the case-label hook ``identities`` (or it states nothing); an input whose every
  item is refused is a result of no items with one error object per item;
- ``predict_many([a, b, c])`` equals three ``predict`` calls; one input holding the items
  of several equals them too (a table of N rows and N one-row tables);
- every JSON line is strict JSON with the keys the kit names, one probability object per
  item summing to 1, explanations only adding ``explanation`` objects that name their
  registered method;
- every registered explainer's values have the item's input shape;
- the network saved and reloaded in safe mode gives the same outputs;
- the card's interface matches the network, and the card names a registered modality, its
  explainers and a recipe that follows :class:`dxcore.registry.Recipe`.

A check that finds a breach of the contract is mended in the contract or the modality, not
weakened. Use, in a project's ``tests/test_conformance.py`` (pytest)::

    from dxcore.testing import Subject, parametrize_with_checks

    @pytest.fixture(scope="session")
    def subject(dataset, tmp_path_factory):      # model id -> Subject, built once
        ...  Subject.build(get_model(model_id).load(), models_dir(), KIT, dataset, folder)

    @parametrize_with_checks({"my-model": KIT})
    def test_my_model_keeps_the_contract(model_id, check, subject, tmp_path):
        check(subject(model_id), tmp_path)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dxcore.batching import batched_outputs
from dxcore.cards import verify_explainer_layer, verify_interface
from dxcore.contract import DxModel, Result, Source
from dxcore.errors import DxError
from dxcore.explain import default_method, explainers_for
from dxcore.labels import Identity
from dxcore.registry import check_recipe, modalities, modality, recipe_for

if TYPE_CHECKING:
    import pytest

# What finds a dataset folder by name (the test suite's ``dataset`` fixture, which skips
# when it is absent).
Finder = Callable[[str], Path]
# ECG beats round probabilities to 4 decimals, the others to 6.
PROBABILITY_TOLERANCE = 1e-3


def written(folder: Path, name: str, data: bytes | str) -> Path:
    """``data`` written to ``folder/name`` (a scratch folder): a bad or sample input file."""
    path = folder / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def first_input_without_channels(model: DxModel) -> tuple[int, ...]:
    """The shape of maps over the first network input (an image's pixels, a beat's
    samples): that input's shape less the batch and channel axes."""
    return tuple(model.network.inputs[0].shape[1:-1])


@dataclass(frozen=True)
class BadInput:
    """An input every model of a modality must refuse with a DxError; ``make(folder)``
    builds it (a file in ``folder``, bytes, an upload or a decoded input)."""

    make: Callable[[Path], Source]


@dataclass(frozen=True)
class RefusedItems:
    """An input whose every item the model refuses (a table whose cells are unreadable):
    ``make(model)`` builds it, it holds ``items`` items, and each is answered by one error
    object with the keys ``keys``."""

    make: Callable[[DxModel], Source]
    items: int
    keys: frozenset[str]


@dataclass(frozen=True)
class Kit:
    """What the checks need to know of one modality.

    ``samples(model, find, folder)``: three good inputs from the real dataset, of different
    source kinds, the first a file (the command line reads it); ``example(folder)``: a
    small file of this modality that its models answer, given to every other modality as a
    bad input; ``keys`` and ``optional_keys``: of each JSON object (the command line adds
    ``input``); ``explanation_shape(model)``: the shape of an explanation's values;
    ``join``: one input holding all the samples' items, where the modality has multi-item
    inputs; ``bad_inputs``: its own bad inputs; ``refused``: an input of refused items,
    where items can be refused one by one; ``slow_methods``: explainers whose check takes
    seconds per map (marked slow)."""

    modality: str
    samples: Callable[[DxModel, Finder, Path], list[Source]]
    example: Callable[[Path], Path]
    keys: frozenset[str]
    optional_keys: frozenset[str]
    explanation_shape: Callable[[DxModel], tuple[int, ...]] = first_input_without_channels
    join: Callable[[list[Source]], Source] | None = None
    bad_inputs: dict[str, BadInput] = field(default_factory=dict)
    refused: RefusedItems | None = None
    slow_methods: frozenset[str] = frozenset()


# Bad inputs every model must refuse, whatever its modality.
COMMON_BAD_INPUTS: dict[str, BadInput] = {
    "random bytes": BadInput(lambda folder: np.random.default_rng(0).bytes(4096)),
    "a file of random bytes": BadInput(lambda folder: written(
        folder, "noise.bin", np.random.default_rng(1).bytes(4096))),
    "an empty file": BadInput(lambda folder: written(folder, "empty.csv", b"")),
    "a missing file": BadInput(lambda folder: folder / "missing.png"),
    "two unrelated uploaded files": BadInput(lambda folder: {"a.bin": b"\x00\x01",
                                                           "b.bin": b"\x02"}),
    "nothing (None)": BadInput(lambda folder: None),
    "a number": BadInput(lambda folder: 42),
}


def bad_inputs_of(kit: Kit, kits: Iterable[Kit]) -> dict[str, BadInput]:
    """The common bad inputs, the kit's own, and a file of every other modality among
    ``kits``."""
    foreign = {f"a file of the {other.modality} modality": BadInput(other.example)
               for other in kits if other.modality != kit.modality}
    return {**COMMON_BAD_INPUTS, **kit.bad_inputs, **foreign}


@dataclass
class Subject:
    """A model under test: the model, the models folder that holds its card (what the
    command line reads), its kit, its samples and their results."""

    model: DxModel
    folder: Path
    kit: Kit
    samples: list[Source]
    results: list[Result]

    @classmethod
    def build(cls, model: DxModel, folder: Path, kit: Kit, find: Finder,
              scratch: Path) -> Subject:
        """The subject of ``model``, its samples made in ``scratch`` and predicted once."""
        if model.modality != kit.modality:
            raise ValueError(f"the kit of '{kit.modality}' given for a model of "
                             f"'{model.modality}'")
        samples = kit.samples(model, find, scratch)
        return cls(model, folder, kit, samples, [model.predict(s) for s in samples])


def assert_same_results(actual: Result, expected: Result) -> None:
    np.testing.assert_allclose(actual.probabilities, expected.probabilities, atol=1e-5)
    assert actual.decisions.tolist() == expected.decisions.tolist()


# --- the checks: each ``check(subject, scratch)``, ``scratch`` an empty folder -----------


def check_registered_modality_explainers_and_recipe(subject: Subject, scratch: Path) -> None:
    """The card names a registered modality, whose model class runs it, and its
    explainers (when it lists them) in the registry's order; the model's recipe (where its
    modality has one for it) follows :class:`dxcore.registry.Recipe`."""
    model = subject.model
    registered = modality(model.card["modality"])
    assert type(model) is registered.model_class
    listed = model.card.get("explainers")
    if listed is not None:
        assert listed == explainers_for(model.modality), "the card's explainers"
    if model.card.id in registered.recipes:
        check_recipe(recipe_for(model.card.id))


def check_bad_input_is_one_dx_error(subject: Subject, scratch: Path, bad: BadInput) -> None:
    try:
        subject.model.predict(bad.make(scratch))
    except DxError as refused:
        assert str(refused).strip(), "a DxError without words"
    else:
        raise AssertionError("the bad input was answered, not refused")


def as_upload(source: Source) -> dict[str, bytes] | None:
    """A bad input as the drop zone would hand it over, ``{file name: bytes}``; None for one
    no upload can be (a decoded input, None, a number, a missing path)."""
    if isinstance(source, dict):
        return source
    if isinstance(source, bytes):
        return {"upload.bin": source}
    if isinstance(source, Path) and source.is_file():
        return {source.name: source.read_bytes()}
    return None


def check_bad_uploads_state_no_identity(subject: Subject, scratch: Path,
                                        bad_inputs: dict[str, BadInput]) -> None:
    """The case-label hook (:mod:`dxcore.labels`) reads what the model would read: a file
    it cannot read gets a DxError (the page then labels the case by its file name) or no
    :class:`~dxcore.labels.Identity`, never another exception."""
    for name, bad in bad_inputs.items():
        upload = as_upload(bad.make(scratch))
        if upload is None:
            continue
        try:
            identities = subject.model.identities(upload)
        except DxError:
            continue
        assert all(identity == Identity() for identity in identities), name


def check_predict_many_answers_a_bad_input_in_its_place(subject: Subject,
                                                        scratch: Path) -> None:
    first, *_, last = subject.samples
    answers = subject.model.predict_many(
        [first, COMMON_BAD_INPUTS["random bytes"].make(scratch), last])
    assert [type(a) for a in answers] == [Result, DxError, Result]
    assert_same_results(answers[0], subject.results[0])
    assert_same_results(answers[2], subject.results[-1])


def cli_json(models_folder: Path, *argv: str) -> tuple[int, list[dict], str]:
    """``python -m dxcore ARGV`` in this process with ``$DX_MODELS_DIR`` at
    ``models_folder``: exit status, stdout's JSON lines (NaN or Infinity, which are not
    JSON, fail), stderr."""
    from dxcore.cli import main

    def not_json(constant: str) -> None:
        raise AssertionError(f"{constant} in the command line's output is not JSON")

    out, err = io.StringIO(), io.StringIO()
    before = os.environ.get("DX_MODELS_DIR")
    os.environ["DX_MODELS_DIR"] = str(models_folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(argv))
    finally:
        if before is None:
            del os.environ["DX_MODELS_DIR"]
        else:
            os.environ["DX_MODELS_DIR"] = before
    lines = [json.loads(line, parse_constant=not_json)
             for line in out.getvalue().splitlines() if line.strip()]
    return status, lines, err.getvalue()


def check_cli_gives_each_file_its_line_and_each_bad_file_an_error_object(
        subject: Subject, scratch: Path, bad_inputs: dict[str, BadInput]) -> None:
    """The first sample, then every bad input that is a file, in one ``predict --json``:
    the sample's lines are its ``as_json`` plus ``input``; each bad file is one error."""
    bad_files = [str(source) for bad in bad_inputs.values()
                 if isinstance(source := bad.make(scratch), Path)]
    good = str(subject.samples[0])
    status, lines, err = cli_json(subject.folder, "predict", subject.model.card.id, good,
                                  *bad_files, "--json")
    assert status == 1 and "Traceback" not in err and "Unexpected error" not in err, err
    expected = subject.results[0].as_json()
    assert lines[:len(expected)] == [{"input": good, **line} for line in expected]
    errors = lines[len(expected):]
    assert [line["input"] for line in errors] == bad_files
    # A domain guard's refusal adds how far out the input lies; an error an option would
    # mend names the option (an ECG CSV without its rate: "fs").
    assert all(set(line) - {"needs"} == {"input", "error", "code"} | (
        {"domain_score"} if line["code"] == "out_of_domain" else set()) and line["error"]
        for line in errors)


def check_an_input_of_refused_items_answers_each_with_its_error(subject: Subject,
                                                                scratch: Path) -> None:
    refused = subject.kit.refused
    result = subject.model.predict(refused.make(subject.model))
    assert len(result) == 0
    assert [set(line) for line in result.as_json()] == [set(refused.keys)] * refused.items


def check_predict_many_equals_one_predict_per_input(subject: Subject, scratch: Path) -> None:
    together = subject.model.predict_many(subject.samples)
    assert len(together) == len(subject.results)
    for batched, single in zip(together, subject.results, strict=True):
        assert_same_results(batched, single)
        assert batched.as_json() == single.as_json()


def check_one_input_of_n_items_equals_the_n_inputs(subject: Subject, scratch: Path) -> None:
    """A table of N rows gives what N one-row tables give; a file of N beats what N files
    give."""
    joined = subject.model.predict(subject.kit.join(subject.samples))
    np.testing.assert_allclose(joined.probabilities,
                               np.concatenate([r.probabilities for r in subject.results]),
                               atol=1e-5)
    assert joined.decisions.tolist() == [d for r in subject.results for d in r.decisions]


def objects_with(key: str, value: Any) -> Iterator[dict]:
    """Every dict inside ``value`` (depth first, in order) that has ``key``."""
    if isinstance(value, dict):
        if key in value:
            yield value
        for inner in value.values():
            yield from objects_with(key, inner)
    elif isinstance(value, list):
        for inner in value:
            yield from objects_with(key, inner)


def without_explanations(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_explanations(v) for k, v in value.items() if k != "explanation"}
    if isinstance(value, list):
        return [without_explanations(v) for v in value]
    return value


def check_json_lines_are_strict_with_one_probability_object_per_item(
        subject: Subject, scratch: Path) -> None:
    kit, names = subject.kit, subject.model.card.class_names
    for result in subject.results:
        lines = result.as_json()
        for line in lines:
            json.dumps(line, allow_nan=False)
            assert kit.keys <= set(line) <= kit.keys | kit.optional_keys, sorted(line)
            assert line["model"] == subject.model.card.id
        items = list(objects_with("probabilities", lines))
        assert [item["prediction"] for item in items] == result.decisions.tolist()
        for item in items:
            assert list(item["probabilities"]) == names
            total = sum(item["probabilities"].values())
            assert abs(total - 1.0) <= PROBABILITY_TOLERANCE, total


def check_explanations_only_add_an_object_to_their_items(subject: Subject,
                                                         scratch: Path) -> None:
    result = subject.results[0]
    chosen = sorted({0, len(result) - 1})
    explanations = subject.model.explain_all(result, default_method(subject.model.modality),
                                             items=chosen)
    lines = result.as_json(explanations)
    for line in lines:
        json.dumps(line, allow_nan=False)
    items = list(objects_with("probabilities", lines))
    assert [k for k, item in enumerate(items) if "explanation" in item] == chosen
    assert without_explanations(lines) == result.as_json()


def check_an_explanations_json_names_its_registered_method(subject: Subject,
                                                           scratch: Path) -> None:
    method = default_method(subject.model.modality)
    explanation = subject.model.explain(subject.results[0], method)
    assert explanation.as_json()["method"] == method


def check_the_explainer_gives_the_items_input_shape(subject: Subject, scratch: Path,
                                                    method: str) -> None:
    model, result = subject.model, subject.results[0]
    explanation = model.explain(result, method)
    assert explanation.values.shape == subject.kit.explanation_shape(model)
    assert np.isfinite(explanation.values).all()
    assert explanation.method == method and explanation.item == 0
    if len(result) > 1:  # a batch of items explains each as on its own
        batch = model.explain_all(result, method, items=[0, len(result) - 1])
        np.testing.assert_allclose(batch[0].values, explanation.values, atol=1e-4)


def check_the_saved_and_reloaded_network_gives_the_same_outputs(subject: Subject,
                                                                scratch: Path) -> None:
    import keras

    network = subject.model.network
    network.save(scratch / "network.keras")
    reloaded = keras.saving.load_model(scratch / "network.keras", safe_mode=True,
                                       compile=False)
    x = subject.results[0].model_input
    before, after = batched_outputs(network, x, 256), batched_outputs(reloaded, x, 256)
    assert set(before) == set(after)
    for name in before:
        np.testing.assert_allclose(after[name], before[name], atol=1e-6)


def check_the_cards_interface_matches_the_network_and_the_prepared_inputs(
        subject: Subject, scratch: Path) -> None:
    """The card's interface against the network (names, dtypes, shapes with a null batch
    axis, named channels: :func:`dxcore.cards.verify_interface`), the logits against the
    class names, the explainers' layer, and each prepared input against the declared shapes
    and value ranges."""
    card, network = subject.model.card, subject.model.network
    verify_interface(card, network)
    verify_explainer_layer(card, network)
    outputs = {name: tuple(t.shape) for name, t in
               zip(network.output_names, network.outputs, strict=True)}
    assert outputs["logits"][1:] == (len(card.class_names),), "logits vs class_names"
    declared = card.interface
    for result in subject.results:
        parts = result.model_input if isinstance(result.model_input, list) else \
            [result.model_input]
        assert [part.shape[1:] for part in parts] == [tuple(t.shape[1:])
                                                      for t in network.inputs]
        for k, part in enumerate(parts):
            bounds = declared["inputs"][k].get("range")
            if bounds:
                assert bounds[0] - 1e-5 <= part.min() and part.max() <= bounds[1] + 1e-5, k


# --- the entry points ---------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One check of one model: ``check(subject, scratch)``; ``slow`` when it takes seconds."""

    name: str
    run: Callable[[Subject, Path], None]
    slow: bool = False

    def __call__(self, subject: Subject, scratch: Path) -> None:
        self.run(subject, scratch)

    def __repr__(self) -> str:
        return self.name


def checks_of(kit: Kit, kits: Iterable[Kit] = ()) -> list[Check]:
    """Every check of a model of ``kit``'s modality (its modality registered: a plug-in
    imported); ``kits``: those of the other modalities, whose example files are bad inputs
    here."""
    modality(kit.modality)  # a built-in package is imported, an unknown name refused
    bad_inputs = bad_inputs_of(kit, kits)
    checks = [Check("registered_modality_explainers_and_recipe",
                    check_registered_modality_explainers_and_recipe)]
    checks += [Check(f"bad_input_is_one_dx_error-{name}",
                     partial(check_bad_input_is_one_dx_error, bad=bad))
               for name, bad in bad_inputs.items()]
    plain = [check_predict_many_answers_a_bad_input_in_its_place,
             check_predict_many_equals_one_predict_per_input,
             check_json_lines_are_strict_with_one_probability_object_per_item,
             check_explanations_only_add_an_object_to_their_items,
             check_an_explanations_json_names_its_registered_method,
             check_the_saved_and_reloaded_network_gives_the_same_outputs,
             check_the_cards_interface_matches_the_network_and_the_prepared_inputs]
    if kit.refused is not None:
        plain.append(check_an_input_of_refused_items_answers_each_with_its_error)
    if kit.join is not None:
        plain.append(check_one_input_of_n_items_equals_the_n_inputs)
    checks += [Check(check.__name__.removeprefix("check_"), check) for check in plain]
    checks += [Check(name.removeprefix("check_"), partial(check, bad_inputs=bad_inputs))
               for name, check in (
                   ("check_bad_uploads_state_no_identity",
                    check_bad_uploads_state_no_identity),
                   ("check_cli_gives_each_file_its_line_and_each_bad_file_an_error_object",
                    check_cli_gives_each_file_its_line_and_each_bad_file_an_error_object))]
    checks += [Check(f"the_explainer_gives_the_items_input_shape-{method}",
                     partial(check_the_explainer_gives_the_items_input_shape, method=method),
                     slow=method in kit.slow_methods)
               for method in explainers_for(kit.modality)]
    return checks


def parametrize_with_checks(models: dict[str, Kit]) -> pytest.MarkDecorator:
    """``pytest.mark.parametrize("model_id, check", ...)`` over every check
    (:func:`checks_of`) of every model of ``models`` (model id -> its modality's kit),
    each test id ``<model id>-<check>``, the slow ones marked ``slow``. The test runs
    ``check(subject, scratch)`` on the model's :class:`Subject`."""
    import pytest

    kits = list({kit.modality: kit for kit in models.values()}.values())
    return pytest.mark.parametrize(("model_id", "check"), [
        pytest.param(model_id, check, id=f"{model_id}-{check.name}",
                     marks=[pytest.mark.slow] if check.slow else [])
        for model_id, kit in models.items() for check in checks_of(kit, kits)])


def check_kits_cover_every_modality(kits: Iterable[Kit]) -> None:
    """Every registered modality has a kit: a new modality is checked as soon as it is
    registered."""
    missing = set(modalities()) - {kit.modality for kit in kits}
    assert not missing, f"give the modalities {sorted(missing)} a Kit (dxcore.testing)"
