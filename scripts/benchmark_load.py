"""Load time of the shipped weights (checksum + Keras safe-mode load, what a model's first
use costs), old file against current file, in one run.

    python scripts/benchmark_load.py --old-rev REV [--repeats 15] [MODEL_ID ...]
    python scripts/benchmark_load.py --old-dir DIR  # DIR/<id>/model.keras

The old files are read from git revision ``REV`` (e.g. the commit before the weights were
re-saved without optimizer state) or from ``DIR``, into a temporary folder. Each repeat
times the old file, then the new one, so that both see the same machine load; the report
gives medians, the ratio new/old within this run and the file sizes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402

from dxcore.cards import sha256_of  # noqa: E402
from dxcore.registry import get_card, list_cards, modality  # noqa: E402


def load_ms(path: Path) -> tuple[float, float]:
    """Milliseconds of the checksum, and of the checksum and the load together."""
    started = time.perf_counter()
    sha256_of(path)
    checked = time.perf_counter()
    keras.saving.load_model(path, compile=False, safe_mode=True)
    return (checked - started) * 1000, (time.perf_counter() - started) * 1000


def old_file(card, scratch: Path, revision: str | None, folder: Path | None) -> Path:
    target = scratch / card.id / card.weights_path.name
    target.parent.mkdir(parents=True)
    if folder is not None:
        target.write_bytes((folder / card.id / card.weights_path.name).read_bytes())
    else:
        relative = card.weights_path.relative_to(ROOT).as_posix()
        target.write_bytes(subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{revision}:{relative}"], check=True,
            capture_output=True).stdout)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_ids", nargs="*", help="default: every shipped model")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--old-rev", metavar="REV", help="git revision of the old files")
    source.add_argument("--old-dir", metavar="DIR", type=Path, help="folder of the old files")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    cards = [get_card(i) for i in args.model_ids] if args.model_ids else list_cards()

    print(f"{'model':16} {'old MB':>7} {'new MB':>7} {'old ms':>8} {'new ms':>8} {'new/old':>8}"
          f"   {'checksum old/new ms':>19}")
    totals = [0.0, 0.0, 0.0, 0.0]
    with tempfile.TemporaryDirectory() as scratch:
        for card in cards:
            # Its modality's package registers the network's own layers (an expression
            # model's standardisation) with Keras, as the dashboard does before a load.
            modality(card["modality"])
            old, new = old_file(card, Path(scratch), args.old_rev, args.old_dir), card.weights_path
            load_ms(old), load_ms(new)  # warm-up: TensorFlow's first calls trace and cache
            old_times, new_times = [], []
            for _ in range(args.repeats):
                old_times.append(load_ms(old))
                new_times.append(load_ms(new))
            (old_sha, old_ms), (new_sha, new_ms) = (
                [statistics.median(t[k] for t in times) for k in (0, 1)]
                for times in (old_times, new_times))
            sizes = old.stat().st_size / 1e6, new.stat().st_size / 1e6
            for k, value in enumerate((*sizes, old_ms, new_ms)):
                totals[k] += value
            print(f"{card.id:16} {sizes[0]:7.2f} {sizes[1]:7.2f} {old_ms:8.1f} {new_ms:8.1f} "
                  f"{new_ms / old_ms:8.2f}   {old_sha:9.1f} / {new_sha:.1f}")
    print(f"{'all':16} {totals[0]:7.2f} {totals[1]:7.2f} {totals[2]:8.1f} {totals[3]:8.1f} "
          f"{totals[3] / totals[2]:8.2f}")
    print(f"(medians of {args.repeats} alternating runs each; ms = checksum + "
          "keras.saving.load_model(compile=False, safe_mode=True))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
