"""dxcore: the Dx dashboard's core, importable without Streamlit.

Short uniform calls, as in TorchXRayVision::

    from dxcore import get_model
    model = get_model("cxr-pneumonia")
    result = model.predict("chest.dcm")        # the same call for ECG records and case tables
    result.as_json(), model.explain(result, "gradcam++")

The shared core (``contract``, ``registry``, ``cards``, ``calibration``, ``metrics``,
``explain``, ``errors``, ``cli``) never imports a modality; each modality package
(``images``, ``ecg``, ``records``) registers itself when imported, which is done here.
"""

import os

# TensorFlow's native start-up lines ("Could not find cuda drivers", "CUDA error") go
# straight to file descriptor 2 before its logging settings apply: quiet them here, before
# anything imports TensorFlow, so that a command line or a page log shows only our words.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_stderr, _null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
os.dup2(_null, 2)
try:
    import tensorflow  # noqa: F401, E402
finally:  # a failing import still raises, with its Python traceback on the restored stderr
    os.dup2(_stderr, 2)
    os.close(_stderr)
    os.close(_null)

from dxcore.errors import DxError  # noqa: E402
from dxcore.registry import get_card, get_model, list_cards  # noqa: E402

# The built-in modalities (each registers its model class, explainers and recipes).
from dxcore import ecg, images, records  # noqa: E402, F401, I001  isort: skip
from dxcore.images import LoadedImage, load_image  # noqa: E402  isort: skip

__all__ = ["DxError", "LoadedImage", "get_card", "get_model", "list_cards", "load_image"]
