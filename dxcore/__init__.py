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

Importing ``dxcore`` does not import TensorFlow (4-9 s on a laptop CPU): the dashboard's
home page lists the model cards without it, and a model whose card names a compiled
network (:mod:`dxcore.compiled`) predicts without it. The names below are looked up on
first use (PEP 562); TensorFlow is imported, quietly and by one thread at a time
(:func:`import_tensorflow`), by the first module that needs it (a Keras network loaded for
an explanation, training or evaluation).
"""

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from importlib.abc import MetaPathFinder
from typing import Any

# TensorFlow's native start-up lines ("Could not find cuda drivers", "CUDA error") go
# straight to file descriptor 2 before its logging settings apply: quiet them before anything
# imports TensorFlow, so that a command line or a page log shows only our words.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null meanwhile: the lines native libraries write
    there directly (TensorFlow's CUDA probing, LiteRT's "Created ... delegate") never reach
    a terminal or a page log. A failure inside still raises, its traceback on the restored
    stderr."""
    stderr, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(stderr, 2)
        os.close(stderr)
        os.close(null)


# One thread imports TensorFlow, the others wait for it to finish: Streamlit runs each
# session in a thread of its own, and TensorFlow imported by two threads at once fails
# ("partially initialized module ... most likely due to a circular import"). Reentrant,
# because TensorFlow's own import of Keras comes back through the finder below.
_tensorflow_lock = threading.RLock()
_tensorflow_state = {"imported": False, "importing": False}


def import_tensorflow() -> None:
    """Import TensorFlow once, with file descriptor 2 silenced meanwhile; a thread that
    asks while another imports it waits until that import has finished."""
    if _tensorflow_state["imported"]:
        return
    with _tensorflow_lock:
        if _tensorflow_state["imported"] or _tensorflow_state["importing"]:
            return  # done by the thread we waited for, or re-entered by the import itself
        _tensorflow_state["importing"] = True
        try:
            with native_stderr_silenced():
                import tensorflow  # noqa: F401
        finally:
            _tensorflow_state["importing"] = False
        _tensorflow_state["imported"] = True


class _TensorFlowFirst(MetaPathFinder):
    """Whichever module first imports Keras or TensorFlow (a network being loaded, a
    recipe), TensorFlow is then imported through :func:`import_tensorflow`; this finder
    finds nothing itself and leaves ``sys.meta_path`` once TensorFlow is imported."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name in ("keras", "tensorflow"):
            import_tensorflow()
            if _tensorflow_state["imported"] and self in sys.meta_path:
                sys.meta_path.remove(self)


if "tensorflow" in sys.modules:
    _tensorflow_state["imported"] = True
else:
    sys.meta_path.insert(0, _TensorFlowFirst())

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
           "list_cards", "load_image", "native_stderr_silenced"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'dxcore' has no attribute {name!r}")
    return getattr(import_module(_LAZY[name]), name)
