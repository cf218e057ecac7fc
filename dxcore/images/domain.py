"""The domain guard of chest X-ray models: refuse what is not a frontal chest X-ray like the
training images (photographs, documents, screenshots, noise, drawings, colour images, other
body parts and modalities) before any answer is formed.

Three scores, each with its own threshold at a high quantile (``QUANTILE``) of the scores
of in-domain images the guard was not fitted on (the recipe's validation split, held out
by patient); an image is refused when any score passes its threshold:

- ``colour``: the colourfulness of the file before its conversion to grayscale (Hasler D,
  Suesstrunk S, Proc. SPIE 5007:87-95, 2003; :func:`dxcore.images.reader.colourfulness`).
  Radiographs are gray even when stored as RGB; the threshold is never below
  ``COLOUR_FLOOR``, half of what that paper calls "slightly colourful", so that
  compression noise in a gray file never counts as colour.
- ``pixels``: the share of a thumbnail's variance that the principal components of the
  training thumbnails do not explain (PCA reconstruction error, the out-of-distribution
  check of TorchXRayVision's Chester demo: Cohen JP et al., "Chester: A Web Delivered
  Locally Computed Chest X-Ray Disease Prediction System", arXiv:1901.11210, 2019). Noise,
  text and patterns are far from the span of chest X-rays.
- ``features``: the Mahalanobis distance of the network's penultimate features (the
  card's ``feature_layer``) to the nearest class mean, with one covariance shared by the
  classes (Lee K et al., "A Simple Unified Framework for Detecting Out-of-Distribution
  Samples and Adversarial Attacks", NeurIPS 2018), shrunk by Ledoit-Wolf (J Multivar Anal
  88:365-411, 2004) so that it stays invertible. The features come from the prediction's
  own forward pass (:func:`feature_network`).

The parameters too large for the card (class means, precision matrix, principal
components) live beside it in ``domain_guard.npz``, pinned by its SHA-256.

Example (needs the shipped weights)::

    from dxcore import get_model
    get_model("cxr-pneumonia").predict("cat.jpg")
    # -> OutOfDomain: This image does not look like a frontal chest X-ray like those the
    #    model was trained on (it is in colour); the model gives no answer.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dxcore.batching import batched_outputs
from dxcore.cards import sha256_of
from dxcore.errors import OutOfDomain
from dxcore.images.preprocessing import prepare_for_model
from dxcore.images.reader import load_image

if TYPE_CHECKING:
    import keras

    from dxcore.contract import Result
    from dxcore.images.model import ImageModel

PARAMETERS_FILE = "domain_guard.npz"
FEATURE_LAYER = "pool"
THUMBNAIL_SIDE = 32
# Each threshold is this quantile of held-out in-domain scores: with three scores, at most
# about 0.3% of images like the validation images are refused.
QUANTILE = 0.999
# The principal components kept explain this share of the training thumbnails' variance.
EXPLAINED_VARIANCE = 0.95
# Half of "slightly colourful" (15) on Hasler and Suesstrunk's scale.
COLOUR_FLOOR = 7.5
SCORES = ("colour", "pixels", "features")
# Why an image is refused, by the score that refused it (the first one over, in SCORES
# order): one clause of one sentence for a clinician.
REASONS = {
    "colour": "it is in colour",
    "pixels": "its pattern of light and dark is unlike a chest X-ray: it may be another "
              "kind of scan, noise, a drawing, a document or a photograph",
    "features": "its content is unlike the chest X-rays the model learned from",
}


def refusal_message(reason: str) -> str:
    return ("This image does not look like a frontal chest X-ray like those the model was "
            f"trained on ({REASONS[reason]}); the model gives no answer.")


def feature_network(network: keras.Model, layer: str) -> keras.Model:
    """The network with a second output, ``features`` (layer ``layer``), beside its
    ``logits``: one forward pass gives the prediction and the guard's features."""
    import keras

    return keras.Model(network.input, {"logits": network.outputs[0],
                                        "features": network.get_layer(layer).output},
                       name=f"{network.name}_with_features")


def thumbnails(x: np.ndarray, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """(N, side * side) block means of the network inputs (N, S, S, 1), each z-scored so
    that exposure and contrast do not count, only the pattern."""
    n, size = len(x), x.shape[1]
    block = size // side
    small = x[:, :block * side, :block * side, 0].reshape(n, side, block, side, block)
    flat = small.mean(axis=(2, 4)).reshape(n, -1).astype(np.float64)
    flat -= flat.mean(axis=1, keepdims=True)
    return flat / np.maximum(flat.std(axis=1, keepdims=True), 1e-6)


@dataclass(frozen=True)
class DomainGuard:
    """The fitted guard: :meth:`scores` of prepared images, :meth:`check` raises."""

    thresholds: dict[str, float]
    class_means: np.ndarray      # (classes, features)
    precision: np.ndarray        # (features, features), shared by the classes
    pixel_mean: np.ndarray       # (side * side,)
    pixel_components: np.ndarray  # (components, side * side), orthonormal rows
    thumbnail_side: int = THUMBNAIL_SIDE

    @classmethod
    def from_card(cls, card) -> DomainGuard | None:
        """The guard of ``card`` (None when it has none), its parameters file checked
        against the SHA-256 in the card."""
        spec = card.domain_guard
        if spec is None:
            return None
        path = card.verified_file(spec["parameters_file"], spec["parameters_sha256"],
                                  "runtime.domain_guard.parameters_file", "The domain guard")
        arrays = _parameters(path, spec["parameters_sha256"])
        return cls(thresholds={k: float(v) for k, v in spec["thresholds"].items()},
                   thumbnail_side=int(spec["thumbnail_side"]), **arrays)

    def pixel_score(self, x: np.ndarray) -> np.ndarray:
        """The share of each thumbnail's variance outside the principal components."""
        centred = thumbnails(x, self.thumbnail_side) - self.pixel_mean
        residual = centred - (centred @ self.pixel_components.T) @ self.pixel_components
        return (residual ** 2).mean(axis=1)

    def feature_score(self, features: np.ndarray) -> np.ndarray:
        """Mahalanobis distance to the nearest class mean (Lee et al. 2018)."""
        difference = features[:, None, :].astype(np.float64) - self.class_means[None]
        squared = np.einsum("ncf,fg,ncg->nc", difference, self.precision, difference)
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))

    def scores(self, x: np.ndarray, features: np.ndarray,
               colour: np.ndarray) -> dict[str, np.ndarray]:
        return {"colour": np.asarray(colour, dtype=np.float64),
                "pixels": self.pixel_score(x), "features": self.feature_score(features)}

    def ratios(self, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each score over its threshold: above 1 is refused."""
        return {name: scores[name] / self.thresholds[name] for name in SCORES}

    def check(self, x: np.ndarray, features: np.ndarray, colour: float) -> None:
        """Raise :class:`OutOfDomain` when one image (a batch of one) is refused; its
        ``domain_score`` is the largest score-to-threshold ratio."""
        ratios = {k: float(v[0]) for k, v in
                  self.ratios(self.scores(x, features, np.array([colour]))).items()}
        over = [name for name in SCORES if ratios[name] > 1.0]
        if over:
            raise OutOfDomain(refusal_message(over[0]), domain_score=max(ratios.values()))


def domain_fit(model: ImageModel, result: Result) -> float | None:
    """How well an image its model's guard accepted fits that model's domain: the largest
    of its scores over their thresholds (at most 1 when accepted; lower fits better), from
    the prediction's own forward pass; None for a model without a guard. Among image models
    that all accept an image, the best-fitting one answers
    (:func:`dxcore.intake.predict_cases`)."""
    guard = model.domain_guard
    if guard is None:
        return None
    ratios = guard.ratios(guard.scores(np.asarray(result.model_input),
                                       result.outputs["features"],
                                       np.array([result.detail.image.colourfulness])))
    return float(max(ratio[0] for ratio in ratios.values()))


@cache
def _parameters(path: Path, sha256: str) -> dict[str, np.ndarray]:
    """The parameter arrays, read once per content (``sha256``)."""
    with np.load(path, allow_pickle=False) as arrays:
        return {name: arrays[name] for name in
                ("class_means", "precision", "pixel_mean", "pixel_components")}


# --- fitting -----------------------------------------------------------------------------
def decode_for_guard(paths: list[Path], side: int, normalization: str,
                     progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs (N, side, side, 1) and colourfulness (N,) of image files, decoded
    once each as an upload is."""
    from tqdm import tqdm

    def one(path: Path) -> tuple[np.ndarray, float]:
        image = load_image(path)
        return prepare_for_model(image.pixels, side, normalization), image.colourfulness

    with ThreadPoolExecutor(max_workers=4) as pool:
        decoded = list(tqdm(pool.map(one, paths), total=len(paths), disable=not progress,
                            desc="Reading images", unit="img"))
    return (np.stack([d[0] for d in decoded])[..., None].astype(np.float32),
            np.array([d[1] for d in decoded]))


def fit_guard(network: keras.Model, fit_paths: list[Path], fit_labels: np.ndarray,
              held_out_paths: list[Path], side: int, normalization: str, folder: Path,
              held_out_source: str) -> dict[str, Any]:
    """Fit the guard's statistics on ``fit_paths`` (the images the network was trained
    on), set each threshold at ``QUANTILE`` of the scores of ``held_out_paths`` (in-domain
    images it was not fitted on), write the parameters file into ``folder`` and return
    the card's ``runtime.domain_guard``."""
    from sklearn.covariance import LedoitWolf

    with_features = feature_network(network, FEATURE_LAYER)
    x_fit, _ = decode_for_guard(fit_paths, side, normalization, progress=True)
    features = batched_outputs(with_features, x_fit, 64)["features"].astype(np.float64)
    classes = np.unique(fit_labels)
    class_means = np.stack([features[fit_labels == c].mean(axis=0) for c in classes])
    within = features - class_means[np.searchsorted(classes, fit_labels)]
    precision = LedoitWolf(assume_centered=True).fit(within).precision_

    pixels = thumbnails(x_fit)
    pixel_mean = pixels.mean(axis=0)
    _, singular, components = np.linalg.svd(pixels - pixel_mean, full_matrices=False)
    explained = np.cumsum(singular ** 2) / np.sum(singular ** 2)
    kept = int(np.searchsorted(explained, EXPLAINED_VARIANCE)) + 1
    pixel_components = components[:kept]

    guard = DomainGuard({}, class_means, precision, pixel_mean, pixel_components)
    x_held, colour_held = decode_for_guard(held_out_paths, side, normalization, progress=True)
    held_features = batched_outputs(with_features, x_held, 64)["features"]
    held = guard.scores(x_held, held_features, colour_held)
    quantiles = {name: float(np.quantile(held[name], QUANTILE)) for name in SCORES}
    thresholds = {**quantiles, "colour": max(quantiles["colour"], COLOUR_FLOOR)}

    path = folder / PARAMETERS_FILE
    folder.mkdir(parents=True, exist_ok=True)
    # float32 halves the file; the scores need nowhere near float64's precision.
    np.savez(path, **{name: array.astype(np.float32) for name, array in (
        ("class_means", class_means), ("precision", precision), ("pixel_mean", pixel_mean),
        ("pixel_components", pixel_components))})
    _parameters.cache_clear()
    return {
        "parameters_file": PARAMETERS_FILE,
        "parameters_sha256": sha256_of(path),
        "feature_layer": FEATURE_LAYER,
        "thumbnail_side": THUMBNAIL_SIDE,
        "pixel_components": kept,
        "quantile": QUANTILE,
        "thresholds": thresholds,
        "held_out_quantiles": quantiles,
        "fitted_on": f"{len(fit_paths)} training images (statistics); thresholds at the "
                     f"{QUANTILE:g} quantile of the {held_out_source}",
    }


METHOD = (
    "domain guard (dxcore.images.domain): an image is refused, with no answer, when any of "
    "three scores passes its threshold: colourfulness of the file before grayscale "
    "conversion (Hasler & Suesstrunk, SPIE 2003); PCA reconstruction error of a 32x32 "
    "z-scored thumbnail (as TorchXRayVision's Chester demo, Cohen et al. arXiv:1901.11210); "
    "Mahalanobis distance of the penultimate features to the nearest class mean, tied "
    "Ledoit-Wolf covariance (Lee et al., NeurIPS 2018). Statistics fitted on the training "
    "images, thresholds at a high quantile of held-out in-domain (validation) scores; no "
    "out-of-domain image was used for fitting")
