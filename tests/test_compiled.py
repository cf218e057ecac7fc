"""The compiled network (dxcore.compiled): the same outputs as the Keras network on real
inputs, refused when altered, safe across threads, and a chest X-ray predicted without
importing TensorFlow."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from dxcore.batching import batched_outputs
from dxcore.calibration import calibrated_probabilities
from dxcore.compiled import COMPILED_FILE, load_compiled
from dxcore.errors import DxError
from dxcore.registry import get_card, get_model, list_cards

ROOT = Path(__file__).resolve().parents[1]
COMPILED = [card.id for card in list_cards() if card.compiled is not None]


@pytest.mark.parametrize("model_id", COMPILED)
def test_compiled_outputs_match_keras_on_real_images(model_id, shipped_model, test_batch):
    model = shipped_model(model_id)
    expected = batched_outputs(model.forward_network, test_batch, 64)
    got = batched_outputs(model.compiled_network, test_batch, 3)  # batches of 3, 3 and 2
    assert sorted(got) == sorted(expected) == model.card.compiled["outputs"]
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], atol=1e-4, rtol=1e-4)
    # What prediction runs is the compiled network: the same probabilities as Keras's.
    np.testing.assert_allclose(
        model.probabilities(test_batch),
        calibrated_probabilities(expected["logits"], model.card.temperature), atol=1e-5)


@pytest.mark.parametrize("model_id", COMPILED)
def test_an_empty_batch_has_the_keras_networks_output_widths(model_id, shipped_model,
                                                             test_batch):
    model = shipped_model(model_id)
    empty = test_batch[:0]
    expected = batched_outputs(model.forward_network, empty, 64)
    got = batched_outputs(model.compiled_network, empty, 64)
    assert {k: v.shape for k, v in got.items()} == {k: v.shape for k, v in expected.items()}
    assert all(v.shape[0] == 0 and v.ndim == 2 and v.shape[1] > 0 for v in got.values())


def test_the_shipped_chest_xray_model_is_compiled():
    assert "cxr-pneumonia" in COMPILED


@pytest.mark.parametrize("model_id", COMPILED)
def test_a_compiled_file_that_does_not_match_its_card_is_refused(model_id, tmp_path):
    folder = tmp_path / model_id
    shutil.copytree(get_card(model_id).folder, folder)
    compiled = folder / COMPILED_FILE
    content = bytearray(compiled.read_bytes())
    content[len(content) // 2] ^= 0xFF
    compiled.write_bytes(bytes(content))
    with pytest.raises(DxError, match="checksum mismatch"):
        get_model(model_id, tmp_path).load()
    compiled.unlink()
    with pytest.raises(DxError, match="missing"):
        get_model(model_id, tmp_path).compiled_network  # noqa: B018


def test_a_file_that_is_not_a_compiled_network_gets_one_clear_error(tmp_path):
    path = tmp_path / COMPILED_FILE
    path.write_bytes(b"not a flatbuffer" * 64)
    with pytest.raises(DxError, match="cannot be read"):
        load_compiled(path, "image")


def test_threads_share_one_compiled_network(cxr_model, test_batch):
    """Streamlit's sessions share one model: each thread runs its own interpreter."""
    network = cxr_model.compiled_network
    alone = network(test_batch)["logits"]

    def run(i: int) -> np.ndarray:
        return network(test_batch[i % 8:i % 8 + 1])["logits"][0]

    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(run, range(64)))
    np.testing.assert_allclose(np.stack(together), alone[np.arange(64) % 8], atol=1e-6)


# In a fresh interpreter: predict one chest X-ray, then explain it.
PROBE = """
import json, sys
from dxcore import get_model
model = get_model("cxr-pneumonia")
result = model.predict({path!r})
before = "tensorflow" in sys.modules or "keras" in sys.modules
explanation = model.explain(result, "gradcam++")
print(json.dumps({{"prediction": result.as_json()[0]["prediction"],
                  "tensorflow_before_explaining": before,
                  "map": list(explanation.values.shape)}}))
"""


def test_a_chest_xray_is_predicted_without_tensorflow_then_explained(test_xray_path,
                                                                       cxr_model):
    out = subprocess.run([sys.executable, "-c", PROBE.format(path=str(test_xray_path))],
                         cwd=ROOT, capture_output=True, text=True, timeout=180, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["tensorflow_before_explaining"] is False
    assert seen["prediction"] == cxr_model.predict(test_xray_path).as_json()[0]["prediction"]
    assert len(seen["map"]) == 2
