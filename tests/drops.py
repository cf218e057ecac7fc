"""Drops built in the tests from the shared datasets (never committed copies): a short
WFDB record, a table of heart-disease cases, a ZIP of files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

HEART_CASES = (b"age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal\n"
               b"67,1,4,160,286,0,2,108,1,1.5,2,3,3\n"
               b"58,1,4,140,260,0,2,118,1,2.6,2,2,7\n"
               b"44,0,3,118,210,0,0,172,0,0.0,1,0,3\n")


def short_record(mitdb_root: Path, seconds: int = 60, name: str = "100") -> dict[str, bytes]:
    """The first ``seconds`` of MIT-BIH record ``name`` as ``{"NAME.hea", "NAME.dat"}``
    (format 212, two signals: 3 bytes a sample pair), its header's sample count cut to fit."""
    header = (mitdb_root / f"{name}.hea").read_text().splitlines()
    fields = header[0].split()
    samples = int(float(fields[2])) * seconds
    header[0] = " ".join([*fields[:3], str(samples)])
    data = (mitdb_root / f"{name}.dat").read_bytes()[:samples * 3]
    return {f"{name}.hea": ("\n".join(header) + "\n").encode(), f"{name}.dat": data}


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
