"""The chest X-ray CNN, a functional Keras model with named layers.

Functional (not ``Sequential``) because tf-keras-vis needs ``output_names``; named layers
because the explainers address the last convolution by name. Every model ends in
``logits`` (no softmax): calibration divides the logits by a temperature afterwards.
"""

from __future__ import annotations

import keras
from keras import layers

LAST_CONV = "last_conv"


def _conv_block(x, filters: int, convs: int, name: str, last: bool = False):
    for i in range(convs):
        conv_name = LAST_CONV if last and i == convs - 1 else f"{name}_conv{i + 1}"
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=conv_name)(x)
        x = layers.BatchNormalization(name=f"{conv_name}_bn")(x)
        x = layers.ReLU(name=f"{conv_name}_relu")(x)
    return x


def chest_xray_cnn(side: int = 128, classes: int = 2, dropout: float = 0.3) -> keras.Model:
    """A small VGG-style CNN for grayscale radiographs, about 0.4 M parameters.

    Five stages, each halving the resolution; the last convolution (``last_conv``) keeps an
    8x8 grid at 128 px input, fine enough for a Grad-CAM++ map to point at a lung zone.

    Example:
        >>> model = chest_xray_cnn(64)
        >>> model.output_shape
        (None, 2)
    """
    inputs = keras.Input((side, side, 1), name="image")
    x = _conv_block(inputs, 16, 1, "stage1")
    x = layers.MaxPooling2D(name="stage1_pool")(x)
    x = _conv_block(x, 32, 2, "stage2")
    x = layers.MaxPooling2D(name="stage2_pool")(x)
    x = _conv_block(x, 64, 2, "stage3")
    x = layers.MaxPooling2D(name="stage3_pool")(x)
    x = _conv_block(x, 128, 2, "stage4")
    x = layers.MaxPooling2D(name="stage4_pool")(x)
    x = _conv_block(x, 128, 1, "stage5", last=True)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="chest_xray_cnn")
