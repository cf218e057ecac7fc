"""Speed of the chest X-ray path on this machine, as medians and as ratios to
``model.predict`` on the same input in the same run (the machine is shared and noisy, so
ratios within one run are what compare across runs).

    python scripts/benchmark_cxr.py [--repeats 30] [--image PATH]

Measured: model load (checksum + Keras safe-mode load); bytes of an uploaded image to
calibrated prediction; the same plus each saliency method and its overlay at the image's
own resolution (what the dashboard shows); and the domain guard's cost: bytes to
prediction and Grad-CAM++ overlay with the guard over the same without it (the card's
``runtime.domain_guard`` removed), a ratio that must stay within 1.2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
from timing import median_ms  # noqa: E402  (scripts/timing.py)

from dxcore import get_card, load_image  # noqa: E402
from dxcore.cards import ModelCard  # noqa: E402
from dxcore.explain import explainers_for, get_explainer  # noqa: E402
from dxcore.images import chest_xray  # noqa: E402
from dxcore.images.explainers import overlay  # noqa: E402
from dxcore.registry import model_for  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--image", help="an image file (default: the first test image)")
    args = parser.parse_args()
    card = get_card("cxr-pneumonia")
    image_path = Path(args.image) if args.image else chest_xray.official_split("test").paths[0]
    data = image_path.read_bytes()

    def load_model():
        return model_for(card).load()

    model = load_model()
    x = model.preprocess(load_image(data)).x

    def predict_bytes():
        return model.predict(data)

    def predict_and_explain(method: str, chosen=model) -> Callable[[], object]:
        def run():
            result = chosen.predict(data)
            image_map = chosen.explain(result, method).detail
            return overlay(image_map.pixels, image_map.saliency)
        return run

    unguarded = model_for(ModelCard(
        {**card.fields, "runtime": {k: v for k, v in card.runtime.items()
                                    if k != "domain_guard"}}, card.folder)).load()

    reference = median_ms(lambda: model.network.predict(x, verbose=0), args.repeats)
    rows = [("model.predict (reference)", reference),
            ("model load", median_ms(load_model, max(3, args.repeats // 6), warmup=1)),
            ("bytes -> prediction", median_ms(predict_bytes, args.repeats))]
    for method in explainers_for(model.modality):
        repeats = args.repeats if method == "gradcam++" else max(5, args.repeats // 3)
        rows.append((f"bytes -> prediction + {get_explainer(model.modality, method).label} "
                     "overlay",
                     median_ms(predict_and_explain(method), repeats)))
    guarded_ms, unguarded_ms = (median_ms(predict_and_explain("gradcam++", chosen),
                                          args.repeats) for chosen in (model, unguarded))
    rows += [("bytes -> guard + prediction + Grad-CAM++ overlay", guarded_ms),
             ("bytes -> prediction + Grad-CAM++ overlay, no guard", unguarded_ms)]
    print(f"cxr-pneumonia, image {load_image(data).size[0]}x{load_image(data).size[1]} px, "
          f"Keras {keras.__version__}, {os.cpu_count()} CPUs, median of up to "
          f"{args.repeats} runs\n")
    print("| step | median ms | ratio to model.predict |\n|---|---:|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} | {ms / reference:.2f} |")
    print(f"\ndomain guard: with / without = {guarded_ms / unguarded_ms:.3f} (must stay "
          "within 1.2)")


if __name__ == "__main__":
    main()
