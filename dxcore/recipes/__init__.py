"""One recipe per shipped model: how to train it and how to measure it on its test split.

A recipe module exposes ``MODEL_ID``, ``TARGETS`` (the test-split figures its issue asks
for, copied into the card by ``python -m dxcore train``), ``train(out_dir, data, epochs,
seed) -> dict`` (the card fields, weights saved in ``out_dir``) and ``evaluate(model, data,
resamples) -> dict`` (the test metrics stored in the card); optionally ``table(metrics) ->
str`` when its metrics need their own printed layout.
"""

from importlib import import_module
from types import ModuleType

from dxcore.errors import DxError

RECIPES = {
    "cxr-pneumonia": "dxcore.recipes.cxr_pneumonia",
    "ecg-beats": "dxcore.recipes.ecg_beats",
    "heart-disease": "dxcore.recipes.heart_disease",
    "ckd": "dxcore.recipes.ckd",
    "leukemia-golub": "dxcore.recipes.leukemia_golub",
}


def recipe_for(model_id: str) -> ModuleType:
    if model_id not in RECIPES:
        raise DxError(f"No training recipe for '{model_id}'. Known: {', '.join(RECIPES)}.")
    return import_module(RECIPES[model_id])
