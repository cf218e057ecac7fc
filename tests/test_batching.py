"""Batches of network inputs (dxcore.batching): the one forward pass gives the same outputs
whatever the batch size, and an empty batch never reaches the network."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.batching import batch_size_of, batched_outputs, take
from dxcore.ecg.network import ecg_beat_rnn
from dxcore.records.network import record_autoencoder


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_batched_outputs_do_not_depend_on_the_batch_size(batch_size):
    network = record_autoencoder(np.zeros(4), np.ones(4), hidden=8, code=2)
    x = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    whole = {k: np.asarray(v) for k, v in network(x, training=False).items()}
    batched = batched_outputs(network, x, batch_size)
    assert set(batched) == {"logits", "deviation"}
    for name in whole:
        np.testing.assert_allclose(batched[name], whole[name], atol=1e-6)


def test_batched_outputs_of_an_empty_batch_have_the_right_width():
    # Without calling the network: oneDNN on some CPUs fails on an empty batch.
    two_inputs = ecg_beat_rnn()
    out = batched_outputs(two_inputs, [np.zeros((0, 128, 2), np.float32),
                                       np.zeros((0, 11), np.float32)], 8)
    assert out["logits"].shape == (0, 4)
    dict_outputs = record_autoencoder(np.zeros(4), np.ones(4), hidden=8, code=2)
    out = batched_outputs(dict_outputs, np.zeros((0, 4), np.float32), 8)
    assert out["logits"].shape == (0, 2) and out["deviation"].shape == (0, 4)


def test_an_empty_batch_never_reaches_the_network():
    class Refusing:
        def output_shapes(self) -> dict[str, tuple[int, ...]]:
            return {"logits": (1, 3)}

        def __call__(self, x, training=False):
            raise AssertionError("called on an empty batch")

    assert batched_outputs(Refusing(), np.zeros((0, 5), np.float32), 8)["logits"].shape == (0, 3)


def test_take_slices_every_input_of_a_multi_input_batch_alike():
    x = [np.arange(10).reshape(5, 2), np.arange(5)]
    rows = take(x, np.array([0, 3]))
    assert [part.tolist() for part in rows] == [[[0, 1], [6, 7]], [0, 3]]
    assert batch_size_of(rows) == 2 and batch_size_of(np.zeros((4, 3))) == 4
