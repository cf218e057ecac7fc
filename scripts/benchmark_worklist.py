"""Worklist throughput for chest X-rays: images per second from a folder of JPEGs to
calibrated predictions (files read, decoded, preprocessed, the batched forward pass with the
domain guard, the decision rule and prediction sets), and its ratio to the network's own
batched throughput on the same images in the same run (the machine is shared and noisy, so
the ratio is what compares across runs; target >= 0.8, and >= 300 images/s).

    python scripts/benchmark_worklist.py [--folder PATH] [--repeats 3]

Default folder: the chest X-ray test split (``$DX_DATA_DIR/chest_xray/test``, 624 images).
Decoding alone is timed too: it is what parallel decoding could save at most.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from dxcore.datasets import data_dir  # noqa: E402
from dxcore.intake import CHUNK, Case, predict_cases  # noqa: E402
from dxcore.registry import get_model  # noqa: E402

MODEL = "cxr-pneumonia"


def best_seconds(run, repeats: int) -> float:
    """The fastest of ``repeats`` runs (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=data_dir() / "chest_xray" / "test")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    paths = sorted(p for p in args.folder.rglob("*") if p.suffix.lower() in (".jpeg", ".jpg"))
    if not paths:
        sys.exit(f"No JPEG files under {args.folder}; set DX_DATA_DIR or --folder.")
    model = get_model(MODEL).load()

    def prepared_batch() -> np.ndarray:
        return np.concatenate([model.preprocess(model.read(p)).x for p in paths])

    x = prepared_batch()
    model.forward(x[:CHUNK])  # warm-up: the first call traces the graph
    network = best_seconds(lambda: model.forward(x), args.repeats)
    decode = best_seconds(prepared_batch, args.repeats)

    def worklist() -> None:
        cases = [Case(p.name, "image", MODEL, {p.name: p.read_bytes()}) for p in paths]
        predict_cases(cases, model_of=lambda _: model)

    end_to_end = best_seconds(worklist, args.repeats)
    n = len(paths)
    print(f"{n} images from {args.folder}, batch {model.batch_size}, chunks of {CHUNK}, "
          f"best of {args.repeats}")
    print(f"network alone (forward + domain guard): {n / network:8.1f} images/s")
    print(f"read + decode + preprocess alone:       {n / decode:8.1f} images/s")
    print(f"worklist, files to predictions:          {n / end_to_end:8.1f} images/s")
    print(f"ratio worklist / network:                {network / end_to_end:8.2f} "
          "(target >= 0.8)")


if __name__ == "__main__":
    main()
