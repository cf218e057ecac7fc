"""Shipped models: a small base class holding the shared predict flow, one subclass per
modality overriding :meth:`DxModel.prepare`.

Example (needs the shipped weights):
    >>> from dxcore import get_model, load_image                      # doctest: +SKIP
    >>> model = get_model("cxr-pneumonia")                             # doctest: +SKIP
    >>> model.predict(load_image("chest.png")).prediction             # doctest: +SKIP
    'PNEUMONIA'
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from dxcore.calibration import calibrated_probabilities
from dxcore.cards import ModelCard
from dxcore.errors import DxError
from dxcore.images import LoadedImage, prepare_for_model

if TYPE_CHECKING:  # imported lazily at run time: image-only use needs no pandas
    from dxcore.records.schema import Schema


@dataclass
class Prediction:
    """Calibrated class probabilities, the decision at the card's threshold, and the
    model input they came from (what an explainer needs)."""

    probabilities: dict[str, float]
    prediction: str
    threshold: float
    positive_class: str
    model_input: np.ndarray

    def as_json(self) -> dict[str, Any]:
        return {"probabilities": self.probabilities, "prediction": self.prediction}


class DxModel:
    """A trained model and its card. Weights load lazily, once, in Keras safe mode, after
    the checksum check; loading is guarded by a lock because Streamlit shares one instance
    across sessions (inference itself is read-only)."""

    def __init__(self, card: ModelCard):
        self.card = card
        self._keras: keras.Model | None = None
        self._lock = threading.Lock()

    @property
    def keras_model(self) -> keras.Model:
        with self._lock:
            if self._keras is None:
                self.card.verify_weights()
                self._keras = keras.saving.load_model(
                    self.card.weights_path, compile=False, safe_mode=True)
        return self._keras

    def load(self) -> DxModel:
        """Verify and load the weights now rather than on the first prediction."""
        _ = self.keras_model
        return self

    def prepare(self, raw: Any) -> np.ndarray:
        """Turn one decoded input into a batch of one for the network."""
        raise NotImplementedError

    def probabilities_batch(self, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Calibrated probabilities, (N, classes), for an already prepared batch."""
        logits = [np.asarray(self.keras_model(x[i:i + batch_size], training=False))
                  for i in range(0, len(x), batch_size)]
        return calibrated_probabilities(np.concatenate(logits),
                                        self.card["calibration_temperature"])

    def predict(self, raw: Any) -> Prediction:
        x = self.prepare(raw)
        probability = self.probabilities_batch(x)[0]
        names = self.card.class_names
        positive = self.card.positive_class
        threshold = float(self.card["decision_threshold"])
        positive_index = names.index(positive)
        if probability[positive_index] >= threshold:
            label = positive
        else:  # the most probable of the other classes
            others = [i for i in range(len(names)) if i != positive_index]
            label = names[max(others, key=lambda i: probability[i])]
        return Prediction(
            probabilities={n: round(float(p), 6) for n, p in zip(names, probability, strict=True)},
            prediction=label, threshold=threshold, positive_class=positive, model_input=x)


class ImageModel(DxModel):
    """Grayscale image models: resize as in training and add batch and channel axes."""

    def prepare(self, raw: LoadedImage) -> np.ndarray:
        if not isinstance(raw, LoadedImage):
            raise DxError("This model reads images (PNG, JPEG or DICOM).")
        spec = self.card["input"]
        return prepare_for_model(raw.pixels, int(spec["side"]),
                                 spec.get("normalization", "unit"))[None, ..., None]


class EcgModel(DxModel):
    """Beat classifiers: all beats of a record go through the network in one call, and
    each beat's class is the highest calibrated log-probability plus the card's per-class
    offset (the decision rule chosen by cross-validation on the training records)."""

    def prepare(self, raw: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The network's two inputs, from :func:`dxcore.ecg.features.model_inputs`."""
        if not isinstance(raw, dict) or set(raw) != {"beat", "context"}:
            raise DxError("This model reads ECG records (WFDB or CSV).")
        return [np.asarray(raw["beat"], np.float32), np.asarray(raw["context"], np.float32)]

    def probabilities_batch(self, x: list[np.ndarray], batch_size: int = 8192) -> np.ndarray:
        logits = [np.asarray(self.keras_model([part[i:i + batch_size] for part in x],
                                              training=False))
                  for i in range(0, len(x[0]), batch_size)]
        if not logits:
            return np.zeros((0, len(self.card.class_names)))
        return calibrated_probabilities(np.concatenate(logits),
                                        self.card["calibration_temperature"])

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """The class of each beat; a class missing from the card's ``log_offsets`` is never
        returned (a training class the decision rule leaves out, such as ``F``)."""
        names = self.card.class_names
        offsets = self.card["decision_rule"]["log_offsets"]
        shift = np.array([offsets.get(n, -np.inf) for n in names])
        scores = np.log(np.clip(probabilities, 1e-12, 1.0)) + shift
        return np.asarray(names)[np.argmax(scores, axis=1)]

    def predict(self, raw: Any, lead: str | None = None):
        """A whole record: a :class:`dxcore.ecg.analysis.RecordAnalysis`."""
        from dxcore.ecg.analysis import analyse_record
        return analyse_record(self, raw, lead=lead)


class RecordModel(DxModel):
    """Case records (clinical findings, gene profiles): a supervised autoencoder whose
    outputs are the class logits and each input column's reconstruction ``deviation``.
    :mod:`dxcore.records` validates tables of cases and runs them through it."""

    @cached_property
    def schema(self) -> Schema:
        """The input fields, from the card (parsed once: a gene profile has thousands)."""
        from dxcore.records.schema import Schema

        return Schema.from_json(self.card["input"])

    def prepare(self, raw: Any) -> np.ndarray:
        """Validated values (a DataFrame, one row per case) to the encoded input matrix."""
        from dxcore.records.encoding import encode

        return encode(raw, self.schema, self.card["input"]["imputation"]["values"])

    def outputs(self, x: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Raw logits and deviations, batch by batch."""
        parts = [self.keras_model(x[i:i + batch_size], training=False)
                 for i in range(0, len(x), batch_size)]
        return (np.concatenate([np.asarray(p["logits"]) for p in parts]),
                np.concatenate([np.asarray(p["deviation"]) for p in parts]))

    def probabilities_batch(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        return calibrated_probabilities(self.outputs(x, batch_size)[0],
                                        self.card["calibration_temperature"])


MODEL_CLASSES: dict[str, type[DxModel]] = {"image": ImageModel, "ecg": EcgModel,
                                           "record": RecordModel}


def model_for(card: ModelCard) -> DxModel:
    return MODEL_CLASSES[card["modality"]](card)
