"""Keras callbacks shared by the training recipes: a tqdm progress bar and best-epoch
selection by validation AUC (computed with scikit-learn on the held-out patients)."""

from __future__ import annotations

import keras
import numpy as np
from scipy.special import softmax
from sklearn.metrics import roc_auc_score
from tqdm import tqdm


def logits_in_batches(model: keras.Model, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Inference-mode logits without ``model.predict``'s per-call overhead."""
    return np.concatenate([
        np.asarray(model(x[i:i + batch_size], training=False))
        for i in range(0, len(x), batch_size)
    ])


class TqdmEpochs(keras.callbacks.Callback):
    """One tqdm bar over the epochs, showing the loss and the validation AUC."""

    def __init__(self, epochs: int):
        super().__init__()
        self.bar = tqdm(total=epochs, desc="Training", unit="epoch")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k in
                              ("loss", "val_auc")})
        self.bar.update(1)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.close()


class BestValidationAUC(keras.callbacks.Callback):
    """Track the validation AUC each epoch and restore the best epoch's weights at the end."""

    def __init__(self, x_validation: np.ndarray, y_validation: np.ndarray):
        super().__init__()
        self.x, self.y = x_validation, y_validation
        self.best_auc, self.best_epoch, self.best_weights = -1.0, -1, None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        probability = softmax(logits_in_batches(self.model, self.x), axis=-1)[:, 1]
        auc = float(roc_auc_score(self.y, probability))
        if logs is not None:
            logs["val_auc"] = auc
        if auc > self.best_auc:
            self.best_auc, self.best_epoch = auc, epoch + 1
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
