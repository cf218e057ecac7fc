"""The population guard of a paediatric chest X-ray model: an adult's film is refused, never
answered as if it were a child's (issue 24).

Kermany et al. (Cell 2018) took their films from children aged one to five at the Guangzhou
Women and Children's Medical Center; ``cxr-pneumonia`` learned from nothing else. Two checks,
both raising :class:`~dxcore.errors.OutOfPopulation` (code ``out_of_population``):

- **what the file says**: a DICOM whose header states an age
  (:mod:`dxcore.images.dicom_age`) of ``adult_age_years`` or more is refused, the age named
  in the message. The limit is 18, the usual age of adulthood: every adult is refused;
  children older than the training ones (6 to 17) are left to the image check. The age is read for
  this check only: it is not in the refusal's facts, the image's facts or notes, and
  refusals never reach the audit trail (which keeps answers only);
- **what the image shows**: an *adult-likeness* score, the log-odds of an L2 logistic
  regression on the 32x32 z-scored thumbnail of the network input
  (:func:`dxcore.images.domain.thumbnails`: the shape of the chest, shoulders and arms in
  the frame, not exposure or contrast), fitted on the training children against the FIT
  adult patients (:mod:`dxcore.images.population_fit`); a film scoring above the threshold
  (a high quantile of the validation children's scores) is refused.

The checks read ``runtime.population`` of the card; the regression's weights (one per
thumbnail pixel) live beside it in ``population_guard.npz``, pinned by its SHA-256.

Example (needs the shipped weights)::

    from dxcore import get_model
    get_model("cxr-pneumonia").predict("adult.dcm")   # PatientAge "045Y"
    # -> OutOfPopulation: This film is of a 45-year-old patient (as its DICOM header
    #    states); the model was trained on children aged 1 to 5, and for a patient aged 18
    #    or over it gives no answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from dxcore.cards import ModelCard
from dxcore.errors import OutOfPopulation
from dxcore.images.domain import thumbnails

PARAMETERS_FILE = "population_guard.npz"
ADULT_AGE_YEARS = 18  # the usual age of adulthood
TRAINING_AGES = (1, 5)  # Kermany et al., Cell 2018: children aged one to five
# The card's runtime.population before (and beside) a fitted image check.
AGE_LIMIT = {"adult_age_years": ADULT_AGE_YEARS, "training_ages": list(TRAINING_AGES)}


def with_article(years: int) -> str:
    """"a 45-year-old", "an 18-year-old", "an 80-year-old" (as the number is spoken)."""
    spoken_with_vowel = years in (8, 11, 18) or 80 <= years <= 89
    return f"{'an' if spoken_with_vowel else 'a'} {years}-year-old"


def age_refusal_message(age_years: float, training_ages: tuple[int, int],
                        adult_age_years: int) -> str:
    low, high = training_ages
    return (f"This film is of {with_article(math.floor(age_years))} patient (as its DICOM "
            f"header states); the model was trained on children aged {low} to {high}, and "
            f"for a patient aged {adult_age_years} or over it gives no answer.")


def image_refusal_message(training_ages: tuple[int, int]) -> str:
    low, high = training_ages
    return ("This film looks like an adult's chest film, unlike the films of children aged "
            f"{low} to {high} the model was trained on; the model gives no answer.")


@dataclass(frozen=True)
class AdultLikeness:
    """The image check: log-odds ``thumbnail @ weights + intercept``, refused above
    ``threshold``."""

    weights: np.ndarray  # (side * side,), the standardisation folded in
    intercept: float
    threshold: float
    thumbnail_side: int

    def scores(self, x: np.ndarray) -> np.ndarray:
        """The adult-likeness log-odds of network inputs ``x`` (N, S, S, 1)."""
        return thumbnails(x, self.thumbnail_side) @ self.weights + self.intercept

    def ratio(self, score: float) -> float:
        """How far past the threshold: the modelled probability of an adult over its value
        at the threshold (1 at the threshold, higher further out; finite, unlike odds)."""
        def probability(log_odds: float) -> float:
            return 0.5 * (1.0 + math.tanh(0.5 * log_odds))  # the logistic, without overflow

        return probability(score) / probability(self.threshold)


@dataclass(frozen=True)
class PopulationGuard:
    """``runtime.population``: the stated-age limit, and the image check when fitted."""

    adult_age_years: int
    training_ages: tuple[int, int]
    image: AdultLikeness | None = None

    @classmethod
    def from_card(cls, card: ModelCard) -> PopulationGuard | None:
        """The guard of ``card`` (None when it states no population), its parameters file
        checked against the SHA-256 in the card."""
        spec = card.population
        if spec is None:
            return None
        image = spec.get("image_guard")
        return cls(int(spec["adult_age_years"]), tuple(spec["training_ages"]),
                   None if image is None else _image_check(card, image))

    def check_age(self, age_years: float | None) -> None:
        """Refuse a film whose file states an age of ``adult_age_years`` or more."""
        if age_years is not None and age_years >= self.adult_age_years:
            raise OutOfPopulation(age_refusal_message(age_years, self.training_ages,
                                                      self.adult_age_years),
                                  reason="dicom_age")

    def check_image(self, x: np.ndarray) -> None:
        """Refuse one prepared image (a batch of one) that looks like an adult's film."""
        if self.image is None:
            return
        score = float(self.image.scores(x)[0])
        if score > self.image.threshold:
            raise OutOfPopulation(image_refusal_message(self.training_ages),
                                  domain_score=self.image.ratio(score), reason="image")


def _image_check(card: ModelCard, spec: dict) -> AdultLikeness:
    path = card.verified_file(spec["parameters_file"], spec["parameters_sha256"],
                              "runtime.population.image_guard.parameters_file",
                              "The population guard")
    return AdultLikeness(_weights(path, spec["parameters_sha256"]), float(spec["intercept"]),
                         float(spec["threshold"]), int(spec["thumbnail_side"]))


@cache
def _weights(path: Path, sha256: str) -> np.ndarray:
    """The regression's weights, read once per content (``sha256``)."""
    with np.load(path, allow_pickle=False) as arrays:
        return arrays["weights"]
