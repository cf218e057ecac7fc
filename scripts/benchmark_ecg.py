"""Speed of the ECG path on this machine, as medians and as ratios to one ``model.predict``
call on one beat in the same run (the machine is shared and noisy, so ratios within one
run are what compare across runs).

    python scripts/benchmark_ecg.py [--repeats 10] [--record PATH]

Measured on a 30-minute two-lead MIT-BIH record given as uploaded bytes (default: 208,
the DS1 record with the most beats, 2,955, a third of them ectopic): reading alone; the
whole analysis - read, detect (XQRS), classify every beat in one batched call, summarise -
which must stay under 5 s on 2 CPU cores; the same with the reference annotations
uploaded (no detection); one beat's saliency band (Grad-CAM, Saliency), its first call
(which traces the gradient graph) and a click after it, on a different non-N beat each time.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
from timing import median_ms  # noqa: E402  (scripts/timing.py)

from dxcore import get_card  # noqa: E402
from dxcore.ecg import load_uploads, mitdb  # noqa: E402
from dxcore.registry import model_for  # noqa: E402

TARGET_S = 5.0
CLICK_MS = 100  # one beat's saliency band after a click (issue 12)



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--record", help="a WFDB record path without extension "
                                         "(default: MIT-BIH 208)")
    args = parser.parse_args()
    card = get_card("ecg-beats")
    path = Path(args.record) if args.record else mitdb.root() / "208"
    files = {f"{path.name}{ext}": path.with_name(f"{path.name}{ext}").read_bytes()
             for ext in (".hea", ".dat", ".atr") if path.with_name(f"{path.name}{ext}").exists()}
    signal_only = {k: v for k, v in files.items() if not k.endswith(".atr")}

    model = model_for(card).load()
    first_result = model.predict(signal_only)
    first = first_result.detail
    one_beat = first_result.input_of(0)

    def whole(upload: dict[str, bytes]) -> Callable[[], object]:
        def run():
            return model.predict(upload).as_json()
        return run

    reference = median_ms(lambda: model.network.predict(one_beat, verbose=0), args.repeats)
    whole_ms = median_ms(whole(signal_only), args.repeats)
    rows = [("model.predict, one beat (reference)", reference),
            ("model load (checksum + safe-mode load)",
             median_ms(lambda: model_for(card).load(), max(3, args.repeats // 3))),
            ("read (bytes -> record)", median_ms(lambda: load_uploads(signal_only),
                                                 args.repeats)),
            ("read + detect + classify + summarise (+ JSON)", whole_ms)]
    if len(files) > len(signal_only):
        rows.append(("same, reference annotations uploaded (no detection)",
                     median_ms(whole(files), args.repeats)))
    # A click on the page: one beat's band, a different non-N beat each time, after the
    # first call on the network (which traces the gradient graph, timed on its own).
    ectopic = itertools.cycle(model.explained_items(first_result) or [0])
    for method in ("gradcam", "saliency"):
        started = time.perf_counter()
        model.explain(first_result, method, item=next(ectopic))
        rows.append((f"first {method} band (traces the gradient graph, once per process)",
                     (time.perf_counter() - started) * 1000))
        rows.append((f"one beat's {method} band (a click; target {CLICK_MS} ms)",
                     median_ms(lambda m=method: model.explain(first_result, m,
                                                              item=next(ectopic)),
                               args.repeats)))
    minutes = first.record.duration_s / 60
    print(f"ecg-beats, record {path.name}: {minutes:.1f} min, {first.record.signals.shape[1]} "
          f"leads at {first.fs:g} Hz, {len(first.labels)} beats detected; Keras "
          f"{keras.__version__}, {os.cpu_count()} CPUs, median of {args.repeats} runs\n")
    print("| step | median ms | ratio to model.predict |\n|---|---:|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} | {ms / reference:.2f} |")
    verdict = "within" if whole_ms < TARGET_S * 1000 else "OVER"
    print(f"\nWhole record: {whole_ms / 1000:.2f} s, {verdict} the {TARGET_S:g} s target.")


if __name__ == "__main__":
    main()
