"""``cxr-pneumonia``: NORMAL vs PNEUMONIA on paediatric chest X-rays, a CNN from scratch.

Train on the official train folder less 1/8 of its patients (validation, used for the best
epoch, the temperature and the threshold); test on the official test folder (624 images,
:mod:`dxcore.images.evaluation`). Two Keras callbacks: a tqdm progress bar and best-epoch
selection by validation AUC (computed with scikit-learn on the held-out patients).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from scipy.special import softmax
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.utils.class_weight import compute_class_weight
from tqdm import tqdm

from dxcore import calibration
from dxcore.batching import batched_outputs
from dxcore.card_writing import interface_of, save_weights_file
from dxcore.images import adult_cxr, chest_xray
from dxcore.images.domain import METHOD as DOMAIN_GUARD_METHOD
from dxcore.images.domain import fit_guard
from dxcore.images.evaluation import (  # noqa: F401  (the recipe's measurements)
    calibration_predictions,
    evaluate,
    evaluate_domain,
    evaluate_population,
    test_predictions,
)
from dxcore.images.formats import IMAGE_FORMATS
from dxcore.images.network import chest_xray_cnn
from dxcore.images.population import AGE_LIMIT
from dxcore.images.population_fit import METHOD as POPULATION_GUARD_METHOD
from dxcore.images.population_fit import fit_image_check

MODEL_ID = "cxr-pneumonia"
# What issues 2 and 15 ask of it on the official test split (stored in the card, shown where it
# misses).
TARGETS = {"auc": {"at_least": 0.97}, "accuracy": {"at_least": 0.88}}
SIDE = 128
BATCH_SIZE = 32
TRAINING_DATA = {
    "dataset": "Paediatric chest X-rays (Kermany et al. 2018)",
    "dataset_id": "doi:10.17632/rscbjbr9sj.2",
    "licence": "CC-BY-4.0",
    "references": [
        "Kermany D, Zhang K, Goldbaum M. Labeled Optical Coherence Tomography (OCT) and Chest "
        "X-Ray Images for Classification. Mendeley Data v2 (2018), doi:10.17632/rscbjbr9sj.2",
        "Kermany DS et al., Cell 172(5):1122-1131 (2018)",
    ],
    "data_folder": "chest_xray",
}


def card_interface(network: keras.Model) -> dict:
    """The card's ``interface``: one grey channel in [0, 1] (``"unit"`` normalisation)."""
    return interface_of(
        network,
        {"image": {"range": [0.0, 1.0], "channels": ["grey"],
                   "description": "the image resized to side x side, intensities in [0, 1]"}},
        {"logits": {"description": "class scores in class_names order; the probabilities are "
                                   "softmax(logits / runtime.calibration_temperature)"}})


@dataclass(frozen=True)
class Recipe:
    """One way of training the CNN; ``RECIPES`` names each one that was measured."""

    description: str
    epochs: int
    normalization: str = "unit"  # dxcore.images.preprocessing.NORMALIZATIONS
    geometric: tuple[float, float, float] = (0.03, 0.06, 0.1)  # rotation, shift, zoom
    contrast: float = 0.2
    mixup_alpha: float = 0.0  # 0: no mixup
    ema_momentum: float | None = None  # None: the last step's weights
    select_by: str = "auc"  # the best epoch: highest validation "auc" or lowest "loss"
    sensitivity: float | None = None  # None: Youden's threshold on validation


RECIPES = {
    "v1": Recipe("VGG-style CNN, 128 px, mild augmentation, best epoch by validation AUC, "
                 "Youden threshold", epochs=18),
    # Issue 15: chosen from the literature before the one test measurement allowed, for
    # robustness to the acquisition shift between the dataset's train and test images.
    "v3": Recipe(
        "v1's CNN on per-image histogram-equalised input (invariant to linear changes of "
        "exposure and contrast, nearly so to gamma), stronger geometric augmentation, "
        "mixup (alpha 0.2; Zhang et al., ICLR 2018; better calibrated, Thulasidasan et "
        "al., NeurIPS 2019), "
        "weights averaged over steps (EMA 0.99, Polyak averaging, as SWA: Izmailov et al., "
        "UAI 2018), best epoch by validation loss, threshold holding sensitivity 0.95 on "
        "validation", epochs=24, normalization="equalize", geometric=(0.05, 0.1, 0.15),
        contrast=0.0, mixup_alpha=0.2, ema_momentum=0.99, select_by="loss", sensitivity=0.95),
}
DEFAULT_RECIPE = "v1"
NORMALIZATION_TEXT = {"unit": "", "zscore": "; then standardised per image",
                      "equalize": "; then histogram-equalised per image (256 bins)"}


def _augmenter(recipe: Recipe, seed: int) -> keras.Sequential:
    # Geometric (and, on raw intensities, contrast) jitter: the test images come from other
    # sessions.
    rotation, shift, zoom = recipe.geometric
    steps = [
        keras.layers.RandomRotation(rotation, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed + 1),
        keras.layers.RandomZoom((-zoom, zoom), fill_mode="constant", seed=seed + 2),
    ]
    if recipe.contrast:
        steps.append(keras.layers.RandomContrast(recipe.contrast, seed=seed + 3))
    return keras.Sequential(steps, name="augment")


def _training_batches(x: np.ndarray, labels: np.ndarray, recipe: Recipe,
                      seed: int) -> tf.data.Dataset:
    """Shuffled, augmented batches of (image, one-hot label); with mixup, each batch mixed
    with itself reversed by a Beta(alpha, alpha) weight per image (the seeds of which come
    from a seeded stream, so that a run repeats)."""
    augment = _augmenter(recipe, seed)
    batches = (tf.data.Dataset.from_tensor_slices((x, tf.one_hot(labels, 2)))
               .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
               .batch(BATCH_SIZE)
               .map(lambda images, y: (augment(images, training=True), y),
                    num_parallel_calls=tf.data.AUTOTUNE))
    if recipe.mixup_alpha:
        alpha = recipe.mixup_alpha
        seeds = tf.data.Dataset.random(seed=seed).batch(2)

        def mix(batch, stream_seed):
            images, y = batch
            n = tf.shape(images)[0]
            a = tf.random.stateless_gamma([n], stream_seed, alpha)
            b = tf.random.stateless_gamma([n], stream_seed + 1, alpha)
            weight = a / (a + b)
            return (weight[:, None, None, None] * images
                    + (1 - weight[:, None, None, None]) * images[::-1],
                    weight[:, None] * y + (1 - weight[:, None]) * y[::-1])

        batches = tf.data.Dataset.zip((batches, seeds)).map(mix)
    return batches.prefetch(tf.data.AUTOTUNE)


def train(out_dir: Path, data: str | None = None, epochs: int | None = None, seed: int = 0,
          recipe: str = DEFAULT_RECIPE) -> dict:
    """Train with one of ``RECIPES``, calibrate on validation, save ``model.keras`` and
    return the card fields."""
    started = time.time()
    chosen = RECIPES[recipe]
    epochs = epochs or chosen.epochs
    keras.utils.set_random_seed(seed)
    fit, validation = chest_xray.train_validation_split(chest_xray.official_split("train", data),
                                                        seed=seed)
    x_fit = chest_xray.load_pixels(fit.paths, SIDE, progress=True,
                                   normalization=chosen.normalization)
    x_val = chest_xray.load_pixels(validation.paths, SIDE, progress=True,
                                   normalization=chosen.normalization)
    dataset = _training_batches(x_fit, fit.labels, chosen, seed)
    weights = compute_class_weight("balanced", classes=np.array([0, 1]), y=fit.labels)

    model = chest_xray_cnn(SIDE)
    steps = epochs * int(np.ceil(len(x_fit) / BATCH_SIZE))
    model.compile(
        optimizer=keras.optimizers.AdamW(
            keras.optimizers.schedules.CosineDecay(1e-3, steps, warmup_target=None),
            weight_decay=1e-4, use_ema=chosen.ema_momentum is not None,
            ema_momentum=chosen.ema_momentum or 0.99),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
    )
    best = BestValidationEpoch(x_val, validation.labels, chosen.select_by)
    # With EMA the averaged weights are swapped in at each epoch's end, for the selection.
    callbacks = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] \
        if chosen.ema_momentum is not None else []
    model.fit(dataset, epochs=epochs, class_weight=dict(enumerate(weights)), verbose=0,
              callbacks=[*callbacks, best, TqdmEpochs(epochs)])
    model.set_weights(best.best_weights)

    val_logits = batched_outputs(model, x_val, 64)["logits"]
    temperature = calibration.fit_temperature(val_logits, validation.labels)
    val_probability = calibration.calibrated_probabilities(val_logits, temperature)[:, 1]
    threshold = calibration.youden_threshold(validation.labels, val_probability) \
        if chosen.sensitivity is None else \
        calibration.sensitivity_threshold(validation.labels, val_probability,
                                          chosen.sensitivity)
    save_weights_file(model, out_dir / "model.keras")
    domain_guard = _fit_guard(model, fit, validation, out_dir, seed,
                              normalization=chosen.normalization)

    from dxcore.metrics import report_binary

    return {
        "id": MODEL_ID,
        "name": "Paediatric chest X-ray: pneumonia",
        "modality": "image",
        "task": "Pneumonia (bacterial or viral) vs normal on a frontal paediatric chest X-ray",
        "class_names": list(chest_xray.CLASS_NAMES),
        "architecture": f"VGG-style CNN, 5 stages, {model.count_params():,} parameters, "
                        "trained from scratch (functional Keras)",
        "methods": {
            "input": {
                "kind": "image",
                "formats": [image_format.name for image_format in IMAGE_FORMATS],
                "preprocessing": "grayscale; intensities scaled to [0, 1] (8-bit: /255; "
                                 "DICOM and 16-bit: modality LUT, VOI LUT or window, then "
                                 f"min-max); resized to {SIDE}x{SIDE} bilinear without "
                                 "keeping the aspect ratio, as the training images were"
                                 + NORMALIZATION_TEXT[chosen.normalization],
            },
            "domain_guard": DOMAIN_GUARD_METHOD,
        },
        "interface": card_interface(model),
        "runtime": {
            "input": {"side": SIDE, "normalization": chosen.normalization},
            "decision": {"positive_class": "PNEUMONIA", "threshold": threshold},
            "calibration_temperature": temperature,
            "explainer_layer": "last_conv",
            "domain_guard": domain_guard,
            # The image check is fitted by fit_population_guard (python -m dxcore calibrate).
            "population": dict(AGE_LIMIT),
        },
        "training_data": {
            **TRAINING_DATA,
            "split": "official train folder, split by patient (StratifiedGroupKFold, 1/8 "
                     f"held out, seed {seed}): {len(fit.paths)} images of "
                     f"{len(np.unique(fit.patients))} patients for fitting, "
                     f"{len(validation.paths)} images of {len(np.unique(validation.patients))} "
                     f"patients for validation (best epoch by validation "
                     f"{chosen.select_by}, temperature, threshold); test = "
                     "official test folder (624 images), never used for any choice",
        },
        "training": {
            "recipe": f"{recipe}: {chosen.description}",
            "epochs": epochs, "best_epoch": best.best_epoch, "seed": seed,
            "batch_size": BATCH_SIZE, "optimizer": "AdamW, cosine decay from 1e-3"
            + (f", EMA of the weights (momentum {chosen.ema_momentum})"
               if chosen.ema_momentum is not None else ""),
            "class_weights": "balanced", "seconds": round(time.time() - started),
            "command": f"python -m dxcore train {MODEL_ID} --recipe {recipe} --epochs {epochs} "
                       f"--seed {seed}",
        },
        "validation_metrics": report_binary(validation.labels, val_probability, threshold,
                                            resamples=500),
        "test_metrics": {},
        "intended_use": "Research and teaching: showing how a CNN reads paediatric chest "
                        "X-rays. A research prototype, not for clinical decisions.",
        "limitations": [
            "Trained on one centre's paediatric (age 1-5) anterior-posterior images from "
            "Guangzhou; adults, lateral views and other hospitals are outside its training.",
            "The dataset's test images differ from its train images: the threshold is "
            + ("Youden's on validation, where sensitivity and specificity are alike; "
               if chosen.sensitivity is None else
               f"the one that holds sensitivity {chosen.sensitivity} on validation; ")
            + "on the test images, specificity is far lower than on validation (see the "
            "test metrics): normal images of other sessions are called pneumonia more "
            "often.",
            "Bacterial and viral pneumonia are merged; other findings are not recognised.",
            "Images were squashed to a square without keeping the aspect ratio.",
        ],
        "date": date.today().isoformat(),
        "weights_file": "model.keras",
    }


def _fit_guard(network: keras.Model, fit: chest_xray.Split, validation: chest_xray.Split,
               folder: Path, seed: int, side: int = SIDE, normalization: str = "unit") -> dict:
    return fit_guard(network, fit.paths, fit.labels, validation.paths, side, normalization,
                     folder, f"validation split of the official train folder "
                     f"({len(validation.paths)} images, held out by patient, seed {seed})")


def fit_domain_guard(model, data: str | None = None) -> dict:
    """The shipped model's domain guard (:mod:`dxcore.images.domain`), fitted on the same
    split of the official train folder as the model (its card's seed), never the test
    folder; writes the parameters file beside the card and returns the card's
    ``runtime.domain_guard`` and ``methods.domain_guard``."""
    seed = int(model.card["training"]["seed"])
    fit, validation = chest_xray.train_validation_split(
        chest_xray.official_split("train", data), seed=seed)
    spec = model.card.input_spec
    return {"runtime": _fit_guard(model.network, fit, validation, model.card.folder, seed,
                                  int(spec["side"]), spec.get("normalization", "unit")),
            "method": DOMAIN_GUARD_METHOD}


def fit_population_guard(model, data: str | None = None) -> dict:
    """The shipped model's population guard (:mod:`dxcore.images.population`): the age
    limit, and the image check fitted on the same split of the official train folder as the
    model (its card's seed) and the FIT adults (:func:`dxcore.images.adult_cxr.adult_split`),
    never the test folder nor the HELD-OUT adults; writes the weights beside the card and
    returns the card's ``runtime.population``, ``methods.population_guard`` and the
    training-side figures (``validation_metrics.population_guard``)."""
    seed = int(model.card["training"]["seed"])
    fit, validation = chest_xray.train_validation_split(
        chest_xray.official_split("train", data), seed=seed)
    adults, _ = adult_cxr.adult_split(data)
    spec = model.card.input_spec
    fitted = fit_image_check(fit.paths, validation.paths, validation.patients, adults,
                             int(spec["side"]), spec.get("normalization", "unit"),
                             model.card.folder)
    return {"runtime": {**AGE_LIMIT, "image_guard": fitted["runtime"]},
            "method": POPULATION_GUARD_METHOD, "figures": fitted["figures"]}


class TqdmEpochs(keras.callbacks.Callback):
    """One tqdm bar over the epochs, showing the loss and the validation AUC."""

    def __init__(self, epochs: int):
        super().__init__()
        self.bar = tqdm(total=epochs, desc="Training", unit="epoch")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k in
                              ("loss", "val_auc", "val_loss")})
        self.bar.update(1)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.close()


class BestValidationEpoch(keras.callbacks.Callback):
    """Score each epoch on the validation patients (AUC, and the cross-entropy as "loss")
    and keep the best epoch's weights by ``select_by``; ``best_weights`` after training."""

    def __init__(self, x_validation: np.ndarray, y_validation: np.ndarray,
                 select_by: str = "auc"):
        super().__init__()
        self.x, self.y, self.select_by = x_validation, y_validation, select_by
        self.best_score, self.best_epoch, self.best_weights = -np.inf, -1, None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        probability = softmax(batched_outputs(self.model, self.x, 64)["logits"], axis=-1)
        scores = {"auc": float(roc_auc_score(self.y, probability[:, 1])),
                  "loss": float(log_loss(self.y, probability, labels=[0, 1]))}
        if logs is not None:
            logs.update({f"val_{name}": value for name, value in scores.items()})
        score = scores["auc"] if self.select_by == "auc" else -scores["loss"]
        if score > self.best_score:
            self.best_score, self.best_epoch = score, epoch + 1
            self.best_weights = self.model.get_weights()
