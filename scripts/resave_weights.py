"""Re-save shipped weights without optimizer state, and prove nothing else changed.

    python scripts/resave_weights.py [MODEL_ID ...]        # re-save (default: every model)
    python scripts/resave_weights.py --compare REV [ID ...]  # check only: REV's files vs now

A weights file saved from a compiled network also holds its optimizer's state (AdamW: two
more copies of every weight), which inference, loading with ``compile=False``, never reads.
Re-saving loads the file uncompiled and saves it again
(:func:`dxcore.card_writing.save_weights_file`), then keeps the new file only if, against
the old one, (1) every variable is bitwise equal and (2) every network output is bitwise
equal on probe inputs: random inputs drawn from the card's ``interface`` and, when the
datasets are there, real inputs prepared by the model's own pipeline (test images, an
MIT-BIH record's beats, test-split case records). The card's ``weights_sha256`` is then stamped
anew. ``--compare REV`` runs the same checks between the weights file of git revision
``REV`` and the current one, writing nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from dxcore.batching import Batch, batched_outputs  # noqa: E402
from dxcore.card_writing import save_weights_file, write_card  # noqa: E402
from dxcore.cards import CARD_FILE  # noqa: E402
from dxcore.datasets import data_dir  # noqa: E402
from dxcore.errors import DxError  # noqa: E402
from dxcore.registry import get_card, list_cards, model_for  # noqa: E402


def random_inputs(card, rows: int = 16, seed: int = 0) -> Batch:
    """Inputs of the card's interface: uniform in each input's range, else standard normal."""
    rng = np.random.default_rng(seed)
    parts = []
    for spec in card.interface["inputs"]:
        shape = (rows, *spec["shape"][1:])
        low, high = spec["range"] or (None, None)
        values = rng.normal(size=shape) if low is None else rng.uniform(low, high, shape)
        parts.append(values.astype(spec["dtype"]))
    return parts if len(parts) > 1 else parts[0]


def real_inputs(card) -> tuple[Batch | None, str]:
    """Network inputs prepared by the model's own pipeline from dataset files (None, and
    why, when the dataset is not there)."""
    model = model_for(card)  # the pipeline only: its weights are never loaded here
    try:
        if card["modality"] == "image":
            from dxcore.images import chest_xray

            test = chest_xray.official_split("test")
            chosen = [test.paths[i] for i in (0, 100, 300, 400, 500, 600)]
            x = np.concatenate([model.preprocess(model.read(str(p))).x for p in chosen])
            return x, f"{len(chosen)} official test images"
        if card["modality"] == "ecg":
            record = data_dir() / "mitdb" / "100"
            x = model.preprocess(model.read(str(record))).x
            return x, f"the {len(x[0])} beats of MIT-BIH record 100"
        if card.id == "leukemia-golub":
            from dxcore.datasets import golub

            table = golub.official_split("test")[0]
        else:
            from dxcore.registry import recipe_for

            table = recipe_for(card.id).split()[2]
        x = model.preprocess(table).x
        return x, f"the {len(x)} valid test-split case records"
    except (DxError, OSError) as error:
        return None, f"no real inputs ({error})"


def architecture(path: Path) -> Any:
    """The network's configuration in a .keras file, without its compile settings and
    without ``shared_object_id`` (memory addresses Keras writes for objects several layers
    shared when the network was saved, e.g. one dtype policy; a reloaded network's layers
    no longer share them)."""
    def strip(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: strip(v) for k, v in item.items() if k != "shared_object_id"}
        return [strip(v) for v in item] if isinstance(item, list) else item

    with zipfile.ZipFile(path) as archive:
        return strip(json.loads(archive.read("config.json"))["config"])


def stored_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array in a .keras file's weights store, by its path there."""
    found: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive, \
            h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as store:
        store.visititems(lambda name, item: found.__setitem__(name, item[()])
                         if isinstance(item, h5py.Dataset) else None)
    return found


def weights(network: keras.Model) -> dict[str, np.ndarray]:
    """The loaded network's weights by layer name, position and name (weight paths carry
    session counters that differ between two loads). Dropout's seed-generator states are
    not weights: they are not stored, and inference never draws from them."""
    return {f"{layer.name}[{k}]/{w.name}": np.asarray(w)
            for layer in network.layers for k, w in enumerate(layer.weights)}


def assert_equal_arrays(old: dict[str, np.ndarray], new: dict[str, np.ndarray],
                        what: str) -> int:
    assert old.keys() == new.keys(), f"different {what}: {sorted(old.keys() ^ new.keys())[:3]}"
    for name, value in old.items():
        assert value.dtype == new[name].dtype and np.array_equal(value, new[name]), \
            f"{what} {name} differs"
    return sum(v.size for v in old.values())


def compare(card, old_path: Path, new_path: Path) -> list[str]:
    """The checks between two weights files of ``card``'s network, as lines; raises
    AssertionError on any difference."""
    old = keras.saving.load_model(old_path, compile=False, safe_mode=True)
    new = keras.saving.load_model(new_path, compile=False, safe_mode=True)
    assert architecture(old_path) == architecture(new_path), "different architectures"
    old_store, new_store = stored_arrays(old_path), stored_arrays(new_path)
    optimizer = {k: v for k, v in old_store.items() if k.startswith("optimizer/")}
    assert not any(k.startswith("optimizer/") for k in new_store), "optimizer state kept"
    layers = {k: v for k, v in old_store.items() if k not in optimizer}
    stored = assert_equal_arrays(layers, new_store, "stored array")
    loaded = assert_equal_arrays(weights(old), weights(new), "loaded weight")
    lines = [f"same architecture (config.json); stored layer arrays bitwise equal ({stored:,} "
             f"values), loaded weights bitwise equal ({loaded:,} values); optimizer state "
             f"dropped ({len(optimizer)} arrays, {sum(v.size for v in optimizer.values()):,} "
             "values)"]
    x_real, real_what = real_inputs(card)
    for what, x in (("16 random interface inputs", random_inputs(card)), (real_what, x_real)):
        if x is None:
            lines.append(real_what)
            continue
        a, b = batched_outputs(old, x, 256), batched_outputs(new, x, 256)
        assert a.keys() == b.keys()
        for key in a:
            assert np.array_equal(a[key], b[key]), f"output {key} differs on {what}"
        lines.append(f"outputs {sorted(a)} bitwise equal on {what}")
    return lines


def size_mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.2f} MB"


def resave(card) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        new_path = Path(scratch) / card.weights_path.name
        save_weights_file(keras.saving.load_model(card.weights_path, compile=False,
                                                  safe_mode=True), new_path)
        lines = compare(card, card.weights_path, new_path)
        print(f"{card.id}: {size_mb(card.weights_path)} -> {size_mb(new_path)}")
        shutil.copyfile(new_path, card.weights_path)
    fields = json.loads((card.folder / CARD_FILE).read_text())
    stamped = write_card(fields, card.folder)
    for line in [*lines, f"weights_sha256 {stamped['weights_sha256']}"]:
        print(f"    {line}")


def compare_with_revision(card, revision: str) -> None:
    relative = card.weights_path.relative_to(ROOT).as_posix()
    old_bytes = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:{relative}"],
                               check=True, capture_output=True).stdout
    with tempfile.TemporaryDirectory() as scratch:
        old_path = Path(scratch) / card.weights_path.name
        old_path.write_bytes(old_bytes)
        lines = compare(card, old_path, card.weights_path)
        print(f"{card.id}: {revision} {size_mb(old_path)}, now {size_mb(card.weights_path)}")
    for line in lines:
        print(f"    {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_ids", nargs="*", help="default: every shipped model")
    parser.add_argument("--compare", metavar="REV", help="only compare REV's files with now")
    args = parser.parse_args()
    cards = [get_card(i) for i in args.model_ids] if args.model_ids else list_cards()
    for card in cards:
        compare_with_revision(card, args.compare) if args.compare else resave(card)
    return 0


if __name__ == "__main__":
    sys.exit(main())
