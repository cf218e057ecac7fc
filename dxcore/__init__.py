"""dxcore: the Dx dashboard's core, importable without Streamlit.

Short uniform calls, as in TorchXRayVision::

    from dxcore import get_model, load_image
    model = get_model("cxr-pneumonia")
    prediction = model.predict(load_image("chest.dcm"))
"""

from dxcore.errors import DxError
from dxcore.images import LoadedImage, load_image
from dxcore.registry import get_card, get_model, list_cards

__all__ = ["DxError", "LoadedImage", "get_card", "get_model", "list_cards", "load_image"]
