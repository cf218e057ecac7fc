"""Beat detection from the signal alone on MIT-BIH records: wfdb's XQRS, and XQRS with the
search-back of :mod:`dxcore.ecg.detection` (what an upload without its .atr gets), against
the reference beats; per record and pooled: sensitivity, positive predictivity (PPV), the
share of V beats found, and the detectors' time.

    python scripts/ecg_detection.py                      # the 22 DS1 training records
    python scripts/ecg_detection.py --records 208 203 --json detection.json
    python scripts/ecg_detection.py --split DS2          # the test split: final measure only

Records are read without their annotations and the leads taken as the analysis takes them
(MLII, or the lead named by ``--lead``, and the record's other lead, at 360 Hz). Every beat
annotation (classes N, S, V, F, Q) is a reference beat; a detection matches one within
150 ms, each used once (:func:`dxcore.ecg.beats.match_beats`, as EC57 and ``bxb``).
Ventricular flutter episodes (from ``[`` to ``]``, only in record 207) are left out of
the comparison, reference beats and detections alike, as EC57 leaves ventricular
fibrillation out of QRS-detection figures. The search-back's thresholds were chosen on
DS1 only: DS2 is for the final measurement, never for a choice.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from dxcore.ecg import mitdb  # noqa: E402
from dxcore.ecg.beats import detect_beats, match_beats, reference_beats  # noqa: E402
from dxcore.ecg.detection import search_back  # noqa: E402
from dxcore.ecg.model import detection_leads  # noqa: E402
from dxcore.ecg.record import MODEL_FS, EcgRecord, resample, to_rate  # noqa: E402

DETECTORS = ("XQRS", "XQRS + search-back")


def flutter_mask(record: EcgRecord, samples: np.ndarray) -> np.ndarray:
    """Per sample position (at the record's rate): whether it lies in a ventricular
    flutter episode of the reference annotations (``[`` to ``]``)."""
    symbols, positions = record.annotations.symbol, record.annotations.sample
    inside = np.zeros(len(samples), bool)
    for start, end in zip(positions[symbols == "["], positions[symbols == "]"], strict=False):
        inside |= (samples >= start) & (samples <= end)
    return inside


def counts(reference: np.ndarray, labels: np.ndarray, detected: np.ndarray,
           fs: float) -> dict[str, int]:
    """Matched, reference, detected, and V beats in the reference and found."""
    matched, _ = match_beats(reference, detected, fs)
    is_v = labels == "V"
    return {"matched": len(matched), "reference": len(reference), "detected": len(detected),
            "v": int(is_v.sum()), "v_found": int(is_v[matched].sum())}


def figures(c: dict[str, int]) -> dict[str, float | None]:
    return {"sensitivity": c["matched"] / max(c["reference"], 1),
            "ppv": c["matched"] / max(c["detected"], 1),
            "v_found": c["v_found"] / c["v"] if c["v"] else None}


def measure(name: str, lead: str, data: str | None) -> dict:
    """Both detectors on one record read without its annotations, with their times."""
    record = mitdb.read_record(name, data)
    unannotated = dataclasses.replace(record, annotations=None)
    lead_name, signal, _ = unannotated.lead(lead)
    signal = resample(signal, record.fs, MODEL_FS)
    leads = detection_leads(unannotated, lead_name, signal)
    started = time.perf_counter()
    xqrs = detect_beats(signal, MODEL_FS)
    xqrs_s = time.perf_counter() - started
    started = time.perf_counter()
    added = search_back(xqrs, leads, MODEL_FS)
    search_s = time.perf_counter() - started
    reference, labels = reference_beats(record.annotations.symbol, record.annotations.sample)
    kept = ~flutter_mask(record, reference)
    reference, labels = reference[kept], labels[kept]
    row = {"lead": lead_name, "leads": leads.shape[1], "added": len(added),
           "seconds": {"XQRS": round(xqrs_s, 4), "search-back": round(search_s, 4)}}
    for detector, beats in zip(DETECTORS, (xqrs, np.union1d(xqrs, added)), strict=True):
        at_own_rate = to_rate(beats, MODEL_FS, record.fs)
        at_own_rate = at_own_rate[~flutter_mask(record, at_own_rate)]
        row[detector] = counts(reference, labels, at_own_rate, record.fs)
    return row


def percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.2f}"


def table(rows: dict[str, dict], pooled: dict[str, dict]) -> str:
    header = (f"{'record':8}{'beats':>7}{'V':>6}" + "".join(
        f"{'Se ' + d:>26}{'PPV':>8}{'V found':>9}" for d in DETECTORS)
        + f"{'added':>7}{'ms XQRS':>9}{'ms back':>9}")
    lines = [header]
    for name, row in [*rows.items(), ("pooled", pooled)]:
        line = f"{name:8}{row[DETECTORS[0]]['reference']:>7}{row[DETECTORS[0]]['v']:>6}"
        for detector in DETECTORS:
            f = figures(row[detector])
            line += (f"{percent(f['sensitivity']):>26}{percent(f['ppv']):>8}"
                     f"{percent(f['v_found']):>9}")
        times = row["seconds"]
        line += (f"{row['added']:>7}{1000 * times['XQRS']:>9.0f}"
                 f"{1000 * times['search-back']:>9.0f}")
        lines.append(line)
    lines.append("Se: sensitivity; PPV: positive predictivity; V found: share of the V beats "
                 "matched (%); ms: mean per record in the pooled row.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("DS1", "DS2"), default="DS1",
                        help="the records to measure (default DS1, the training records)")
    parser.add_argument("--records", nargs="+", help="record names (instead of --split)")
    parser.add_argument("--lead", default=mitdb.LEAD, help="the analysed lead (default MLII)")
    parser.add_argument("--data", help="the datasets folder (default: DX_DATA_DIR)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    names = args.records or list(getattr(mitdb, args.split))
    rows = {}
    for name in names:
        rows[name] = measure(name, args.lead, args.data)
        print(f"{name} done", file=sys.stderr, flush=True)
    pooled: dict = {detector: {key: sum(r[detector][key] for r in rows.values())
                               for key in rows[names[0]][detector]} for detector in DETECTORS}
    pooled["added"] = sum(r["added"] for r in rows.values())
    pooled["seconds"] = {k: round(float(np.mean([r["seconds"][k] for r in rows.values()])), 4)
                         for k in ("XQRS", "search-back")}
    print(table(rows, pooled))
    if args.json:
        report = {"records": rows, "pooled": pooled,
                  "figures": {d: figures(pooled[d]) for d in DETECTORS}}
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
