"""The image modality's part of a PDF report (:class:`dxcore.pdf_report.Sections`): a
thumbnail of the image with its format and size, the domain guard's word, and the saliency
map over the image with its colour bar.

Example (needs the shipped weights)::

    from dxcore import get_model
    from dxcore.pdf_report import case_report, cases_for
    case_report(cases_for(get_model("cxr-pneumonia").load(), {"x.png": png_bytes}))
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from dxcore.explain import Explanation
from dxcore.images.explainers import colour_bar, overlay
from dxcore.pdf_report import Case, Report, Sections

THUMBNAIL_PX = 256


def image_overlay(explanation: Explanation) -> Image.Image:
    """The saliency map blended over the image, at the image's own resolution."""
    detail = explanation.detail
    return Image.fromarray(overlay(detail.pixels, detail.saliency))


def colour_bar_image() -> Image.Image:
    return Image.fromarray(colour_bar(256, 12))


class ImageSections(Sections):
    def input(self, pdf: Report, case: Case) -> None:
        image = case.result.detail.image
        thumbnail = Image.fromarray((image.pixels * 255).astype(np.uint8))
        thumbnail.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        pdf.line_of(f"{image.format} image, {image.size[0]} x {image.size[1]} px.")
        pdf.picture(thumbnail, 35)

    def domain(self, case: Case) -> str:
        if case.card.domain_guard is None:
            return super().domain(case)
        return "Accepted by the domain guard (the image is like the training images)."

    def explanation(self, pdf: Report, case: Case) -> None:
        pdf.picture(image_overlay(case.explanation), 55)
        pdf.picture(colour_bar_image(), 55)
        pdf.line_of("Colour bar: low (left, blue) to high (right, red) influence on the "
                    "prediction." + (" This map carries almost no signal."
                                     if case.explanation.flat else ""), 7.5)


SECTIONS = ImageSections()
