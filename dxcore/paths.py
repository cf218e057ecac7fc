"""Where the dashboard keeps its own files: a path an environment variable names, ``off``
for none, else a default under the user's XDG folders; and where the models are
(:func:`models_dir`).

Example:
    >>> import os
    >>> os.environ["DX_EXAMPLE"] = "off"
    >>> configured("DX_EXAMPLE", Path("/tmp/x")) is None
    True
    >>> os.environ["DX_EXAMPLE"] = ""
    >>> configured("DX_EXAMPLE", Path("/tmp/x"))
    PosixPath('/tmp/x')
"""

from __future__ import annotations

import os
from pathlib import Path

from dxcore.datasets import PROJECT_ROOT

OFF = "off"


def configured(env: str, default: Path) -> Path | None:
    """The path in ``$env`` (``~`` expanded), None when it says ``off``, else ``default``."""
    value = os.environ.get(env, "").strip()
    if value.lower() == OFF:
        return None
    return Path(value).expanduser() if value else default


def xdg_folder(kind: str, fallback: str) -> Path:
    """The dashboard's folder under ``$XDG_<kind>_HOME`` (else ``~/<fallback>``)."""
    return Path(os.environ.get(f"XDG_{kind}_HOME") or Path.home() / fallback) / "dx-dashboard"


def models_dir() -> Path:
    """``$DX_MODELS_DIR`` if set, else the repository's ``saved_models/``."""
    return Path(os.environ.get("DX_MODELS_DIR") or PROJECT_ROOT / "saved_models")
