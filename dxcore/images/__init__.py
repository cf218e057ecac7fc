"""Images: grayscale radiographs (PNG, JPEG, TIFF, DICOM) read by a CNN.

Modules, as in every modality package: ``reader`` (bytes -> :class:`LoadedImage`),
``preprocessing``, ``network``, ``model`` (:class:`ImageModel`, the contract),
``explainers`` (Grad-CAM++, Score-CAM, SmoothGrad), ``training`` (the ``cxr-pneumonia``
recipe) and ``evaluation`` (its test-split measurement).
"""

from dxcore.images import explainers as _explainers  # noqa: F401  (registers the methods)
from dxcore.images.model import ImageModel
from dxcore.images.reader import LoadedImage, load_image
from dxcore.registry import Modality, register_modality

__all__ = ["ImageModel", "LoadedImage", "load_image"]

register_modality(Modality("image", ImageModel, {"cxr-pneumonia": "dxcore.images.training"},
                           label="Image", views="dxui.imaging"))
