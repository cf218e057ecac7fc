"""Image models behind the one contract: a grayscale image in, one item out.

Example (needs the shipped weights)::

    from dxcore import get_model
    model = get_model("cxr-pneumonia")
    result = model.predict("chest.dcm")
    result.detail.image.facts, model.explain(result, "gradcam++").values.shape
    # -> ({'Format': 'DICOM', ...}, (128, 128))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dxcore.contract import (
    DxModel,
    Prepared,
    Result,
    is_upload,
    read_path,
    single_upload,
)
from dxcore.errors import DxError
from dxcore.explain import Explanation
from dxcore.images.dicom_names import stated_identity
from dxcore.images.domain import DomainGuard, feature_network
from dxcore.images.explainers import ImageMap, resize_map
from dxcore.images.formats import image_formats_text
from dxcore.images.population import PopulationGuard
from dxcore.images.preprocessing import prepare_for_model
from dxcore.images.reader import LoadedImage, check_image, load_image
from dxcore.labels import Identity

if TYPE_CHECKING:
    import keras


@dataclass
class ImageDetail:
    """The decoded image (pixels at its own resolution, facts, reader notes)."""

    image: LoadedImage

    def as_json(self, result: Result, explanations: dict[int, Explanation]) -> list[dict]:
        line: dict[str, Any] = {"model": result.model_id,
                                "probabilities": result.probabilities_of(0),
                                "prediction": str(result.decisions[0]),
                                **result.set_json(0), **result.adaptation_json(0)}
        if self.image.notes:
            line["notes"] = self.image.notes
        if 0 in explanations:
            line["explanation"] = explanations[0].as_json()
        return [line]

    def text(self, result: Result) -> list[str]:
        probabilities = ", ".join(f"{k} {v:.3f}" for k, v in result.probabilities_of(0).items())
        uncertain = (f"; uncertain: {' or '.join(result.set_of(0))}"
                     if result.uncertain(0) else "")
        return [f"{result.decisions[0]} ({probabilities}){uncertain}"]


class ImageModel(DxModel):
    """Grayscale image models: decoded as :func:`~dxcore.images.reader.load_image`, resized
    and normalised as in training, one item per image; refused by the card's domain guard
    (:mod:`dxcore.images.domain`) when unlike the training images, and by its population
    guard (:mod:`dxcore.images.population`) when of a patient outside the training
    population."""

    modality = "image"
    batch_size = 64
    adaptable = True

    @cached_property
    def domain_guard(self) -> DomainGuard | None:
        return DomainGuard.from_card(self.card)

    @cached_property
    def population_guard(self) -> PopulationGuard | None:
        return PopulationGuard.from_card(self.card)

    @cached_property
    def forward_network(self) -> keras.Model:
        """The loaded network with the guard's features as a second output, when the card
        has a guard (the explainers keep reading ``self.network``)."""
        if self.domain_guard is None:
            return self.network
        return feature_network(self.network, self.card.domain_guard["feature_layer"])

    def check_domain(self, prepared: Prepared, outputs: dict[str, np.ndarray]) -> None:
        """The file's stated age first (a fact, and the clearest reason), then whether the
        image is a chest X-ray like the training ones, then whether it looks like an
        adult's."""
        population = self.population_guard
        if population is not None:
            population.check_age(prepared.decoded.stated_age_years)
        if self.domain_guard is not None:
            self.domain_guard.check(prepared.x, outputs["features"],
                                    prepared.decoded.colourfulness)
        if population is not None:
            population.check_image(prepared.x)

    def read(self, source: Any, **options: Any) -> LoadedImage:
        if isinstance(source, LoadedImage):
            return check_image(source)  # decoded elsewhere: the reader's checks all the same
        if is_upload(source):
            source = single_upload(source, "image")[1]
        elif isinstance(source, str | Path):
            source = read_path(source)
        if not isinstance(source, bytes):
            raise DxError(f"This model reads images ({image_formats_text()}).")
        return load_image(source)

    def identities(self, files: dict[str, bytes]) -> list[Identity]:
        """A DICOM's accession number (else study ID) and patient ID
        (:mod:`dxcore.images.dicom_names`); nothing for other formats."""
        return [stated_identity(single_upload(files, "image")[1])]

    def preprocess(self, decoded: LoadedImage, **options: Any) -> Prepared:
        spec = self.card.input_spec
        x = prepare_for_model(decoded.pixels, int(spec["side"]),
                              spec.get("normalization", "unit"))[None, ..., None]
        return Prepared(x, decoded, notes=list(decoded.notes))

    def describe(self, prepared: Prepared, result: Result) -> ImageDetail:
        return ImageDetail(prepared.decoded)

    def describe_explanation(self, result: Result, explanation: Explanation) -> ImageMap:
        image = result.detail.image
        return ImageMap(image.pixels, resize_map(explanation.values, image.size))
