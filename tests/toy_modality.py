"""A toy modality that lives only in the test suite: proof that a modality plugs into the
contract from outside ``dxcore/`` (CONTRIBUTING.md, "Adding a modality", follows this file).

One module holds what a built-in modality spreads over its package (``formats``, ``reader``,
``preprocessing``, ``network``, ``model``, ``explainers``, ``report``, ``training``,
``evaluation``):
single heartbeats of the UCR ECG200 set (Olszewski RT, CMU 2001; 96 samples each), normal
or myocardial infarction, read by a Conv1D network of about 1,100 parameters that trains in
a few seconds on two CPU cores.

Importing this module registers the modality ``toy-beat`` (its model class, explainers and
the recipe of the model ``toy-ecg200``, its file format for the drop zone and its sections
of a PDF report), as a built-in package's ``__init__`` does, and no shared file names it;
its :data:`KIT` is what the shared conformance checks (``dxcore.testing``) need of it::

    from tests import toy_modality
    card = toy_modality.build(models_folder)   # train, write the card, measure on TEST
    get_model("toy-ecg200", models_folder).predict("beats.txt")
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from sklearn.model_selection import train_test_split

from dxcore import calibration
from dxcore.batching import batched_outputs
from dxcore.card_writing import interface_of, save_weights_file, training_software, write_card
from dxcore.cards import ModelCard
from dxcore.contract import (
    DxModel,
    Prepared,
    Result,
    Source,
    is_upload,
    read_path,
    single_upload,
)
from dxcore.datasets import data_dir, require
from dxcore.ecg.explainers import GradCam
from dxcore.errors import DxError
from dxcore.evaluation import store_test_metrics
from dxcore.explain import Explainer, Explanation, register_explainer
from dxcore.formats import TEXT, FileFormat, Routed, text_head
from dxcore.labels import InputLabels
from dxcore.metrics import report_binary
from dxcore.pdf_report import Case, Report, Sections
from dxcore.registry import Modality, model_for, register_modality
from dxcore.testing import BadInput, Finder, Kit, written

MODALITY = "toy-beat"
MODEL_ID = "toy-ecg200"
SAMPLES = 96  # per beat, as in ECG200
# UCR labels: -1 myocardial infarction, 1 normal. The positive class is the finding.
CLASS_NAMES = ["normal", "myocardial infarction"]
POSITIVE = "myocardial infarction"
LAST_CONV = "last_conv"
TARGETS = {"accuracy": {"at_least": 0.8}}  # majority-class accuracy on TEST is 0.64
EPOCHS = 60
BATCH_SIZE = 25
LEARNING_RATE = 3e-3
CALIBRATION_SHARE = 0.25  # of TRAIN, held out for the temperature and the threshold
OCCLUSION_WIDTH = 8       # samples (about a twelfth of the beat)


# --- formats ------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return re.split(r"[,;\s]+", line.strip())


def looks_like_beats(name: str, data: bytes) -> bool:
    """The sniffer of a file of beats: text whose lines (those the head holds in full) are
    each 96 numbers."""
    text = text_head(data)
    if text is None:
        return False
    lines = [line for line in text.splitlines()[:-1] or text.splitlines() if line.strip()]
    try:
        return bool(lines) and all(len([float(cell) for cell in _cells(line)]) == SAMPLES
                                   for line in lines)
    except ValueError:
        return False


def beat_rows(name: str, data: bytes, cards: list[ModelCard]) -> Routed:
    """Every toy model reads a file of beats; the worklist gives it a row per beat."""
    rows = sum(1 for line in data.decode("utf-8", "replace").splitlines() if line.strip())
    return Routed(tuple(card.id for card in cards), rows)


BEATS = FileFormat("file of beats", looks_like_beats, ("txt",), TEXT, route=beat_rows)


# --- reader -------------------------------------------------------------------------


def parse_beats(data: bytes, name: str = "The file") -> np.ndarray:
    """(beats, 96) from text: one beat per line, samples separated by commas or spaces."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DxError(f"{name} is not a text file of beats (UTF-8).") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise DxError(f"{name} is empty: expected one beat of {SAMPLES} samples per line.")
    beats = []
    for number, line in lines:
        cells = _cells(line)
        if len(cells) != SAMPLES:
            raise DxError(f"Line {number} has {len(cells)} values; a beat has {SAMPLES} "
                          "samples.")
        try:
            beats.append([float(cell) for cell in cells])
        except ValueError:
            raise DxError(f"Line {number} holds something that is not a number.") from None
    return np.asarray(beats)


def check_beats(beats: Any) -> np.ndarray:
    """Beats that can be analysed, (beats, 96) float64; a single beat may be 1-D.

    Decoded inputs go through here too: the contract promises a :class:`DxError` for
    anything unreadable, whichever way it arrived."""
    try:
        beats = np.asarray(beats, dtype=np.float64)
    except (TypeError, ValueError):
        raise DxError(f"Beats must be numbers, {SAMPLES} samples each.") from None
    if beats.ndim == 1:
        beats = beats[None, :]
    if beats.ndim != 2 or beats.shape[1] != SAMPLES or len(beats) == 0:
        raise DxError(f"Expected beats of {SAMPLES} samples each; got an array of shape "
                      f"{beats.shape}.")
    for number, beat in enumerate(beats, 1):
        if not np.isfinite(beat).all():
            raise DxError(f"Beat {number} has missing or infinite samples.")
        if np.ptp(beat) <= 1e-9:
            raise DxError(f"Beat {number} is flat (the same value throughout).")
    return beats


def read_beats(source: Source) -> np.ndarray:
    """Beats from a path, bytes, an upload ``{name: bytes}`` or an array."""
    if is_upload(source):
        name, data = single_upload(source, "file of beats")
        return check_beats(parse_beats(data, name))
    if isinstance(source, str | Path):
        return check_beats(parse_beats(read_path(source), str(source)))
    if isinstance(source, bytes):
        return check_beats(parse_beats(source))
    if isinstance(source, np.ndarray | list):
        return check_beats(source)
    raise DxError(f"This model reads beats: a text file of {SAMPLES} samples per line.")


def beats_text(beats: np.ndarray) -> bytes:
    """A file of beats as a user gives it: one beat per line."""
    text = io.StringIO()
    np.savetxt(text, beats, fmt="%.7e")
    return text.getvalue().encode()


def read_ucr(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A UCR file: (beats, 96) and labels 1 = myocardial infarction (UCR -1)."""
    table = np.loadtxt(path)
    return table[:, 1:], (table[:, 0] == -1).astype(int)


# --- preprocessing ------------------------------------------------------------------


def znormalise(beats: np.ndarray) -> np.ndarray:
    """Each beat to zero mean and unit SD, as the UCR archive stores them: the network sees
    the beat's shape, not the recording's gain."""
    centred = beats - beats.mean(axis=1, keepdims=True)
    return (centred / centred.std(axis=1, keepdims=True))[..., None].astype(np.float32)


# --- network ------------------------------------------------------------------------


def toy_beat_cnn(samples: int = SAMPLES, classes: int = 2) -> keras.Model:
    """Two convolutions (the last named ``last_conv`` for Grad-CAM) and a linear head on
    the pooled map: functional, named layers, ``logits`` out (no softmax)."""
    beat = keras.Input((samples, 1), name="beat")
    x = layers.Conv1D(8, 7, padding="same", activation="relu", name="conv1")(beat)
    x = layers.MaxPooling1D(2, name="pool1")(x)
    x = layers.Conv1D(16, 5, padding="same", activation="relu", name=LAST_CONV)(x)
    x = layers.MaxPooling1D(4, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)  # keeps where in the beat a feature was
    logits = layers.Dense(classes, name="logits")(x)
    return keras.Model(beat, logits, name="toy_beat_cnn")


def interface(network: keras.Model) -> dict[str, list[dict[str, Any]]]:
    """The card's structured ``interface``, with the input's value range: a z-normalised
    series of n samples lies within +-(n - 1) / sqrt(n)."""
    bound = float((SAMPLES - 1) / np.sqrt(SAMPLES))
    return interface_of(network, inputs={
        network.inputs[0].name: {"range": [-bound, bound], "channels": ["beat"]}})


# --- model --------------------------------------------------------------------------


@dataclass
class BeatTable:
    """The detail of a result: one line per beat of the file (``beat`` counts from 1)."""

    def as_json(self, result: Result, explanations: dict[int, Explanation]) -> list[dict]:
        lines = []
        for item in range(len(result)):
            line: dict[str, Any] = {"beat": item + 1, "model": result.model_id,
                                    "probabilities": result.probabilities_of(item),
                                    "prediction": str(result.decisions[item])}
            if item in explanations:
                line["explanation"] = explanations[item].as_json()
            lines.append(line)
        return lines

    def text(self, result: Result) -> list[str]:
        return [f"beat {item + 1}: {result.decisions[item]} (p({POSITIVE}) "
                f"{result.probabilities_of(item)[POSITIVE]:.3f})" for item in range(len(result))]


@dataclass(frozen=True)
class BeatAttribution:
    """An explanation read on the beat: where along its 96 samples it peaks."""

    values: np.ndarray
    label: str

    @property
    def peak_sample(self) -> int:
        return int(np.argmax(self.values))

    def as_json(self) -> dict[str, int]:
        return {"peak_sample": self.peak_sample}

    def text(self) -> list[str]:
        return [f"{self.label} peaks at sample {self.peak_sample} of {SAMPLES}"]


class BeatModel(DxModel):
    """The contract for single beats: one item per beat."""

    modality = MODALITY
    batch_size = 256

    def read(self, source: Source, **options: Any) -> np.ndarray:
        return read_beats(source)

    def preprocess(self, decoded: np.ndarray, **options: Any) -> Prepared:
        return Prepared(znormalise(decoded), decoded)

    def describe(self, prepared: Prepared, result: Result) -> BeatTable:
        return BeatTable()

    def describe_explanation(self, result: Result, explanation: Explanation) -> BeatAttribution:
        return BeatAttribution(explanation.values, explanation.label)


# --- explainers ---------------------------------------------------------------------


class Occlusion(Explainer):
    """How much the class logit drops when a window of the beat is set to its mean (zero
    after z-normalisation), averaged over the windows that cover each sample (Zeiler MD,
    Fergus R, ECCV 2014). Signed: positive where the samples supported the class. A plain
    :class:`Explainer`: only ``attribute`` is needed, the shared flow does the rest."""

    label = "Occlusion"
    reference = "Zeiler MD, Fergus R, ECCV 2014"

    def attribute(self, model, network, x, class_indices):
        starts = np.arange(SAMPLES - OCCLUSION_WIDTH + 1)
        windows = (np.arange(SAMPLES)[None, :] >= starts[:, None]) & \
                  (np.arange(SAMPLES)[None, :] < starts[:, None] + OCCLUSION_WIDTH)
        # every occluded copy of every item through the network in one batched pass
        occluded = (x[:, None, :, 0] * ~windows[None]).reshape(-1, SAMPLES, 1)
        logits = batched_outputs(network, occluded, model.batch_size)["logits"]
        logits = logits.reshape(len(x), len(starts), -1)
        original = batched_outputs(network, x, model.batch_size)["logits"]
        rows = np.arange(len(x))
        drop = original[rows, class_indices][:, None] - logits[rows, :, class_indices]
        return (drop @ windows) / windows.sum(axis=0)


# The ECG modality's Grad-CAM fits any Conv1D network with a ``last_conv`` layer.
register_explainer(MODALITY, "gradcam", GradCam(), default=True)
register_explainer(MODALITY, "occlusion", Occlusion())


# --- report -------------------------------------------------------------------------


class BeatSections(Sections):
    """A report page per beat of the file, with the beat's samples and where its
    explanation peaks; every other section is the shared one."""

    def cases(self, model: DxModel, files: dict[str, bytes], result: Result,
              method: str | None, labels: InputLabels) -> list[Case]:
        items = list(range(len(result)))
        explained = model.explain_all(result, method, items) if method else {}
        return [Case(model, files, result, item, explained.get(item),
                     label=f"{labels.case()} beat {item + 1}") for item in items]

    def input(self, pdf: Report, case: Case) -> None:
        beat = case.result.model_input[case.item, :, 0]
        pdf.line_of(f"Beat {case.item + 1} of {len(case.result)}, {SAMPLES} samples "
                    f"(z-normalised, from {beat.min():.2f} to {beat.max():.2f}).")


SECTIONS = BeatSections()


# --- training (the recipe: TARGETS, train, evaluate) --------------------------------


def ecg200_file(part: str, data: str | Path | None = None) -> Path:
    return require(data_dir(data) / "ecg200" / f"ECG200_{part}.txt", "UCR ECG200")


def fit(x: np.ndarray, y: np.ndarray, seed: int, epochs: int) -> keras.Model:
    """Adam on minibatches in a compiled step: ``Model.fit``'s per-epoch overhead would
    cost more than the arithmetic on 75 beats."""
    keras.utils.set_random_seed(seed)
    network = toy_beat_cnn()
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(batch_x: tf.Tensor, batch_y: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            value = loss(batch_y, network(batch_x, training=True))
        gradients = tape.gradient(value, network.trainable_weights)
        optimizer.apply_gradients(zip(gradients, network.trainable_weights, strict=True))

    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), BATCH_SIZE):
            chosen = order[start:start + BATCH_SIZE]
            step(tf.constant(x[chosen]), tf.constant(y[chosen]))
    return network


def train(out_dir: Path, data: str | Path | None = None, epochs: int = EPOCHS,
          seed: int = 0) -> dict[str, Any]:
    """Fit on three quarters of ECG200_TRAIN; the held-out quarter chooses the temperature
    and the threshold. Saves ``model.keras``; returns the card fields."""
    started = time.time()
    beats, labels = read_ucr(ecg200_file("TRAIN", data))
    fit_x, held_x, fit_y, held_y = train_test_split(
        znormalise(beats), labels, test_size=CALIBRATION_SHARE, stratify=labels,
        random_state=0)
    network = fit(fit_x, fit_y, seed, epochs)
    held_logits = batched_outputs(network, held_x, 256)["logits"]
    temperature = calibration.fit_temperature(held_logits, held_y)
    threshold = calibration.youden_threshold(
        held_y, calibration.calibrated_probabilities(held_logits, temperature)[:, 1])
    out_dir.mkdir(parents=True, exist_ok=True)
    save_weights_file(network, out_dir / "model.keras")
    return {
        "id": MODEL_ID,
        "name": "Toy: myocardial infarction from one beat (UCR ECG200)",
        "modality": MODALITY,
        "task": "One heartbeat (96 samples) as normal or myocardial infarction",
        "class_names": CLASS_NAMES,
        "licence": None,
        "methods": {"input": f"text: one beat of {SAMPLES} samples per line, each beat "
                             "z-normalised"},
        "software": training_software(),
        "interface": interface(network),
        "runtime": {"input": {"samples": SAMPLES},
                    "decision": {"positive_class": POSITIVE, "threshold": threshold},
                    "calibration_temperature": temperature, "explainer_layer": LAST_CONV},
        "architecture": f"two Conv1D layers (last 'last_conv'), linear head; "
                        f"{network.count_params():,} parameters (functional Keras)",
        "training_data": {
            "dataset": "UCR ECG200", "dataset_id": "ucr:ECG200", "licence": None,
            "references": ["Olszewski RT, PhD thesis, CMU (2001)",
                           "Dau HA et al., The UCR Time Series Archive (2019)"],
            "split": f"ECG200_TRAIN: {len(fit_y)} beats fitted, {len(held_y)} held out "
                     "(stratified) for temperature and Youden threshold; ECG200_TEST for the "
                     "test only",
        },
        "training": {"epochs": epochs, "batch_size": BATCH_SIZE, "seed": seed,
                     "seconds": round(time.time() - started, 1)},
        "test_metrics": {},
        "intended_use": "Testing the model contract only.",
        "limitations": ["100 training beats; a test fixture, not a diagnostic model."],
        "date": date.today().isoformat(),
        "weights_file": "model.keras",
    }


def evaluate(model: DxModel, data: str | Path | None = None, resamples: int = 2000) -> dict:
    """AUC, accuracy, sensitivity and specificity on ECG200_TEST, through ``predict``."""
    beats, labels = read_ucr(ecg200_file("TEST", data))
    result = model.predict(beats)
    positive = model.card.class_names.index(POSITIVE)
    return report_binary(labels, result.probabilities[:, positive], model.card.threshold,
                         resamples)


def build(models_folder: Path, data: str | Path | None = None,
          resamples: int = 500) -> ModelCard:
    """``models_folder/toy-ecg200``: trained, carded and measured on ECG200_TEST, as
    ``python -m dxcore train`` and ``evaluate --store`` do for a built-in model."""
    out_dir = models_folder / MODEL_ID
    card = write_card({**train(out_dir, data), "targets": TARGETS}, out_dir)
    # model_for, not get_model: the registry would cache the card before its test metrics
    return store_test_metrics(card, evaluate(model_for(card), data, resamples),
                              "the toy recipe's measurement on ECG200_TEST")


# --- the conformance kit (dxcore.testing): what the shared checks need of the plug-in ---


def kit_samples(model: DxModel, find: Finder, folder: Path) -> list[Source]:
    """Seven ECG200 test beats: three in a file, two as bytes, two as an array."""
    beats, _ = read_ucr(find("ecg200") / "ECG200_TEST.txt")
    path = folder / "beats.txt"
    np.savetxt(path, beats[:3], fmt="%.7e")
    as_text = "\n".join(",".join(f"{v:.7e}" for v in beat) for beat in beats[3:5])
    return [path, as_text.encode(), beats[5:7]]


KIT = Kit(
    modality=MODALITY,
    samples=kit_samples,
    join=lambda samples: np.concatenate([read_beats(s) for s in samples]),
    example=lambda folder: written(folder, "beats.txt", "\n".join(
        " ".join(f"{np.sin(k * t / 9):.4f}" for t in range(SAMPLES)) for k in (1, 2))),
    keys=frozenset({"beat", "model", "probabilities", "prediction"}),
    optional_keys=frozenset({"explanation"}),
    bad_inputs={
        "a beat of 95 samples": BadInput(lambda folder: b" ".join([b"0.5"] * 95)),
        "a flat beat": BadInput(lambda folder: np.ones(SAMPLES)),
        "an array of the wrong shape": BadInput(lambda folder: np.ones((2, 3, 4))),
    },
)


register_modality(Modality(
    MODALITY, BeatModel, {MODEL_ID: __name__}, label="Toy beats", formats=(BEATS,),
    input_label="Beats", input_text=f"a file of beats (text, {SAMPLES} samples a line)",
    report=__name__, views="tests.toy_views"))
