"""dxcore: the Dx dashboard's core, importable without Streamlit.

Short uniform calls, as in TorchXRayVision::

    from dxcore import get_model
    model = get_model("cxr-pneumonia")
    result = model.predict("chest.dcm")        # the same call for ECG records and case tables
    result.as_json(), model.explain(result, "gradcam++")

The shared core (``contract``, ``registry``, ``cards``, ``calibration``, ``metrics``,
``explain``, ``errors``, ``cli``) never imports a modality; each modality package
(``images``, ``ecg``, ``records``) registers itself when imported, which the registry does
on first use (:func:`dxcore.registry.modalities`).

Importing ``dxcore`` does not import TensorFlow (about 4 s on a laptop): the dashboard's
home page lists the model cards without it. The names below are looked up on first use
(PEP 562); TensorFlow is imported, quietly (:func:`import_tensorflow`), by the first module
that needs it.
"""

import os
import sys
from importlib import import_module
from importlib.abc import MetaPathFinder
from typing import Any

# TensorFlow's native start-up lines ("Could not find cuda drivers", "CUDA error") go
# straight to file descriptor 2 before its logging settings apply: quiet them before anything
# imports TensorFlow, so that a command line or a page log shows only our words.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def import_tensorflow() -> None:
    """Import TensorFlow with file descriptor 2 silenced meanwhile (a no-op once imported)."""
    if "tensorflow" in sys.modules:
        return
    stderr, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow  # noqa: F401
    finally:  # a failing import still raises, with its Python traceback on the restored stderr
        os.dup2(stderr, 2)
        os.close(stderr)
        os.close(null)


class _QuietTensorFlowFirst(MetaPathFinder):
    """Whichever module first imports Keras or TensorFlow (a modality's network, the
    contract), TensorFlow is then imported through :func:`import_tensorflow`; this finder
    finds nothing itself and leaves ``sys.meta_path`` after that first import."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name in ("keras", "tensorflow") and self in sys.meta_path:
            sys.meta_path.remove(self)
            import_tensorflow()


if "tensorflow" not in sys.modules:
    sys.meta_path.insert(0, _QuietTensorFlowFirst())

# name -> the module that defines it, imported when the name is first used.
_LAZY = {
    "DxError": "dxcore.errors",
    "get_card": "dxcore.registry",
    "get_model": "dxcore.registry",
    "list_cards": "dxcore.registry",
    "LoadedImage": "dxcore.images",
    "load_image": "dxcore.images",
}

__all__ = ["DxError", "LoadedImage", "get_card", "get_model", "import_tensorflow",
           "list_cards", "load_image"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'dxcore' has no attribute {name!r}")
    if _LAZY[name] == "dxcore.images":
        import_tensorflow()
    return getattr(import_module(_LAZY[name]), name)
