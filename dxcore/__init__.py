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

from dxcore.errors import DxError
from dxcore.registry import get_card, get_model, list_cards

# The built-in modalities (each registers its model class, explainers and recipes).
from dxcore import ecg, images, records  # noqa: E402, F401, I001  isort: skip
from dxcore.images import LoadedImage, load_image  # noqa: E402  isort: skip

__all__ = ["DxError", "LoadedImage", "get_card", "get_model", "list_cards", "load_image"]
