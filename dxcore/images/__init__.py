"""Images: grayscale radiographs (PNG, JPEG, TIFF, DICOM) read by a CNN.

Modules, as in every modality package: ``formats`` (the image formats and their sniffers),
``reader`` (bytes -> :class:`LoadedImage`, with ``image`` and ``dicom_io``),
``preprocessing``, ``network``, ``model`` (:class:`ImageModel`, the contract; ``domain``
its guard), ``explainers`` (Grad-CAM++, Score-CAM, SmoothGrad), ``report`` (its PDF
sections), ``training`` (the ``cxr-pneumonia`` recipe) and ``evaluation`` (its test-split
measurement); ``chest_xray`` and ``adult_cxr`` read its datasets.
"""

from dxcore.images import explainers as _explainers  # noqa: F401  (registers the methods)
from dxcore.images.domain import domain_fit
from dxcore.images.formats import IMAGE_FORMATS, image_formats_text
from dxcore.images.model import ImageModel
from dxcore.images.reader import LoadedImage, load_image
from dxcore.intake import PATIENT_INPUTS
from dxcore.registry import Modality, register_modality

__all__ = ["ImageModel", "LoadedImage", "load_image"]

register_modality(Modality(
    "image", ImageModel, {"cxr-pneumonia": "dxcore.images.training"}, label="Image",
    formats=IMAGE_FORMATS, input_label="Image", input_text=f"an image ({image_formats_text()})",
    # a few films of one patient: a frontal and a lateral view
    per_patient=PATIENT_INPUTS, fit=domain_fit, report="dxcore.images.report",
    datasets=("dxcore.images.chest_xray", "dxcore.images.adult_cxr"), views="dxui.imaging"))
