"""The one model contract, checked for every registered model kind: each shipped model and
the toy plug-in of ``tests/toy_modality.py``, in the manner of scikit-learn's
``parametrize_with_checks`` (the same checks over every estimator) and MONAI's
``verify_net_in_out`` (the bundle's declared interface against its network).

Checks, for every model:

- (a) bad input raises :class:`DxError`, never another exception, through ``predict``,
  ``predict_many`` (in its place) and the command line (an error object per file), and
  through the case-label hook ``identities`` (or it states nothing);
- (b) ``predict_many([a, b, c])`` equals three ``predict`` calls; one input holding the
  items of several equals them too (a table of N rows and N one-row tables);
- (c) every JSON line is strict JSON with the keys the CLI documents, one probability
  object per item summing to 1, explanations only adding ``explanation`` objects;
- (d) every registered explainer's values have the item's input shape (rule per modality:
  :attr:`Kit.explanation_shape`);
- (e) the network saved and reloaded in safe mode gives the same outputs;
- (f) the card's interface matches the network (:func:`check_interface`).

A modality enters through its :class:`Kit` in ``KITS``: sample inputs from the real
datasets, bad inputs of its own, the JSON keys of its lines and its explanation shape.
A registered modality without a kit fails ``test_every_registered_modality_has_a_kit``.
A contract breach a check finds is mended in the contract, not marked here.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dxcore.batching import batched_outputs
from dxcore.cards import ModelCard, verify_interface
from dxcore.contract import DxModel, Result, Source
from dxcore.ecg import EcgRecord, load_record
from dxcore.ecg.record import Annotations
from dxcore.errors import DxError
from dxcore.explain import default_method, explainers_for
from dxcore.images import LoadedImage
from dxcore.paths import models_dir
from dxcore.records import read_cases
from dxcore.registry import get_model, list_cards, modalities, recipe_for
from tests import toy_modality as toy
from tests.helpers import run_cli, synthetic_ecg, wfdb_bytes

Finder = Callable[[str], Path]  # the root ``dataset`` fixture: folder name -> folder
PROBABILITY_TOLERANCE = 1e-3  # ECG beats round probabilities to 4 decimals, others to 6
SLOW_METHODS = {"scorecam", "smoothgrad"}  # seconds per map on two CPU cores

MODALITY_OF = {card.id: card["modality"] for card in list_cards()} | {toy.MODEL_ID: toy.MODALITY}
MODEL_IDS = list(MODALITY_OF)


@dataclass(frozen=True)
class BadInput:
    """An input the model must refuse with a DxError; ``make(folder)`` builds it."""

    make: Callable[[Path], Source]


@dataclass(frozen=True)
class Kit:
    """What the checks need to know of one modality.

    ``samples``: three good inputs from the real datasets, of different source kinds, the
    first a file (the CLI reads it); ``join``: one input holding all their items, where
    the modality has multi-item inputs; ``example``: a small file of this modality that its
    models answer (made here, or copied from a dataset into the test's temporary folder),
    given to every other modality as a bad input; ``keys`` and
    ``optional_keys``: of each JSON object (the CLI adds ``input``); ``explanation_shape``:
    the shape of an explanation's values."""

    samples: Callable[[DxModel, Finder, Path], list[Source]]
    example: Callable[[Path], Path]
    keys: frozenset[str]
    optional_keys: frozenset[str]
    explanation_shape: Callable[[DxModel], tuple[int, ...]]
    join: Callable[[list[Source]], Source] | None = None
    bad_inputs: dict[str, BadInput] = field(default_factory=dict)


def first_input_without_channels(model: DxModel) -> tuple[int, ...]:
    """Maps over the first network input (an image's pixels, a beat's samples): its
    shape less the batch and channel axes."""
    return tuple(model.network.inputs[0].shape[1:-1])


def one_per_field(model: DxModel) -> tuple[int, ...]:
    """Record explanations: one value per schema field (one-hot columns summed)."""
    return (len(model.schema),)


def written(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


# --- images ---------------------------------------------------------------------------


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def image_samples(model: DxModel, find: Finder, folder: Path) -> list[Source]:
    """Two normal and one pneumonia test image: as a path, as bytes, as an upload."""
    test = find("chest_xray") / "test"
    normal = sorted((test / "NORMAL").glob("*.jpeg"))
    pneumonia = sorted((test / "PNEUMONIA").glob("*.jpeg"))
    return [normal[0], pneumonia[0].read_bytes(), {normal[1].name: normal[1].read_bytes()}]


def real_xray_file(folder: Path) -> Path:
    """A real chest X-ray of the official test folder, copied into ``folder`` (a temporary
    folder): an image the model answers, where a made-up one is refused by its domain
    guard."""
    from dxcore.datasets import data_dir

    normal = sorted((data_dir() / "chest_xray" / "test" / "NORMAL").glob("*.jpeg"))
    if not normal:
        pytest.skip("the chest_xray dataset is not found; set DX_DATA_DIR")
    return written(folder, "chest.jpeg", normal[0].read_bytes())


IMAGE_KIT = Kit(
    samples=image_samples,
    example=real_xray_file,
    keys=frozenset({"model", "probabilities", "prediction", "prediction_set", "coverage"}),
    optional_keys=frozenset({"notes", "explanation"}),
    explanation_shape=first_input_without_channels,
    bad_inputs={
        "a blank image": BadInput(lambda folder: png(np.full((64, 64), 7, np.uint8))),
        "an image of 16x16 pixels": BadInput(lambda folder: png(
            np.random.default_rng(0).integers(0, 255, (16, 16), dtype=np.uint8))),
        "a decoded image with missing pixels": BadInput(
            lambda folder: LoadedImage(np.full((64, 64), np.nan, np.float32), "PNG")),
        "a synthetic gradient, unlike a chest X-ray": BadInput(lambda folder: written(
            folder, "gradient.png", png(np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))))),
    },
)


# --- ECG records ----------------------------------------------------------------------


def ecg_minutes(record: EcgRecord, start_s: float, stop_s: float) -> EcgRecord:
    """A stretch of a record with its reference annotations, as an EcgRecord."""
    first, last = int(start_s * record.fs), int(stop_s * record.fs)
    notes = record.annotations
    inside = (notes.sample >= first) & (notes.sample < last)
    return replace(record, signals=record.signals[first:last], name=f"{record.name}-{start_s}",
                   annotations=Annotations(notes.sample[inside] - first, notes.symbol[inside]))


def ecg_csv(signals: np.ndarray, fs: float, leads: tuple[str, ...] = ("MLII", "V5")) -> str:
    """A CSV with a time column, as an export gives it."""
    times = np.arange(len(signals)) / fs
    rows = "\n".join(",".join([f"{t:.6f}", *(f"{v:.4f}" for v in row)])
                     for t, row in zip(times, signals, strict=True))
    return f"time,{','.join(leads[:signals.shape[1]])}\n{rows}\n"


def ecg_samples(model: DxModel, find: Finder, folder: Path) -> list[Source]:
    """MIT-BIH record 100 cut short: minute 1 as a CSV (beats detected), minute 2 as an
    EcgRecord (reference beats), 30 s as an uploaded WFDB record (beats detected)."""
    record = load_record(find("mitdb") / "100")
    fs = record.fs
    return [written(folder, "minute1.csv", ecg_csv(record.signals[:int(60 * fs)], fs)),
            ecg_minutes(record, 60, 120),
            wfdb_bytes(record.signals[int(120 * fs):int(150 * fs)], fs=fs, name="part3")]


ECG_KIT = Kit(
    samples=ecg_samples,
    example=lambda folder: written(folder, "synthetic.csv", ecg_csv(synthetic_ecg(12), 360)),
    keys=frozenset({"model", "fs", "beats", "summary", "rhythm"}),
    optional_keys=frozenset({"notes"}),
    explanation_shape=first_input_without_channels,  # the beat window, (128,)
    bad_inputs={
        "a CSV without a time column": BadInput(lambda folder: written(
            folder, "no_time.csv", "MLII\n" + "\n".join(map(str, range(5000))) + "\n")),
        "a header without its signal file": BadInput(
            lambda folder: {"r.hea": b"r 1 360 3600\nr.dat 16 200 11 0 0 0 0 MLII\n"}),
        "a decoded record of a quarter second": BadInput(
            lambda folder: EcgRecord(synthetic_ecg(0.25), 360, ["MLII", "V5"], "short")),
        "a decoded record without leads": BadInput(
            lambda folder: EcgRecord(np.zeros((3600, 0)), 360, [], "empty")),
    },
)


# --- case records ---------------------------------------------------------------------


def split_rows(model: DxModel, count: int = 3) -> pd.DataFrame:
    """The first rows of the model's test split: from its recipe's ``split``, else the
    official split of its dataset (the Golub recipe has no ``split``)."""
    recipe = recipe_for(model.card.id)
    try:
        if hasattr(recipe, "split"):
            table = recipe.split()[2]
        else:
            from dxcore.datasets import golub

            table = golub.official_split("test")[0]
    except DxError as missing:  # the dataset is absent
        pytest.skip(str(missing))
    return table.iloc[:count]


def record_samples(model: DxModel, find: Finder, folder: Path) -> list[Source]:
    """Three test cases: a CSV path, a one-row DataFrame, an uploaded JSON object."""
    rows = split_rows(model)
    csv = rows.iloc[[0]].to_csv(index=False)
    as_json = json.dumps(rows.iloc[[2]].to_dict("records")[0])
    return [written(folder, "case1.csv", csv), rows.iloc[[1]].reset_index(drop=True),
            {"case3.json": as_json.encode()}]


def record_join(samples: list[Source]) -> Source:
    """The three cases as one table, read back from their own sources."""
    csv_path, frame, upload = samples
    first = read_cases(Path(csv_path))
    (name, data), = upload.items()
    return pd.concat([first, frame, read_cases(data, name=name)], ignore_index=True)


RECORD_KIT = Kit(
    samples=record_samples,
    join=record_join,
    example=lambda folder: written(folder, "cases.csv", "age,sex\n63,1\n"),
    keys=frozenset({"row", "model", "probabilities", "prediction", "prediction_set",
                    "coverage", "atypicality"}),
    optional_keys=frozenset({"notes", "explanation"}),
    explanation_shape=one_per_field,
    bad_inputs={
        "a table with none of the model's fields": BadInput(lambda folder: written(
            folder, "other.csv", "colour,size\nred,3\n")),
        "JSON that is not a list of cases": BadInput(lambda folder: {"c.json": b"[1, 2]"}),
    },
)


# --- the toy plug-in ------------------------------------------------------------------


def toy_samples(model: DxModel, find: Finder, folder: Path) -> list[Source]:
    """Seven ECG200 test beats: three in a file, two as bytes, two as an array."""
    beats, _ = toy.read_ucr(find("ecg200") / "ECG200_TEST.txt")
    path = folder / "beats.txt"
    np.savetxt(path, beats[:3], fmt="%.7e")
    as_text = "\n".join(",".join(f"{v:.7e}" for v in beat) for beat in beats[3:5])
    return [path, as_text.encode(), beats[5:7]]


TOY_KIT = Kit(
    samples=toy_samples,
    join=lambda samples: np.concatenate([toy.read_beats(s) for s in samples]),
    example=lambda folder: written(folder, "beats.txt", "\n".join(
        " ".join(f"{np.sin(k * t / 9):.4f}" for t in range(toy.SAMPLES)) for k in (1, 2))),
    keys=frozenset({"beat", "model", "probabilities", "prediction"}),
    optional_keys=frozenset({"explanation"}),
    explanation_shape=first_input_without_channels,
    bad_inputs={
        "a beat of 95 samples": BadInput(lambda folder: b" ".join([b"0.5"] * 95)),
        "a flat beat": BadInput(lambda folder: np.ones(toy.SAMPLES)),
        "an array of the wrong shape": BadInput(lambda folder: np.ones((2, 3, 4))),
    },
)

KITS: dict[str, Kit] = {"image": IMAGE_KIT, "ecg": ECG_KIT, "record": RECORD_KIT,
                        toy.MODALITY: TOY_KIT}

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


def bad_inputs_of(modality: str) -> dict[str, BadInput]:
    """The common bad inputs, the modality's own, and a file of every other modality
    (none for a modality without a kit: test_every_registered_modality_has_a_kit says so)."""
    if modality not in KITS:
        return {}
    foreign = {f"a file of the {other} modality": BadInput(kit.example)
               for other, kit in KITS.items() if other != modality}
    return {**COMMON_BAD_INPUTS, **KITS[modality].bad_inputs, **foreign}


BAD_INPUT_CASES = [pytest.param(model_id, bad, id=f"{model_id}-{name}")
                   for model_id in MODEL_IDS
                   for name, bad in bad_inputs_of(MODALITY_OF[model_id]).items()]
METHOD_CASES = [pytest.param(model_id, method, id=f"{model_id}-{method}",
                             marks=[pytest.mark.slow] if method in SLOW_METHODS else [])
                for model_id in MODEL_IDS for method in explainers_for(MODALITY_OF[model_id])]
JOINABLE = [m for m in MODEL_IDS if MODALITY_OF[m] in KITS and KITS[MODALITY_OF[m]].join]
RECORD_MODELS = [m for m in MODEL_IDS if MODALITY_OF[m] == "record"]


# --- the model under test, prepared once per session ------------------------------------


@dataclass
class Subject:
    """A model under test, where its card lives, its kit, its samples and their results."""

    model: DxModel
    folder: Path
    kit: Kit
    samples: list[Source]
    results: list[Result]


@pytest.fixture(scope="session")
def subjects(request, dataset, tmp_path_factory) -> Callable[[str], Subject]:
    """``subjects(model_id)``: the loaded model and its sample results, built on first use
    (the toy model is trained only when a check of it runs)."""
    built: dict[str, Subject] = {}

    def subject(model_id: str) -> Subject:
        if model_id not in built:
            if model_id == toy.MODEL_ID:
                folder = request.getfixturevalue("toy_models_dir")
                model = get_model(model_id, folder).load()
            else:
                folder = models_dir()
                model = request.getfixturevalue("shipped_model")(model_id)
            if model.modality not in KITS:
                pytest.fail(f"no Kit for the modality '{model.modality}' of {model_id}")
            kit = KITS[model.modality]
            samples = kit.samples(model, dataset, tmp_path_factory.mktemp(model_id))
            built[model_id] = Subject(model, folder, kit, samples,
                                      [model.predict(s) for s in samples])
        return built[model_id]
    return subject


# --- the registry ---------------------------------------------------------------------


def test_every_registered_modality_has_a_kit():
    """A new modality is checked here as soon as it is registered: give it a Kit."""
    missing = set(modalities()) - set(KITS)
    assert not missing, f"add a Kit for {missing} in tests/test_conformance.py"


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_the_card_names_a_registered_modality_and_its_explainers(model_id, subjects):
    subject = subjects(model_id)
    assert subject.model.modality in modalities()
    assert type(subject.model) is modalities()[subject.model.modality].model_class
    listed = subject.model.card.get("explainers")
    if listed is not None:
        assert listed == explainers_for(subject.model.modality)


# --- (a) bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(("model_id", "bad"), BAD_INPUT_CASES)
def test_bad_input_is_one_dx_error(model_id, bad, subjects, tmp_path):
    with pytest.raises(DxError) as refused:
        subjects(model_id).model.predict(bad.make(tmp_path))
    assert str(refused.value).strip()


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


@pytest.mark.parametrize("model_id", [m for m in MODEL_IDS if m != toy.MODEL_ID])
def test_a_bad_upload_states_no_identity_or_raises_one_dx_error(model_id, tmp_path):
    """The case-label hook (dxcore.labels) reads what the model would read: a file it
    cannot read gets a DxError (the page then labels the case by its file name) or no
    Identity, never another exception."""
    from dxcore.labels import Identity

    model = get_model(model_id)  # the card only: the hook reads no weights
    for name, bad in bad_inputs_of(MODALITY_OF[model_id]).items():
        upload = as_upload(bad.make(tmp_path))
        if upload is None:
            continue
        try:
            identities = model.identities(upload)
        except DxError:
            continue
        assert all(identity == Identity() for identity in identities), name


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_predict_many_answers_a_bad_input_in_its_place(model_id, subjects, tmp_path):
    subject = subjects(model_id)
    first, *_, last = subject.samples
    answers = subject.model.predict_many([first, COMMON_BAD_INPUTS["random bytes"].make(
        tmp_path), last])
    assert [type(a) for a in answers] == [Result, DxError, Result]
    assert_same_results(answers[0], subject.results[0])
    assert_same_results(answers[2], subject.results[-1])


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_cli_gives_each_file_its_line_and_each_bad_file_an_error_object(
        model_id, subjects, tmp_path, capsys, monkeypatch):
    """The first sample, then every bad input that is a file, in one ``predict --json``:
    the sample's lines are its ``as_json`` plus ``input``; each bad file is one error."""
    subject = subjects(model_id)
    monkeypatch.setenv("DX_MODELS_DIR", str(subject.folder))
    bad_files = [str(source) for bad in bad_inputs_of(subject.model.modality).values()
                 if isinstance(source := bad.make(tmp_path), Path)]
    good = str(subject.samples[0])
    status, lines, err = run_cli(capsys, "predict", model_id, good, *bad_files, "--json")
    assert status == 1 and "Traceback" not in err and "Unexpected error" not in err
    expected = subject.results[0].as_json()
    assert lines[:len(expected)] == [{"input": good, **line} for line in expected]
    errors = lines[len(expected):]
    assert [line["input"] for line in errors] == bad_files
    # A domain guard's refusal adds how far out the input lies; an error an option would
    # mend names the option (an ECG CSV without its rate: "fs").
    assert all(set(line) - {"needs"} == {"input", "error", "code"} | (
        {"domain_score"} if line["code"] == "out_of_domain" else set()) and line["error"]
        for line in errors)


@pytest.mark.parametrize("model_id", RECORD_MODELS)
def test_a_table_without_a_valid_row_answers_each_row_with_its_error(model_id, subjects):
    rows = split_rows(subjects(model_id).model, 2).astype(object)
    rows.iloc[:, :] = "not a value"
    result = subjects(model_id).model.predict(rows)
    assert len(result) == 0
    assert [set(line) for line in result.as_json()] == [{"row", "error", "code"}] * 2


# --- (b) batches --------------------------------------------------------------------------


def assert_same_results(actual: Result, expected: Result) -> None:
    np.testing.assert_allclose(actual.probabilities, expected.probabilities, atol=1e-5)
    assert actual.decisions.tolist() == expected.decisions.tolist()


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_predict_many_equals_one_predict_per_input(model_id, subjects):
    subject = subjects(model_id)
    together = subject.model.predict_many(subject.samples)
    assert len(together) == len(subject.results)
    for batched, single in zip(together, subject.results, strict=True):
        assert_same_results(batched, single)
        assert batched.as_json() == single.as_json()


@pytest.mark.parametrize("model_id", JOINABLE)
def test_one_input_of_n_items_equals_the_n_inputs(model_id, subjects):
    """A table of N rows gives what N one-row tables give (records); a file of N beats
    what N files give (the toy)."""
    subject = subjects(model_id)
    joined = subject.model.predict(subject.kit.join(subject.samples))
    np.testing.assert_allclose(joined.probabilities,
                               np.concatenate([r.probabilities for r in subject.results]),
                               atol=1e-5)
    assert joined.decisions.tolist() == [d for r in subject.results for d in r.decisions]


# --- (c) the JSON contract ------------------------------------------------------------


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


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_json_lines_are_strict_with_one_probability_object_per_item(model_id, subjects):
    subject = subjects(model_id)
    kit, names = subject.kit, subject.model.card.class_names
    for result in subject.results:
        lines = result.as_json()
        for line in lines:
            json.dumps(line, allow_nan=False)
            assert kit.keys <= set(line) <= kit.keys | kit.optional_keys
            assert line["model"] == model_id
        items = list(objects_with("probabilities", lines))
        assert [item["prediction"] for item in items] == result.decisions.tolist()
        for item in items:
            assert list(item["probabilities"]) == names
            assert sum(item["probabilities"].values()) == pytest.approx(
                1.0, abs=PROBABILITY_TOLERANCE)


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_explanations_only_add_an_object_to_their_items(model_id, subjects):
    subject = subjects(model_id)
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


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_an_explanations_json_names_its_registered_method(model_id, subjects):
    subject = subjects(model_id)
    method = default_method(subject.model.modality)
    explanation = subject.model.explain(subject.results[0], method)
    assert explanation.as_json()["method"] == method


# --- (d) explanations have the item's input shape -----------------------------------------


@pytest.mark.parametrize(("model_id", "method"), METHOD_CASES)
def test_every_explainer_gives_the_items_input_shape(model_id, method, subjects):
    subject = subjects(model_id)
    model, result = subject.model, subject.results[0]
    explanation = model.explain(result, method)
    assert explanation.values.shape == subject.kit.explanation_shape(model)
    assert np.isfinite(explanation.values).all()
    assert explanation.method == method and explanation.item == 0
    if len(result) > 1:  # a batch of items explains each as on its own
        batch = model.explain_all(result, method, items=[0, len(result) - 1])
        np.testing.assert_allclose(batch[0].values, explanation.values, atol=1e-4)


# --- (e) save and reload ------------------------------------------------------------------


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_saved_and_reloaded_network_gives_the_same_outputs(model_id, subjects, tmp_path):
    subject = subjects(model_id)
    network = subject.model.network
    network.save(tmp_path / "network.keras")
    reloaded = keras.saving.load_model(tmp_path / "network.keras", safe_mode=True,
                                       compile=False)
    x = subject.results[0].model_input
    before, after = batched_outputs(network, x, 256), batched_outputs(reloaded, x, 256)
    assert set(before) == set(after)
    for name in before:
        np.testing.assert_allclose(after[name], before[name], atol=1e-6)


# --- (f) the card's interface against the network -------------------------------------


def check_interface(card: ModelCard, network: keras.Model) -> None:
    """The card's interface against ``network`` (names, dtypes, shapes with a null batch
    axis, named channels: :func:`dxcore.cards.verify_interface`, after MONAI's
    ``verify_net_in_out``), the logits against the class names and the explainers' layer."""
    verify_interface(card, network)
    outputs = {name: tuple(t.shape) for name, t in
               zip(network.output_names, network.outputs, strict=True)}
    assert outputs["logits"][1:] == (len(card.class_names),), "logits vs class_names"
    if "explainer_layer" in card.runtime:  # the layer saliency maps read, when they read one
        network.get_layer(card.explainer_layer)  # raises ValueError when absent


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_the_cards_interface_matches_the_network_and_the_prepared_inputs(model_id, subjects):
    subject = subjects(model_id)
    network = subject.model.network
    check_interface(subject.model.card, network)
    declared = subject.model.card.interface
    for result in subject.results:
        parts = result.model_input if isinstance(result.model_input, list) else \
            [result.model_input]
        assert [part.shape[1:] for part in parts] == [tuple(t.shape[1:])
                                                      for t in network.inputs]
        for k, part in enumerate(parts):
            bounds = declared["inputs"][k].get("range") if declared else None
            if bounds:
                assert bounds[0] - 1e-5 <= part.min() and part.max() <= bounds[1] + 1e-5
