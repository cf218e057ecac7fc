"""The conformance kits of the built-in modalities (dxcore.testing.Kit): their sample
inputs from the real datasets, their bad inputs, the keys of their JSON lines and the shape
of their explanations. The toy plug-in brings its own (tests/toy_modality.py)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dxcore.contract import DxModel, Source
from dxcore.ecg import EcgRecord, load_record
from dxcore.ecg.record import Annotations
from dxcore.errors import DxError
from dxcore.images import LoadedImage
from dxcore.records import read_cases
from dxcore.registry import recipe_for
from dxcore.testing import BadInput, Finder, Kit, RefusedItems, written
from tests.helpers import synthetic_ecg, wfdb_bytes


def one_per_field(model: DxModel) -> tuple[int, ...]:
    """Record explanations: one value per schema field (one-hot columns summed)."""
    return (len(model.schema),)


# --- images ---------------------------------------------------------------------------


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def image_samples(model: DxModel, find: Finder, folder: Path) -> list[Source]:
    """Two normal and one pneumonia test image: as a path, as bytes, as an upload."""
    test = find("chest_xray") / "test"
    normal = sorted((test / "NORMAL").glob("*.jpeg"))
    pneumonia = sorted((test / "PNEUMONIA").glob("*.jpeg"))
    return [normal[0], pneumonia[0].read_bytes(), {normal[1].name: normal[1].read_bytes()}]


def real_xray_file(folder: Path) -> Path:
    """A real chest X-ray of the official test folder, copied into ``folder`` (a temporary
    folder): an image the model answers, where a made-up one is refused by its domain
    guard."""
    from dxcore.datasets import data_dir

    normal = sorted((data_dir() / "chest_xray" / "test" / "NORMAL").glob("*.jpeg"))
    if not normal:
        pytest.skip("the chest_xray dataset is not found; set DX_DATA_DIR")
    return written(folder, "chest.jpeg", normal[0].read_bytes())


IMAGE_KIT = Kit(
    modality="image",
    samples=image_samples,
    example=real_xray_file,
    keys=frozenset({"model", "probabilities", "prediction", "prediction_set", "coverage"}),
    optional_keys=frozenset({"notes", "explanation"}),
    slow_methods=frozenset({"scorecam", "smoothgrad"}),  # seconds per map on two CPU cores
    bad_inputs={
        "a blank image": BadInput(lambda folder: png(np.full((64, 64), 7, np.uint8))),
        "an image of 16x16 pixels": BadInput(lambda folder: png(
            np.random.default_rng(0).integers(0, 255, (16, 16), dtype=np.uint8))),
        "a decoded image with missing pixels": BadInput(
            lambda folder: LoadedImage(np.full((64, 64), np.nan, np.float32), "PNG")),
        "a synthetic gradient, unlike a chest X-ray": BadInput(lambda folder: written(
            folder, "gradient.png", png(np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))))),
    },
)


# --- ECG records ----------------------------------------------------------------------


def ecg_minutes(record: EcgRecord, start_s: float, stop_s: float) -> EcgRecord:
    """A stretch of a record with its reference annotations, as an EcgRecord."""
    first, last = int(start_s * record.fs), int(stop_s * record.fs)
    notes = record.annotations
    inside = (notes.sample >= first) & (notes.sample < last)
    return replace(record, signals=record.signals[first:last], name=f"{record.name}-{start_s}",
                   annotations=Annotations(notes.sample[inside] - first, notes.symbol[inside]))


def ecg_csv(signals: np.ndarray, fs: float, leads: tuple[str, ...] = ("MLII", "V5")) -> str:
    """A CSV with a time column, as an export gives it."""
    times = np.arange(len(signals)) / fs
    rows = "\n".join(",".join([f"{t:.6f}", *(f"{v:.4f}" for v in row)])
                     for t, row in zip(times, signals, strict=True))
    return f"time,{','.join(leads[:signals.shape[1]])}\n{rows}\n"


def ecg_samples(model: DxModel, find: Finder, folder: Path) -> list[Source]:
    """MIT-BIH record 100 cut short: minute 1 as a CSV (beats detected), minute 2 as an
    EcgRecord (reference beats), 30 s as an uploaded WFDB record (beats detected)."""
    record = load_record(find("mitdb") / "100")
    fs = record.fs
    return [written(folder, "minute1.csv", ecg_csv(record.signals[:int(60 * fs)], fs)),
            ecg_minutes(record, 60, 120),
            wfdb_bytes(record.signals[int(120 * fs):int(150 * fs)], fs=fs, name="part3")]


ECG_KIT = Kit(
    modality="ecg",
    samples=ecg_samples,
    example=lambda folder: written(folder, "synthetic.csv", ecg_csv(synthetic_ecg(12), 360)),
    keys=frozenset({"model", "fs", "beats", "summary", "rhythm"}),
    optional_keys=frozenset({"notes"}),
    bad_inputs={
        "a CSV without a time column": BadInput(lambda folder: written(
            folder, "no_time.csv", "MLII\n" + "\n".join(map(str, range(5000))) + "\n")),
        "a header without its signal file": BadInput(
            lambda folder: {"r.hea": b"r 1 360 3600\nr.dat 16 200 11 0 0 0 0 MLII\n"}),
        "a decoded record of a quarter second": BadInput(
            lambda folder: EcgRecord(synthetic_ecg(0.25), 360, ["MLII", "V5"], "short")),
        "a decoded record without leads": BadInput(
            lambda folder: EcgRecord(np.zeros((3600, 0)), 360, [], "empty")),
    },
)


# --- case records ---------------------------------------------------------------------


def split_rows(model: DxModel, count: int = 3) -> pd.DataFrame:
    """The first rows of the model's test split: from its recipe's ``split``, else the
    official split of its dataset (the Golub recipe has no ``split``)."""
    recipe = recipe_for(model.card.id)
    try:
        if hasattr(recipe, "split"):
            table = recipe.split()[2]
        else:
            from dxcore.datasets import golub

            table = golub.official_split("test")[0]
    except DxError as missing:  # the dataset is absent
        pytest.skip(str(missing))
    return table.iloc[:count]


def unreadable_rows(model: DxModel) -> pd.DataFrame:
    """Two test cases with every cell unreadable: each row is refused on its own."""
    rows = split_rows(model, 2).astype(object)
    rows.iloc[:, :] = "not a value"
    return rows


def record_samples(model: DxModel, find: Finder, folder: Path) -> list[Source]:
    """Three test cases: a CSV path, a one-row DataFrame, an uploaded JSON object."""
    rows = split_rows(model)
    csv = rows.iloc[[0]].to_csv(index=False)
    as_json = json.dumps(rows.iloc[[2]].to_dict("records")[0])
    return [written(folder, "case1.csv", csv), rows.iloc[[1]].reset_index(drop=True),
            {"case3.json": as_json.encode()}]


def record_join(samples: list[Source]) -> Source:
    """The three cases as one table, read back from their own sources."""
    csv_path, frame, upload = samples
    first = read_cases(Path(csv_path))
    (name, data), = upload.items()
    return pd.concat([first, frame, read_cases(data, name=name)], ignore_index=True)


RECORD_KIT = Kit(
    modality="record",
    samples=record_samples,
    join=record_join,
    example=lambda folder: written(folder, "cases.csv", "age,sex\n63,1\n"),
    keys=frozenset({"row", "model", "probabilities", "prediction", "prediction_set",
                    "coverage", "atypicality"}),
    optional_keys=frozenset({"notes", "explanation"}),
    explanation_shape=one_per_field,
    refused=RefusedItems(unreadable_rows, items=2, keys=frozenset({"row", "error", "code"})),
    bad_inputs={
        "a table with none of the model's fields": BadInput(lambda folder: written(
            folder, "other.csv", "colour,size\nred,3\n")),
        "JSON that is not a list of cases": BadInput(lambda folder: {"c.json": b"[1, 2]"}),
    },
)
