"""The beat classifier, a functional Keras model with named layers (tf-keras-vis needs a
functional model; the explainers address the last convolution, ``last_conv``, by name). It
ends in ``logits`` (no softmax): calibration divides them by a temperature afterwards."""

from __future__ import annotations

import keras
from keras import layers

LAST_CONV = "last_conv"


def ecg_beat_rnn(window: int = 128, channels: int = 2, context_features: int = 11,
                 classes: int = 4, dropout: float = 0.3) -> keras.Model:
    """A Conv1D front-end and a bidirectional GRU over one beat's waveform, joined with its
    RR-interval and shape context; about 30 k parameters.

    Two inputs: ``beat`` (window, channels: the beat and its difference from the record's
    median beat) and ``context`` (context_features,: RR ratios and similarity to the median
    beat). Three convolutions (the last named ``last_conv``, a 32-step map at 128 input
    steps, so Grad-CAM resolves about 22 ms) feed a GRU (Cho K et al., EMNLP 2014) that
    reads the beat in both directions; the context branch matters most for
    supraventricular beats, whose shape is often normal.

    Example:
        >>> model = ecg_beat_rnn()
        >>> [tuple(i.shape) for i in model.inputs], model.output_shape
        ([(None, 128, 2), (None, 11)], (None, 4))
    """
    beat = keras.Input((window, channels), name="beat")
    context = keras.Input((context_features,), name="context")
    x = beat
    for name, filters, width in (("conv1", 16, 7), ("conv2", 32, 5), (LAST_CONV, 32, 5)):
        x = layers.Conv1D(filters, width, padding="same", use_bias=False, name=name)(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        x = layers.ReLU(name=f"{name}_relu")(x)
        if name != LAST_CONV:
            x = layers.MaxPooling1D(2, name=f"{name}_pool")(x)
    x = layers.Bidirectional(layers.GRU(32, name="gru"), name="bigru")(x)
    c = layers.Dense(32, activation="relu", name="context_dense")(context)
    h = layers.Concatenate(name="joined")([x, c])
    h = layers.Dropout(dropout, name="dropout")(h)
    h = layers.Dense(64, activation="relu", name="head")(h)
    h = layers.Dropout(dropout, name="head_dropout")(h)
    outputs = layers.Dense(classes, name="logits")(h)
    return keras.Model([beat, context], outputs, name="ecg_beat_rnn")
