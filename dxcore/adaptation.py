"""A model's answers adapted to a site's class prior: what its card's ``runtime.label_shift``
holds, fitted on the recipe's calibration cases, and how a :class:`~dxcore.contract.Result`
is adapted with it.

- The probabilities EM and Bayes' rule read (:mod:`dxcore.label_shift`) are the
  temperature-scaled ones with a bias per class and a temperature of their own (BCTS,
  Alexandari et al., ICML 2020; :func:`dxcore.calibration.bias_corrected_probabilities`),
  fitted on the calibration cases. The training prior ``π`` is those cases' class shares:
  the prior under which BCTS calibrates (a validation split is carved from the training
  data keeping its class balance; out-of-fold cases are the training data).
- An adapted result's probabilities are those corrected to the site's prior ``π'``; its
  decisions stay the card's: the decision rule is moved with the probabilities
  (:meth:`~dxcore.contract.DecisionRule.moved`), so that a threshold keeps the sensitivity
  and specificity it was chosen for, which do not depend on prevalence; its prediction sets
  are the label-shift-weighted sets (:func:`dxcore.conformal.label_shift_sets`), from the
  calibration cases kept in the card's ``cases_file`` (their temperature-scaled
  probabilities and labels, pinned by its SHA-256).

Example (needs the shipped weights)::

    from dxcore import get_model
    from dxcore.site_prior import site_prior
    model = get_model("cxr-pneumonia")
    results = model.predict_many(["a.png", "b.png", ...])
    prior = site_prior(model, np.concatenate([r.probabilities for r in results]))
    adapted = [model.adapt(r, prior) for r in results]
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dxcore.calibration import bias_corrected_probabilities, fit_bias_corrected_temperature
from dxcore.card_writing import write_json
from dxcore.cards import ModelCard, sha256_of
from dxcore.conformal import DEFAULT_COVERAGE, label_shift_sets
from dxcore.errors import DxError
from dxcore.label_shift import RESAMPLES, SitePrior, estimated_prior, reweight

if TYPE_CHECKING:
    from dxcore.predictions import Predictions
    from dxcore.results import Result

CASES_FILE = "label_shift_cases.json"


@dataclass(frozen=True)
class LabelShift:
    """A card's label-shift calibration (see the module)."""

    class_names: list[str]
    training_prior: np.ndarray
    temperature: float  # the card's: the answers' probabilities are softmax(z / temperature)
    corrected_temperature: float
    bias: np.ndarray
    calibration_probabilities: np.ndarray  # (cases, classes), temperature-scaled
    calibration_labels: np.ndarray         # (cases,) class indices

    @classmethod
    def from_card(cls, card: ModelCard) -> LabelShift | None:
        """The card's calibration, its cases file checked against its SHA-256; None when the
        card has none."""
        spec = card.label_shift
        if spec is None:
            return None
        path = card.verified_file(spec["cases_file"], spec["cases_sha256"],
                                  "runtime.label_shift.cases_file",
                                  "The label-shift calibration file",
                                  "answers cannot be adapted to the site's prevalence")
        probabilities, labels = _cases(path, spec["cases_sha256"], len(card.class_names))
        names = card.class_names
        return cls(names, np.array([spec["training_prior"][n] for n in names]),
                   card.temperature, float(spec["temperature"]),
                   np.array([spec["bias"][n] for n in names]), probabilities, labels)

    @property
    def prior(self) -> dict[str, float]:
        """The training prior by class."""
        return dict(zip(self.class_names, self.training_prior.tolist(), strict=True))

    def calibrated(self, probabilities: np.ndarray) -> np.ndarray:
        """Temperature-scaled probabilities made calibrated under the training prior (BCTS)."""
        return bias_corrected_probabilities(probabilities, self.temperature,
                                            self.corrected_temperature, self.bias)

    def estimate(self, probabilities: np.ndarray, source: str = "batch",
                 resamples: int = RESAMPLES) -> SitePrior:
        """The class prior of the answers ``probabilities`` (temperature-scaled, as a
        result holds them) by EM, with its bootstrap 95% interval."""
        return estimated_prior(self.class_names, self.calibrated(probabilities),
                               self.training_prior, source, resamples)

    def adapted(self, probabilities: np.ndarray, prior: SitePrior) -> np.ndarray:
        """Temperature-scaled probabilities adapted to ``prior``."""
        return reweight(self.calibrated(probabilities), self.training_prior,
                        prior.vector(self.class_names))

    def adapt(self, result: Result, prior: SitePrior) -> Result:
        """``result`` adapted to ``prior`` (see the module); a prior that does not adapt
        (the training prior) leaves the answers as they are and is only recorded."""
        if not prior.adapts:
            return dataclasses.replace(result, site_prior=prior)
        site = prior.vector(self.class_names)
        probabilities = self.adapted(result.probabilities, prior)
        # log p' = (T / T') log p + b + log(π' / π), less a constant per item
        rule = result.rule.moved(self.temperature / self.corrected_temperature,
                                 self.bias + np.log(site / self.training_prior))
        sets = None
        if result.prediction_sets is not None:
            sets = label_shift_sets(
                self.adapted(self.calibration_probabilities, prior), self.calibration_labels,
                probabilities, site / self.training_prior, result.decisions,
                self.class_names, result.coverage or DEFAULT_COVERAGE)
        return dataclasses.replace(result, rule=rule, probabilities=probabilities,
                                   prediction_sets=sets, site_prior=prior,
                                   unadapted_probabilities=result.probabilities)


@cache
def _cases(path: Path, sha256: str, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """A cases file's probabilities and labels, checked; read once per content."""
    try:
        content = json.loads(path.read_text())
        probabilities = np.asarray(content["probabilities"], dtype=np.float64)
        labels = np.asarray(content["labels"], dtype=np.int64)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DxError(f"The label-shift calibration file {path.name} cannot be read.") \
            from error
    if (probabilities.ndim != 2 or probabilities.shape != (len(labels), classes)
            or not len(labels) or labels.min() < 0 or labels.max() >= classes
            or not np.isfinite(probabilities).all()):
        raise DxError(f"The label-shift calibration file {path.name} does not hold one row "
                      f"of {classes} probabilities and a class index per case.")
    return probabilities, labels


def fit_label_shift(cases: Predictions, card: ModelCard) -> tuple[dict, str]:
    """The card's ``runtime.label_shift`` and its ``methods.label_shift`` from the recipe's
    calibration cases (never the test split): BCTS on their logits, the training prior
    from their labels, and their temperature-scaled probabilities and labels written to
    :data:`CASES_FILE` beside the card."""
    names = card.class_names
    temperature, bias = fit_bias_corrected_temperature(cases.logits, cases.labels)
    shares = np.bincount(cases.labels, minlength=len(names)) / len(cases.labels)
    if (shares == 0).any():
        raise DxError(f"The calibration cases of '{card.id}' lack a class; a label-shift "
                      "calibration needs cases of every class.")
    probabilities = cases.probabilities(card.temperature)
    name = write_json(card.folder, CASES_FILE, {
        "source": cases.source, "class_names": names,
        "labels": cases.labels.tolist(),
        "probabilities": np.round(probabilities, 8).tolist()})
    runtime = {"training_prior": dict(zip(names, shares.round(6).tolist(), strict=True)),
               "temperature": temperature,
               "bias": dict(zip(names, bias.tolist(), strict=True)),
               "cases_file": name, "cases_sha256": sha256_of(card.folder / name),
               "fitted_on": cases.source}
    method = (
        "answers adapted to a site's class prior (dxcore.adaptation): the prior estimated "
        "by EM from unlabelled answers (Saerens, Latinne & Decaestecker, Neural Computation "
        "2002) with a bootstrap 95% interval, each probability corrected by Bayes' rule, "
        "on probabilities calibrated under the training prior by bias-corrected temperature "
        "scaling (Alexandari, Kundaje & Shrikumar, ICML 2020; temperature "
        f"{temperature:.3f} and biases fitted on the {cases.source}); training prior: "
        "those cases' class shares; the decision rule moved with the probabilities so "
        "that the decisions stay the card's; prediction sets: label-shift-weighted split "
        "conformal (Podkopaev & Ramdas, UAI 2021) on the same cases' scores")
    return runtime, method
