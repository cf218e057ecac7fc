"""The ``ecg-beats`` quality guard on MIT-BIH and on generated non-ECG signals: pacing
flags on the paced records (with and without their .atr) and false flags on the 44
non-paced records (signal only), Q beats per record, and what the domain guard refuses.

    python scripts/ecg_quality.py

DS2 appears here only as a measurement: every threshold was fitted on DS1
(``python -m dxcore calibrate ecg-beats``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from dxcore import get_model  # noqa: E402
from dxcore.datasets import data_dir  # noqa: E402
from dxcore.ecg import EcgRecord, mitdb  # noqa: E402
from dxcore.errors import DxError  # noqa: E402


def non_ecg_signals(seconds: float = 60.0, fs: float = 360.0) -> dict[str, np.ndarray]:
    """Generated signals that are not ECGs, and table columns read as a lead."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * fs)) / fs
    ecg = mitdb.read_record("100").signals[: len(t), 0].astype(float)
    flat_after = ecg.copy()
    flat_after[len(t) // 4:] = flat_after[len(t) // 4]
    thyroid = np.genfromtxt(data_dir() / "thyroid" / "thyroidDF.csv", delimiter=",",
                            skip_header=1, usecols=0)
    cleveland = np.genfromtxt(data_dir() / "heart_disease" / "processed.cleveland.data",
                              delimiter=",", usecols=(0, 4))
    return {
        "sine 1.2 Hz": np.sin(2 * np.pi * 1.2 * t),
        "random walk": np.cumsum(rng.normal(0, 0.05, len(t))),
        "white noise": rng.normal(0, 1, len(t)),
        "thyroid ages as a lead (100 Hz)": thyroid[np.isfinite(thyroid)],
        "Cleveland cholesterol, repeated (100 Hz)": np.tile(cleveland[:, 1], 4),
        "flat lead after 15 s": flat_after,
        "saturated lead (clipped at 30% of range)": np.clip(
            ecg, None, ecg.min() + 0.3 * np.ptp(ecg)),
    }


def main() -> None:
    model = get_model("ecg-beats").load()
    print("Paced records (flag; Q beats / beats):")
    for name in mitdb.PACED:
        record = mitdb.read_record(name)
        for with_atr in (True, False):
            analysis = model.predict(record, use_reference=with_atr).detail
            q = int((analysis.labels == "Q").sum())
            print(f"  {name} {'with .atr   ' if with_atr else 'signal only'}: "
                  f"{analysis.paced or 'NOT FLAGGED'}; Q {q}/{len(analysis.labels)}")
    print("Non-paced records, signal only (pacing flag; Q beats / beats):")
    flagged, q_counts = [], {}
    for group, names in (("DS1", mitdb.DS1), ("DS2", mitdb.DS2)):
        total_q = total = 0
        for name in names:
            analysis = model.predict(mitdb.read_record(name), use_reference=False).detail
            reference = model.predict(mitdb.read_record(name)).detail
            if analysis.paced:
                flagged.append(f"{name} ({analysis.paced})")
            q = int((reference.labels == "Q").sum())
            total_q, total = total_q + q, total + len(reference.labels)
            print(f"  {group} {name}: paced {analysis.paced}; Q at reference beats "
                  f"{q}/{len(reference.labels)}, at detected beats "
                  f"{int((analysis.labels == 'Q').sum())}/{len(analysis.labels)}")
        q_counts[group] = (total_q, total)
    print(f"False pacing flags: {len(flagged)} of 44: {', '.join(flagged) or 'none'}")
    for group, (q, total) in q_counts.items():
        print(f"{group}: {q:,} of {total:,} reference beats Q ({100 * q / total:.2f}%)")
    print("Non-ECG signals:")
    for label, signal in non_ecg_signals().items():
        fs = 100.0 if "100 Hz" in label else 360.0
        record = EcgRecord(signal[:, None].astype(np.float32), fs, ["MLII"], label)
        try:
            analysis = model.predict(record).detail
            print(f"  {label}: NOT REFUSED ({len(analysis.labels)} beats)")
        except DxError as error:
            print(f"  {label}: {type(error).__name__} {error.as_json()}")


if __name__ == "__main__":
    main()
