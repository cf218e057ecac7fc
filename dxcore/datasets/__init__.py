"""Readers for the public datasets the shipped models are trained and tested on."""

import os
from pathlib import Path

from dxcore.errors import DxError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def data_dir(override: str | Path | None = None) -> Path:
    """The datasets folder: ``override``, else ``$DX_DATA_DIR``, else ``../shared/data``."""
    chosen = override or os.environ.get("DX_DATA_DIR") or PROJECT_ROOT.parent / "shared" / "data"
    return Path(chosen)


def require(path: Path, what: str) -> Path:
    """Return ``path`` or explain which dataset is missing and how to point at it."""
    if not path.exists():
        raise DxError(
            f"The {what} dataset was not found at {path}. Download it (see README.md, "
            "'Datasets') and set DX_DATA_DIR to the folder that holds it."
        )
    return path
