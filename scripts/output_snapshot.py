"""Every shipped model's outputs, written to a folder so that two versions of the code can be
diffed (issue 26: a refactor must not change them).

    python scripts/output_snapshot.py OUT [--inputs DIR] [--skip-evaluate]

For each model it writes ``OUT/<model>-evaluate.json`` (``python -m dxcore evaluate <model>
--json``: the test split's metrics with their bootstrap CIs; a test evaluation, to be counted in
the card's ``test_evaluations`` by whoever runs it) and ``OUT/<model>-predict.jsonl``
(``python -m dxcore predict <model> ... --json`` on the files of its dataset that hold the
test split, read as a user's files are, through the command line's readers). The case tables
are written once, as CSV files in ``--inputs`` (default: a folder in ``$TMPDIR``), from the
raw datasets (parsed here, not by dxcore's loaders), so that both versions read the same bytes.
Compare two snapshots with ``diff -r``.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The test records and the datasets' column names, as the recipes know them.
from dxcore.datasets import data_dir  # noqa: E402
from dxcore.datasets.ckd import COLUMNS as CKD_COLUMNS  # noqa: E402
from dxcore.datasets.heart_disease import COLUMNS as HEART_COLUMNS  # noqa: E402
from dxcore.ecg.mitdb import DS2  # noqa: E402


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def heart_tables(data: Path, inputs: Path) -> list[Path]:
    """One CSV per site's file (``?`` kept: the reader's missing mark), the label dropped."""
    tables = []
    for source in sorted((data / "heart_disease").glob("processed.*.data")):
        rows = [line.split(",")[:13] for line in source.read_text().splitlines() if line]
        tables.append(write_csv(inputs / f"heart-{source.stem.split('.')[1]}.csv",
                                HEART_COLUMNS, rows))
    return tables


def ckd_table(data: Path, inputs: Path) -> list[Path]:
    body = (data / "ckd" / "chronic_kidney_disease.arff").read_text().split("@data", 1)[1]
    rows = [[cell.strip() for cell in line.split(",")][:24] for line in body.splitlines()
            if line.strip() and not line.startswith("%")]
    return [write_csv(inputs / "ckd.csv", CKD_COLUMNS, rows)]


def golub_table(data: Path, inputs: Path) -> list[Path]:
    with np.load(data / "golub" / "golub_72x7129_official_split.npz") as arrays:
        genes = arrays["genes"].tolist()
        rows = [[repr(float(v)) for v in row] for row in arrays["X_test"]]
    return [write_csv(inputs / "golub-test.csv", genes, rows)]


def model_inputs(data: Path, inputs: Path) -> dict[str, list[Path]]:
    """The files each shipped model is run on."""
    inputs.mkdir(parents=True, exist_ok=True)
    return {
        "cxr-pneumonia": [data / "chest_xray" / "test"],
        "ecg-beats": [data / "mitdb" / f"{record}.hea" for record in DS2],
        "heart-disease": heart_tables(data, inputs),
        "ckd": ckd_table(data, inputs),
        "leukemia-golub": golub_table(data, inputs),
    }


def dxcore(*arguments: str | Path) -> str:
    """The command's output, its exit status last (``predict`` exits 1 when it refused an
    input, which a test split may hold)."""
    done = subprocess.run([sys.executable, "-m", "dxcore", *map(str, arguments)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if not done.stdout:
        raise SystemExit(f"dxcore {' '.join(map(str, arguments))} failed:\n{done.stderr}")
    return f"{done.stdout}exit status {done.returncode}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--inputs", type=Path,
                        default=Path(tempfile.gettempdir()) / "dx-output-snapshot-inputs")
    parser.add_argument("--skip-evaluate", action="store_true",
                        help="only the predictions (no test evaluation)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for model, files in model_inputs(data_dir(), args.inputs).items():
        (args.out / f"{model}-predict.jsonl").write_text(dxcore("predict", model, *files,
                                                                "--json"))
        if not args.skip_evaluate:
            (args.out / f"{model}-evaluate.json").write_text(dxcore("evaluate", model,
                                                                    "--json"))
        print(f"{model}: done", flush=True)


if __name__ == "__main__":
    main()
