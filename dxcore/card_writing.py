"""Writing a model card and the files beside it: what training uses (and ``python -m dxcore
calibrate`` and ``evaluate --store``, which add to a card); inference only reads cards
(:mod:`dxcore.cards`, which validates every card written here).

A recipe saves its network with :func:`save_weights_file`, describes it with
:func:`interface_of` and :func:`training_software`, writes long lists beside the card with
:func:`write_json` and returns the card's fields, which :func:`write_card` stamps, validates
and writes.

Example:
    >>> strict_json({"auc": 0.9, "ppv": float("nan")}, indent=None)
    '{"auc": 0.9, "ppv": null}'
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dxcore.cards import (
    CARD_FILE,
    SCHEMA_VERSION,
    ModelCard,
    card_schema,
    fields_file_content,
    network_io,
    read_card,
    sha256_of,
    validate_card,
)
from dxcore.paths import models_dir

if TYPE_CHECKING:
    import keras

FIELDS_FILE = "fields.json"
TRAINING_LOG_FILE = "training_log.json"
# Record models with more fields than this keep them in FIELDS_FILE, not in the card.
INLINE_FIELDS_MAX = 100


def interface_of(network: keras.Model, inputs: dict[str, dict] | None = None,
                 outputs: dict[str, dict] | None = None) -> dict[str, Any]:
    """A card's ``interface`` read off ``network``; ``inputs`` adds each named input's
    ``range``, ``channels`` and ``description`` (both null unless given), ``outputs`` each
    output's ``description``. The ``logits`` output comes first."""
    found_inputs, found_outputs = network_io(network)
    inputs, outputs = inputs or {}, outputs or {}
    found_outputs.sort(key=lambda item: item[0] != "logits")
    return {
        "inputs": [{"name": name, "dtype": dtype, "shape": shape,
                    "range": None, "channels": None, **inputs.get(name, {})}
                   for name, dtype, shape in found_inputs],
        "outputs": [{"name": name, "dtype": dtype, "shape": shape, **outputs.get(name, {})}
                    for name, dtype, shape in found_outputs],
    }


def training_software() -> dict[str, str]:
    """The versions of Python, TensorFlow, Keras and NumPy running now (for a new card)."""
    import platform

    import keras
    import numpy as np
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__,
            "source": "recorded by the training run"}


def strict_json(content: Any, indent: int) -> str:
    """JSON without NaN or infinity, which are not JSON: an undefined figure (the PPV of a
    class never predicted) is written as null.

    >>> strict_json({"ppv": float("nan"), "n": [1.5, float("inf")]}, indent=None)
    '{"ppv": null, "n": [1.5, null]}'
    """
    def finite(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [finite(v) for v in value]
        return value

    return json.dumps(finite(content), indent=indent, allow_nan=False)


def write_json(folder: Path, name: str, content: Any) -> str:
    """Write a file that a card names (a field list, a training log) beside it; returns
    ``name``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(strict_json(content, indent=1) + "\n")
    return name


def write_card(fields: dict[str, Any], folder: Path) -> ModelCard:
    """Stamp the format version and the SHA-256 of the weights (and of a field-list file)
    into ``fields``, validate, and write the card beside the weights. ``fields`` itself is
    left alone."""
    fields = copy.deepcopy(fields)
    fields["schema_version"] = SCHEMA_VERSION
    fields["weights_sha256"] = sha256_of(folder / fields["weights_file"])
    spec = (fields.get("runtime") or {}).get("input") or {}
    if "fields_file" in spec:
        path = folder / spec["fields_file"]
        spec["fields_sha256"] = sha256_of(path)
        fields_file_content(path, spec["fields_sha256"], f"The field list {path}")
    validate_card(fields, folder / CARD_FILE)
    order = list(card_schema()["properties"])  # the schema's order: every card alike
    fields = dict(sorted(fields.items(), key=lambda item: order.index(item[0])))
    (folder / CARD_FILE).write_text(strict_json(fields, indent=2) + "\n")
    return read_card(folder / CARD_FILE)


def save_weights_file(network: keras.Model, path: Path) -> None:
    """Save ``network`` as a card's weights file: architecture and weights, without the
    optimizer state a compiled network carries (inference loads with ``compile=False`` and
    never reads it; for AdamW it is two more copies of every weight). The network is saved,
    reloaded uncompiled and saved again, so new and re-saved shipped files come out alike."""
    import tempfile

    import keras

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        full = Path(scratch) / "compiled.keras"
        network.save(full)
        keras.saving.load_model(full, compile=False, safe_mode=True).save(path)


def earlier_test_evaluations(model_id: str, out_dir: Path) -> list[dict]:
    """Every test measurement made so far of ``model_id`` (by the card in ``out_dir``, else
    by the shipped one): a retrained card keeps counting them."""
    for folder in (out_dir, models_dir() / model_id):
        if (folder / CARD_FILE).is_file():
            return json.loads((folder / CARD_FILE).read_text()).get("test_evaluations", [])
    return []
