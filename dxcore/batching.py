"""Batches of network inputs, and the one forward pass every part of the project runs.

A network input is one array, or one array per input of a multi-input network (the ECG
network reads a beat and its rhythm features); the first axis is always the batch. The
helpers here treat both alike, so that prediction (:mod:`dxcore.contract`), the compiled
network's export check (:mod:`dxcore.compiled`), the explainers (:mod:`dxcore.explain`),
training and evaluation slice and run batches the same way.

Example:
    >>> x = [np.zeros((5, 3)), np.ones((5, 2))]
    >>> batch_size_of(x), [part.shape for part in take(x, slice(1, 3))]
    (5, [(2, 3), (2, 2)])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:  # Keras (and TensorFlow) are imported only where a network is loaded
    import keras

# A network input: one array, or one array per input of a multi-input network; the first
# axis is always the batch.
Batch = np.ndarray | list[np.ndarray]


class CallableNetwork(Protocol):
    """A network called in inference mode as a Keras network is: a Keras model, or one
    compiled for inference (:class:`dxcore.compiled.CompiledNetwork`)."""

    def __call__(self, x: Batch, training: bool = False) -> Any:
        """The outputs of ``x``: an array, or ``{output name: array}``."""


def batch_size_of(x: Batch) -> int:
    return len(x[0]) if isinstance(x, list) else len(x)


def take(x: Batch, index: slice | np.ndarray) -> Batch:
    """Rows ``index`` of every input."""
    return [part[index] for part in x] if isinstance(x, list) else x[index]


def batched_outputs(network: keras.Model | CallableNetwork, x: Batch,
                    batch_size: int) -> dict[str, np.ndarray]:
    """The network's outputs in inference mode, batch by batch, without ``model.predict``'s
    per-call overhead. Always a dict: a single-output network's output is ``"logits"``.
    Every forward pass of the project (prediction, training, evaluation) goes through here.
    """
    if batch_size_of(x) == 0:
        return empty_outputs(network)
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, batch_size_of(x), batch_size):
        out = network(take(x, slice(start, start + batch_size)), training=False)
        parts.append({k: np.asarray(v) for k, v in out.items()} if isinstance(out, dict)
                     else {"logits": np.asarray(out)})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def empty_outputs(network: keras.Model | CallableNetwork) -> dict[str, np.ndarray]:
    """The outputs of an empty batch, shaped from the network's declared outputs.

    The network is never called on an empty batch: oneDNN on CPUs with AVX-512 and AMX
    fails inside a batch normalisation given zero rows (seen with the ECG network)."""
    declared = network.output_shapes() if hasattr(network, "output_shapes") else network.output
    if not isinstance(declared, dict):
        declared = {"logits": declared}
    return {name: np.zeros((0, *tuple(getattr(shape, "shape", shape))[1:]), np.float32)
            for name, shape in declared.items()}
