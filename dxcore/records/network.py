"""The network of every record model: a denoising autoencoder with a classifier head on its
code. Functional Keras with named layers, as the explainers address layers by name.

::

    record -> standardize -> input_dropout -> encoder_hidden -> code -> head_dropout -> logits
                  |                                              |
                  |                                 decoder_hidden -> reconstruction
                  +------------------------- deviation = standardized - reconstruction

``standardize`` holds the training split's means and variances (so the checksummed weights
file carries them). ``deviation`` is each input column's distance from what the code can
reproduce, in training standard deviations: its mean square is the reconstruction error
behind the atypicality score. With missing-value indicators among the inputs
(``missing_columns``, :func:`dxcore.records.preprocessing.indicator_columns`), the deviation of
a value that was not recorded is 0: nothing is reconstructed, or learnt, from a fill value.
Both losses train together, so the code must describe the
case as a whole, not only the class (Le L, Patterson A, White M, "Supervised autoencoders",
NeurIPS 2018).

Example:
    >>> import numpy as np
    >>> model = record_autoencoder(np.zeros(5), np.ones(5), hidden=8, code=3)
    >>> {name: tuple(out.shape) for name, out in model(np.zeros((1, 5))).items()}
    {'logits': (1, 2), 'deviation': (1, 5)}
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

LOGITS = "logits"
DEVIATION = "deviation"
STANDARDIZE = "standardize"
MISSING_COLUMNS = "missing_columns"


def record_autoencoder(mean: np.ndarray, variance: np.ndarray, hidden: int = 32,
                       code: int = 8, input_dropout: float = 0.1, head_dropout: float = 0.2,
                       l2: float = 1e-4, classes: int = 2,
                       missing_columns: np.ndarray | None = None) -> keras.Model:
    """The supervised autoencoder for ``len(mean)`` encoded input columns; with
    ``missing_columns`` (which value columns each indicator column marks as not recorded),
    unrecorded values add nothing to the deviation."""
    regulariser = keras.regularizers.L2(l2)
    inputs = keras.Input((len(mean),), name="record")
    standardized = layers.Normalization(mean=mean, variance=variance, name=STANDARDIZE)(inputs)
    x = layers.Dropout(input_dropout, name="input_dropout")(standardized)
    x = layers.Dense(hidden, activation="gelu", kernel_regularizer=regulariser,
                     name="encoder_hidden")(x)
    representation = layers.Dense(code, activation="tanh", kernel_regularizer=regulariser,
                                  name="code")(x)
    x = layers.Dense(hidden, activation="gelu", kernel_regularizer=regulariser,
                     name="decoder_hidden")(representation)
    reconstruction = layers.Dense(len(mean), name="reconstruction")(x)
    if missing_columns is None:
        deviation = layers.Subtract(name=DEVIATION)([standardized, reconstruction])
    else:
        difference = layers.Subtract(name="difference")([standardized, reconstruction])
        # a fixed 0/1 matrix: indicator columns in, the value columns they mark out
        unrecorded = layers.Dense(len(mean), use_bias=False, trainable=False,
                                  name=MISSING_COLUMNS)(inputs)
        recorded = layers.Rescaling(-1.0, offset=1.0, name="recorded")(unrecorded)
        deviation = layers.Multiply(name=DEVIATION)([difference, recorded])
    head = layers.Dropout(head_dropout, name="head_dropout")(representation)
    logits = layers.Dense(classes, kernel_regularizer=regulariser, name=LOGITS)(head)
    model = keras.Model(inputs, {LOGITS: logits, DEVIATION: deviation},
                        name="supervised_autoencoder")
    if missing_columns is not None:
        model.get_layer(MISSING_COLUMNS).set_weights([np.asarray(missing_columns, np.float32)])
    return model


def classifier(model: keras.Model) -> keras.Model:
    """The same weights, logits only (what attribution methods differentiate)."""
    return keras.Model(model.input, model.get_layer(LOGITS).output)


def standardization(model: keras.Model) -> tuple[np.ndarray, np.ndarray]:
    """The training split's column means and variances, as the network stores them."""
    layer = model.get_layer(STANDARDIZE)
    return (np.asarray(layer.mean).reshape(-1), np.asarray(layer.variance).reshape(-1))
