"""Training shared by the record recipes: cross-validation on the training split, then one
final network on all of it.

Every choice that needs held-out data is made on out-of-fold predictions of the training
split (k-fold, stratified): the calibration temperature, the decision threshold and the
atypicality reference. In each fold the imputer and the standardisation are fitted on that
fold's training part only. The test split is used for the final measurement and nothing
else.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from dxcore import calibration
from dxcore.batching import batched_outputs
from dxcore.card_writing import (
    FIELDS_FILE,
    INLINE_FIELDS_MAX,
    interface_of,
    save_weights_file,
    write_json,
)
from dxcore.metrics import report_binary
from dxcore.records.atypicality import reconstruction_error, reference_quantiles
from dxcore.records.network import DEVIATION, LOGITS, record_autoencoder
from dxcore.records.preprocessing import encode, fit_imputer, input_columns
from dxcore.records.schema import Schema
from dxcore.records.validation import MISSING_TOKENS, validate

SPLIT_SEED = 0  # fixed: retraining with another seed must not move the test split
TEST_SIZE = 0.25
MIN_VARIANCE = 0.01  # floor for near-constant columns (e.g. probes at the intensity floor)


@dataclass(frozen=True)
class Settings:
    """The network's size and training schedule (chosen by cross-validated AUC)."""

    hidden: int = 32
    code: int = 8
    input_dropout: float = 0.1
    head_dropout: float = 0.2
    l2: float = 1e-4
    epochs: int = 150
    batch_size: int = 32
    learning_rate: float = 1e-3
    reconstruction_weight: float = 1.0
    folds: int = 5
    # With missing-value indicators: the chance that training hides a recorded finding
    # (dxcore.records.missingness.FieldDropout); 0 for the models without indicators.
    field_dropout: float = 0.0


def stratified_test_split(table: pd.DataFrame, labels: np.ndarray
                          ) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    """Train and test parts: a stratified 25% test split with the fixed ``SPLIT_SEED``."""
    train, test, y_train, y_test = train_test_split(
        table, labels, test_size=TEST_SIZE, stratify=labels, random_state=SPLIT_SEED)
    return train, y_train, test, y_test


def dataset_values(table: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, int]:
    """Parsed values of a dataset table, and how many cells were implausible. Such cells
    (data-entry errors such as a sodium of 4.5 mEq/L) are treated as missing, as an
    imputing model can; a user's upload gets an error message for them instead."""
    checked = validate(table, schema)
    was_missing = table[schema.names].map(lambda v: str(v).strip().lower() in MISSING_TOKENS)
    return checked.values, int(checked.values.isna().sum().sum() - was_missing.sum().sum())


def fit_network(x: np.ndarray, y: np.ndarray, settings: Settings, seed: int,
                classes: int = 2) -> keras.Model:
    """One supervised autoencoder trained on encoded cases ``x`` of ``classes`` classes."""
    keras.utils.set_random_seed(seed)
    scaler = StandardScaler().fit(x)
    model = record_autoencoder(scaler.mean_, np.maximum(scaler.var_, MIN_VARIANCE),
                               settings.hidden, settings.code, settings.input_dropout,
                               settings.head_dropout, settings.l2, classes=classes)
    model.compile(optimizer=keras.optimizers.AdamW(settings.learning_rate),
                  loss={LOGITS: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                        DEVIATION: keras.losses.MeanSquaredError()},
                  loss_weights={LOGITS: 1.0, DEVIATION: settings.reconstruction_weight})
    model.fit(x, {LOGITS: y, DEVIATION: np.zeros_like(x)}, epochs=settings.epochs,
              batch_size=settings.batch_size, shuffle=True, verbose=0)
    return model


def _outputs(model: keras.Model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = batched_outputs(model, x, 256)
    return out[LOGITS], out[DEVIATION]


def cross_validate(values: pd.DataFrame, y: np.ndarray, schema: Schema, settings: Settings,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold logits and reconstruction errors for every training case."""
    logits = np.zeros((len(y), 2))
    errors = np.zeros(len(y))
    folds = StratifiedKFold(settings.folds, shuffle=True, random_state=seed)
    for k, (fit_index, held_index) in enumerate(folds.split(values, y)):
        fill = fit_imputer(values.iloc[fit_index], schema)  # this fold's training part only
        model = fit_network(encode(values.iloc[fit_index], schema, fill), y[fit_index],
                            settings, seed + k + 1)
        held_logits, held_deviation = _outputs(model, encode(values.iloc[held_index], schema,
                                                             fill))
        logits[held_index], errors[held_index] = held_logits, reconstruction_error(
            held_deviation)
    return logits, errors


@dataclass
class Trained:
    """A final network and what cross-validation chose for it."""

    model: keras.Model
    fill: dict[str, float | str]
    temperature: float
    threshold: float
    cv_metrics: dict
    reference: list[float]
    seconds: int


def train_record_model(values: pd.DataFrame, y: np.ndarray, schema: Schema,
                       settings: Settings, seed: int) -> Trained:
    """Cross-validate (temperature, threshold, atypicality reference), then fit on all."""
    started = time.time()
    oof_logits, oof_errors = cross_validate(values, y, schema, settings, seed)
    temperature = calibration.fit_temperature(oof_logits, y)
    probability = calibration.calibrated_probabilities(oof_logits, temperature)[:, 1]
    threshold = calibration.youden_threshold(y, probability)
    fill = fit_imputer(values, schema)
    model = fit_network(encode(values, schema, fill), y, settings, seed)
    return Trained(model, fill, temperature, threshold,
                   report_binary(y, probability, threshold, resamples=1000),
                   reference_quantiles(oof_errors), round(time.time() - started))



def train_and_save(table: pd.DataFrame, y: np.ndarray, schema: Schema, settings: Settings,
                   seed: int, out_dir: Path) -> tuple[Trained, int]:
    """What every record recipe does: clean the training table, train, save
    ``out_dir/model.keras``; returns the trained model and the count of cleaned values."""
    values, cleaned = dataset_values(table, schema)
    trained = train_record_model(values, y, schema, settings, seed)
    save_weights_file(trained.model, out_dir / "model.keras")
    return trained, cleaned


def card_interface(network: keras.Model, schema: Schema) -> dict:
    """The card's ``interface``: the encoded record (its columns named when the fields are
    listed in the card itself) and both outputs."""
    inline = len(schema) <= INLINE_FIELDS_MAX
    return interface_of(network, {
        "record": {"channels": input_columns(schema) if inline else None,
                   "description": "the fields after imputation and transform, numeric first, "
                                  "then each categorical field one-hot"
                                  + ("" if inline else "; the columns are the fields of "
                                     "runtime.input.fields_file, in order")}},
        {LOGITS: {"description": "class scores in class_names order; the probabilities are "
                                 "softmax(logits / runtime.calibration_temperature)"},
         DEVIATION: {"description": "each column's standardised value less its "
                                    "reconstruction; its mean square is the atypicality "
                                    "score's reconstruction error"}})


def card_fields(trained: Trained, settings: Settings, seed: int, model_id: str,
                input_spec: dict, cleaned: int, positive_class: str, out_dir: Path) -> dict:
    """The card fields every record model shares; the recipe adds the rest. ``input_spec``
    holds the ``fields`` (written to a file beside the card when there are more than
    ``INLINE_FIELDS_MAX``), the optional ``top_fields`` and, for documentation, the input's
    ``kind`` and ``formats``."""
    schema = Schema.from_json(input_spec)
    runtime_input = {key: input_spec[key] for key in ("fields", "top_fields", "missing")
                     if key in input_spec}
    if len(schema) > INLINE_FIELDS_MAX:
        runtime_input["fields_file"] = write_json(out_dir, FIELDS_FILE,
                                                  {"fields": runtime_input.pop("fields")})
    return {
        "modality": "record",
        "architecture": f"supervised autoencoder (functional Keras), "
                        f"{trained.model.count_params():,} parameters: encoder "
                        f"{settings.hidden}-{settings.code}, decoder {settings.hidden}, "
                        "classifier head on the code",
        "methods": {
            "input": {key: value for key, value in input_spec.items()
                      if key not in ("fields", "top_fields", "missing")},
            "imputation": "scikit-learn SimpleImputer fitted on the training split only: "
                          "median (numeric), most frequent (categorical)",
            "calibration": f"temperature scaling (Guo et al. 2017) and Youden threshold, both "
                           f"on out-of-fold predictions of {settings.folds}-fold stratified "
                           "cross-validation of the training split",
            "atypicality": "percentile of the case's reconstruction error (mean squared "
                           "deviation, training SDs) among the training cohort's out-of-fold "
                           "errors",
            "explanation": "integrated gradients of the log-odds from the training cohort's "
                           "mean case (Sundararajan et al. 2017), summed per field",
        },
        "interface": card_interface(trained.model, schema),
        "runtime": {
            "input": runtime_input,
            "decision": {"positive_class": positive_class, "threshold": trained.threshold},
            "calibration_temperature": trained.temperature,
            "imputation": trained.fill,
            "atypicality_quantiles": trained.reference,
        },
        "training": {**asdict(settings), "seed": seed, "seconds": trained.seconds,
                     "implausible_training_values_set_missing": cleaned,
                     "command": f"python -m dxcore train {model_id} --seed {seed}"},
        "validation_metrics": trained.cv_metrics,
        "test_metrics": {},
        "weights_file": "model.keras",
    }
