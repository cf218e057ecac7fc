"""Peak memory of the page path for large inputs, each beside an ordinary input of the same
page, in one run.

    python scripts/benchmark_memory.py [--cases image-50mp ecg-24h ...]

Each case runs in a fresh Python process: the page (through Streamlit's ``AppTest``, the
same script a browser runs, model loading, explanation and charts included) gets one upload
built in memory from the datasets, and the process reports its peak resident set size
(``ru_maxrss``) and what the page showed (a result, or the message it gave). The report
gives each large input's peak and its ratio to the ordinary input of the same page, so that
the figures do not depend on how busy the machine is. Inputs:

- images: a real test X-ray (JPEG, ~1-2 megapixels) and the same X-ray resized to
  7000 x 7140 pixels (50 megapixels, just under the reader's limit) as a PNG and as an
  8-bit DICOM;
- ECG: MIT-BIH record 100 (its first 30 minutes, WFDB), the same repeated to the longest
  record the reader accepts (``dxcore.ecg.record.MAX_HOURS``) and to 24 hours;
- case records: Cleveland's 303 heart-disease cases, and copies of them up to the most cases
  a file may hold (``dxcore.records.reader.MAX_CASES``) and to 100,000 rows.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dxcore.ecg.record import MAX_HOURS  # noqa: E402
from dxcore.records.reader import MAX_CASES  # noqa: E402

# page script, and the ordinary case each large one is compared with
PAGES = {"image": "app_pages/chest_xray.py", "ecg": "app_pages/ecg.py",
         "records": "app_pages/records.py"}
BASELINES = {"image": "image-ordinary", "ecg": "ecg-30min", "records": "csv-303"}


def _test_xray() -> Path:
    from dxcore.datasets import data_dir

    return sorted((data_dir() / "chest_xray" / "test").rglob("*.jpeg"))[0]


def image_ordinary() -> dict[str, bytes]:
    path = _test_xray()
    return {path.name: path.read_bytes()}


def image_50mp() -> dict[str, bytes]:
    from PIL import Image

    with Image.open(_test_xray()) as image:
        large = image.convert("L").resize((7000, 7140), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    large.save(buffer, format="PNG")
    return {"large.png": buffer.getvalue()}


def dicom_50mp() -> dict[str, bytes]:
    """The same 50 megapixels as an 8-bit DX DICOM (48 MB uncompressed: the page takes
    uploads up to 50 MB, ``server.maxUploadSize``)."""
    from PIL import Image
    from pydicom import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    with Image.open(_test_xray()) as image:
        large = image.convert("L").resize((7000, 7140), Image.Resampling.BILINEAR)
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray, for presentation
    dataset.SOPInstanceUID = generate_uid()
    dataset.Modality = "DX"
    dataset.set_pixel_data(np.asarray(large), "MONOCHROME2", 8)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return {"large.dcm": buffer.getvalue()}


def _record_100(hours: float) -> dict[str, bytes]:
    """MIT-BIH record 100 repeated (or cut) to last ``hours``."""
    from dxcore.datasets import data_dir

    folder = data_dir() / "mitdb"
    header = (folder / "100.hea").read_text().splitlines()
    # Format 212 with two leads: one 3-byte frame per sample time.
    frames = round(hours * 3600 * 360)
    samples = (folder / "100.dat").read_bytes()
    samples = (samples * (3 * frames // len(samples) + 1))[:3 * frames]
    fields = header[0].split()
    fields[3] = str(frames)
    lines = [" ".join(fields[:4]), *(line for line in header[1:] if not line.startswith("#"))]
    return {"100.hea": ("\n".join(lines) + "\n").encode(), "100.dat": samples}


def _cleveland_csv(rows: int) -> dict[str, bytes]:
    from dxcore.datasets.heart_disease import load

    table, _ = load()
    repeated = table.iloc[[index % len(table) for index in range(rows)]]
    return {"cases.csv": repeated.to_csv(index=False).encode()}


CASES: dict[str, tuple[str, Callable[[], dict[str, bytes]]]] = {
    "image-ordinary": ("image", image_ordinary),
    "image-50mp": ("image", image_50mp),
    "dicom-50mp": ("image", dicom_50mp),
    "ecg-30min": ("ecg", partial(_record_100, 0.5)),
    "ecg-at-limit": ("ecg", partial(_record_100, MAX_HOURS)),
    "ecg-24h": ("ecg", partial(_record_100, 24)),
    "csv-303": ("records", partial(_cleveland_csv, 303)),
    "csv-at-limit": ("records", partial(_cleveland_csv, MAX_CASES)),
    "csv-100k": ("records", partial(_cleveland_csv, 100_000)),
}


def run_case(name: str) -> dict:
    """In this process: build the upload, run its page once with it, report the peak RSS."""
    from streamlit.testing.v1 import AppTest

    page_kind, make = CASES[name]
    files = make()
    size_mb = sum(len(data) for data in files.values()) / 2**20
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900).run()
    app.switch_page(PAGES[page_kind]).run()
    app.file_uploader[0].set_value(
        [(file_name, data, "application/octet-stream") for file_name, data in files.items()]
        if page_kind == "ecg" else next(iter(files.items())) + ("application/octet-stream",))
    app.run()
    shown = [element.value for element in [*app.error, *app.warning]
             if "Research prototype" not in element.value
             and "below the targets" not in element.value]
    return {"case": name, "page": page_kind, "upload_mb": round(size_mb, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "exception": bool(app.exception), "messages": [text[:160] for text in shown]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(run_case(arguments.child)))
        return
    wanted = list(dict.fromkeys(
        [BASELINES[CASES[name][0]] for name in arguments.cases] + arguments.cases))
    reports = {}
    for name in wanted:
        child = subprocess.run([sys.executable, __file__, "--child", name], cwd=ROOT,
                               capture_output=True, text=True, check=False)
        if child.returncode != 0:
            print(f"{name}: the process failed ({child.returncode}): {child.stderr[-400:]}")
            continue
        reports[name] = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"{'case':16} {'upload MB':>9} {'peak RSS MB':>11} {'x ordinary':>10}  page shows")
    for name, report in reports.items():
        baseline = reports.get(BASELINES[report["page"]])
        ratio = (f"{report['peak_rss_mb'] / baseline['peak_rss_mb']:.2f}" if baseline else "—")
        shown = ("an exception" if report["exception"]
                 else "; ".join(report["messages"]) or "a result")
        print(f"{name:16} {report['upload_mb']:9.1f} {report['peak_rss_mb']:11} {ratio:>10}  "
              f"{shown}")


if __name__ == "__main__":
    main()
