"""A second image model that lives only in the test suite: proof that several models of one
modality are routed by content (each one's domain guard tried; the best-fitting answers).

Brain MRI slices of ``ood_brain_mri`` (Nickparvar M., "Brain Tumor MRI Dataset", Kaggle
2021: 50 each of glioma, meningioma, pituitary tumour and no tumour; 224 x 224 JPEG), read
as 64 x 64 grayscale by the image modality's own reader and model class, classed tumour or
no tumour by a CNN of about 5,000 parameters that trains in a few seconds on two CPU cores,
with the image modality's domain guard (:mod:`dxcore.images.domain`) fitted on its training
slices. Nothing of it is saved in the repository: :func:`build` writes its card, weights and
guard into a folder the tests give (a temporary one).

    card = build(folder, data_dir())   # train, fit the guard, write the card
    get_model(MODEL_ID, folder).predict("slice.jpg")
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import keras
import numpy as np
from keras import layers

from dxcore.card_writing import interface_of, save_weights_file, training_software, write_card
from dxcore.cards import ModelCard
from dxcore.datasets import require
from dxcore.images.domain import decode_for_guard, fit_guard

MODEL_ID = "toy-brain-mri"
SIDE = 64
CLASS_NAMES = ["no tumour", "tumour"]
EPOCHS = 40
# Every fifth slice is held out from everything (the tests' unseen slices), the next fifth
# sets the guard's thresholds, the rest is fitted.
FOLDS = 5


def slices(data: Path) -> tuple[list[Path], np.ndarray]:
    """The 200 slices in name order and their labels (1: a tumour)."""
    paths = sorted(require(data / "ood_brain_mri", "brain MRI (ood_brain_mri)").glob("*.jpg"))
    return paths, np.array([0 if path.name.startswith("notumor") else 1 for path in paths])


def unseen_slices(data: Path) -> list[Path]:
    """The slices neither fitted nor used for the guard's thresholds."""
    return slices(data)[0][::FOLDS]


def tiny_cnn() -> keras.Model:
    """Two strided convolutions (the last ``last_conv``), the pooled features (``pool``, the
    guard's feature layer) and a linear head (``logits``)."""
    image = keras.Input((SIDE, SIDE, 1), name="image")
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="conv1")(image)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", name="last_conv")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(image, layers.Dense(len(CLASS_NAMES), name="logits")(x), name="tiny_cnn")


def build(folder: Path, data: Path, seed: int = 0) -> ModelCard:
    """``folder/toy-brain-mri``: trained, its guard fitted, its card written."""
    paths, labels = slices(data)
    index = np.arange(len(paths))
    fitted = index % FOLDS > 1
    held = index % FOLDS == 1
    x, _ = decode_for_guard([paths[k] for k in index[fitted]], SIDE, "unit")
    keras.utils.set_random_seed(seed)
    network = tiny_cnn()
    network.compile(keras.optimizers.Adam(1e-2),
                    keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    network.fit(x, labels[fitted], epochs=EPOCHS, batch_size=20, verbose=0)
    out_dir = folder / MODEL_ID
    out_dir.mkdir(parents=True)
    save_weights_file(network, out_dir / "model.keras")
    guard = fit_guard(network, [paths[k] for k in index[fitted]], labels[fitted],
                      [paths[k] for k in index[held]], SIDE, "unit", out_dir,
                      "held-out fifth of the slices")
    return write_card({
        "id": MODEL_ID,
        "name": "Toy: a brain tumour on an MRI slice",
        "modality": "image",
        "task": "A brain MRI slice as tumour or no tumour",
        "class_names": CLASS_NAMES,
        "licence": None,
        "architecture": f"two Conv2D layers, linear head; {network.count_params():,} parameters",
        "intended_use": "Testing routing by content between image models only.",
        "limitations": ["120 training slices; a test fixture, not a diagnostic model."],
        "date": date.today().isoformat(),
        "software": training_software(),
        "training_data": {
            "dataset": "Brain Tumor MRI Dataset (test split), ood_brain_mri",
            "dataset_id": "kaggle:masoudnickparvar/brain-tumor-mri-dataset",
            "licence": None,
            "references": ["Nickparvar M., Brain Tumor MRI Dataset, Kaggle (2021)"],
            "split": "slices in name order: every fifth never used, the next fifth sets the "
                     "guard's thresholds, the rest fitted",
        },
        "interface": interface_of(network, inputs={
            "image": {"range": [0.0, 1.0], "channels": ["grey"]}}),
        "runtime": {"input": {"side": SIDE, "normalization": "unit"},
                    "decision": {"positive_class": "tumour", "threshold": 0.5},
                    "calibration_temperature": 1.0, "explainer_layer": "last_conv",
                    "domain_guard": guard},
        "test_metrics": {},
        "weights_file": "model.keras",
    }, out_dir)
