"""Does test-time augmentation help the shipped chest X-ray network? Measured on the
validation split only (carved by patient from the training images with the card's seed,
as the recipe carves it; no test image is read), issue 24 item 4.

Each validation image is read as the network reads it, then shifted (up to ``--shift``
pixels in each direction) and scaled (``--scales``), never flipped (a chest film has a
side); the logits of the copies are averaged. Printed for the plain network and for TTA:
AUC, cross-entropy and accuracy at the card's threshold, with the temperature refitted on
the same logits (the honest comparison for calibration would need a second split; here the
question is ranking, so AUC decides, with cross-entropy beside it).

Usage:
    nice -n 10 python scripts/cxr_tta.py
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy.ndimage import affine_transform  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from dxcore import calibration, get_model  # noqa: E402
from dxcore.batching import batched_outputs  # noqa: E402
from dxcore.images import chest_xray  # noqa: E402
from dxcore.images.training import SIDE  # noqa: E402


def transformed(images: np.ndarray, shift: tuple[int, int], scale: float) -> np.ndarray:
    """Each image scaled about its centre and shifted, edges repeated."""
    centre = (SIDE - 1) / 2
    matrix = np.eye(2) / scale
    offset = centre - matrix @ np.full(2, centre) - np.asarray(shift) / scale
    return np.stack([affine_transform(image, matrix, offset, order=1, mode="nearest")
                     for image in images])


def figures(logits: np.ndarray, labels: np.ndarray, threshold: float) -> str:
    temperature = calibration.fit_temperature(logits, labels)
    probability = calibration.calibrated_probabilities(logits, temperature)[:, 1]
    eps = 1e-7
    loss = -np.mean(labels * np.log(probability + eps)
                    + (1 - labels) * np.log(1 - probability + eps))
    accuracy = np.mean((probability >= threshold) == labels)
    return (f"AUC {roc_auc_score(labels, probability):.4f}, cross-entropy {loss:.4f}, "
            f"accuracy at {threshold:.2f} {accuracy:.4f} (temperature {temperature:.3f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shift", type=int, default=4)
    parser.add_argument("--scales", type=float, nargs="+", default=[0.95, 1.05])
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    model = get_model("cxr-pneumonia")
    seed = int(model.card["training"].get("seed", 0))
    _, validation = chest_xray.train_validation_split(
        chest_xray.official_split("train", args.data), seed=seed)
    normalization = model.card.input_spec.get("normalization", "unit")
    x = chest_xray.load_pixels(validation.paths, SIDE, normalization=normalization)
    x = x.reshape(len(x), SIDE, SIDE)  # one channel
    labels = np.asarray(validation.labels)
    network = model.forward_network
    print(f"validation: {len(labels)} images, {labels.mean():.1%} pneumonia")

    def logits_of(images: np.ndarray) -> np.ndarray:
        return batched_outputs(network, images[..., None], 64)["logits"]

    plain = logits_of(x)
    s = args.shift
    copies = [(shift, 1.0) for shift in ((s, 0), (-s, 0), (0, s), (0, -s))]
    copies += [((0, 0), scale) for scale in args.scales]
    tta = np.mean([plain, *(logits_of(transformed(x, shift, scale))
                            for shift, scale in copies)], axis=0)
    threshold = float(model.card.threshold)
    print(f"plain network: {figures(plain, labels, threshold)}")
    print(f"TTA ({1 + len(copies)} views: shifts of {s} px, scales {args.scales}): "
          f"{figures(tta, labels, threshold)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
