"""A network compiled for inference: the Keras network exported as a LiteRT flatbuffer
(``ai-edge-litert``, Google's TensorFlow Lite runtime), run without importing TensorFlow.

Why: importing TensorFlow takes 4-9 s on a laptop CPU, which a clinician waits for before
the first answer. The compiled file gives the same outputs (checked when it is exported, the
largest difference recorded in the card's ``runtime.compiled``) and loads in milliseconds;
the Keras network is still what the explainers, training and evaluation read.

Example (needs the shipped files)::

    from dxcore import get_model
    get_model("cxr-pneumonia").predict("chest.png")   # no TensorFlow imported
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dxcore import native_stderr_silenced
from dxcore.errors import DxError

if TYPE_CHECKING:
    import keras

COMPILED_FILE = "model.tflite"
FORMAT = "LiteRT flatbuffer (ai-edge-litert), float32, exported by Keras"


class CompiledNetwork:
    """Called like a Keras network in inference mode: ``network(x) -> {output: array}``.

    A LiteRT interpreter is not thread-safe, so each thread gets its own (one costs about a
    millisecond); Streamlit shares one model across its sessions' threads."""

    def __init__(self, content: bytes, input_name: str):
        self._content, self._input_name = content, input_name
        self._local = threading.local()
        self._threads = os.cpu_count() or 1
        with native_stderr_silenced():
            self._interpreter()  # a file LiteRT cannot read fails here, at load time

    def _interpreter(self) -> Any:
        """A new LiteRT interpreter of the file, or one clear error."""
        from ai_edge_litert.interpreter import Interpreter

        try:
            return Interpreter(model_content=self._content, num_threads=self._threads)
        except (ValueError, RuntimeError) as error:
            raise DxError("The compiled model file cannot be read; it was not "
                          "loaded.") from error

    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        """Each output's shape, the batch axis first (as exported, so its size is arbitrary)."""
        with native_stderr_silenced():
            details = self._interpreter().get_signature_runner().get_output_details()
        return {name: tuple(int(n) for n in detail["shape"]) for name, detail in details.items()}

    def __call__(self, x: np.ndarray, training: bool = False) -> dict[str, np.ndarray]:
        inputs = {self._input_name: np.ascontiguousarray(x, np.float32)}
        runner = getattr(self._local, "runner", None)
        if runner is None:  # this thread's first call; it resizes the input to each batch
            # Making the interpreter and its first call print "INFO: Created ... delegate".
            with native_stderr_silenced():
                runner = self._local.runner = self._interpreter().get_signature_runner()
                outputs = runner(**inputs)
        else:
            outputs = runner(**inputs)
        return {name: np.array(value) for name, value in outputs.items()}


def load_compiled(path: Path, input_name: str) -> CompiledNetwork:
    """The compiled network in ``path``; ``input_name``: the network's one input (the
    exported signature keeps the Keras input layer's name)."""
    return CompiledNetwork(path.read_bytes(), input_name)


def export_compiled(network: keras.Model, folder: Path, probe: np.ndarray,
                    checked_on: str) -> dict[str, Any]:
    """Write ``network`` (a dict-output functional model) as ``COMPILED_FILE`` in ``folder``
    and return the card's ``runtime.compiled``: the largest absolute difference between
    its outputs and the network's on ``probe`` (network inputs), or :class:`ValueError` when
    it is not within 1e-4 of the largest output."""
    from dxcore.batching import batched_outputs
    from dxcore.cards import sha256_of

    path = folder / COMPILED_FILE
    network.export(str(path), format="litert", verbose=False)
    expected = batched_outputs(network, probe, 64)
    got = batched_outputs(load_compiled(path, network.input.name), probe, 64)
    if sorted(got) != sorted(expected):
        raise ValueError(f"the compiled outputs {sorted(got)} are not {sorted(expected)}")
    difference = max(float(np.abs(got[k] - expected[k]).max()) for k in expected)
    scale = max(float(np.abs(expected[k]).max()) for k in expected)
    if difference > 1e-4 * max(scale, 1.0):
        raise ValueError(f"the compiled network differs from Keras by {difference}")
    return {"file": COMPILED_FILE, "sha256": sha256_of(path), "format": FORMAT,
            "outputs": sorted(expected), "max_abs_difference": difference,
            "checked_on": checked_on}
