"""Image pages: analysis of an upload (cached in memory by content hash), the saliency
overlay, the image's acquisition facts, and example cases from a public test split."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st
from dxcore.models import Prediction
from dxcore.predict import explain_prediction

from dxcore import DxError, LoadedImage, load_image
from dxcore.explain import DEFAULT_METHOD, EXPLAINERS, overlay
from dxui.common import load_model

# Results stay in Streamlit's in-memory cache (never on disk) for a few minutes, so that
# moving the opacity slider or switching methods back does not recompute them.
CACHE_SECONDS = 600
UPLOAD_TYPES = ["png", "jpg", "jpeg", "dcm"]
EXAMPLES_PER_CLASS = 6


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.cache_data(max_entries=8, ttl=CACHE_SECONDS, show_spinner="Analysing the image…")
def _analyse(model_id: str, key: str, _data: bytes) -> tuple[LoadedImage, Prediction]:
    image = load_image(_data)
    return image, load_model(model_id).predict(image)


@st.cache_data(max_entries=16, ttl=CACHE_SECONDS, show_spinner="Computing the saliency map…")
def _saliency(model_id: str, key: str, method: str, _data: bytes) -> np.ndarray:
    _, prediction = _analyse(model_id, key, _data)
    return explain_prediction(load_model(model_id), prediction, method)


def analyse(model_id: str, data: bytes) -> tuple[LoadedImage, Prediction]:
    """The decoded image and the model's prediction; raises :class:`DxError` on bad input."""
    return _analyse(model_id, digest(data), data)


def saliency_overlay(model_id: str, data: bytes, method: str, opacity: float) -> np.ndarray:
    """The image with the predicted class's saliency map on top, RGB uint8, at the image's
    own resolution."""
    key = digest(data)
    image, _ = _analyse(model_id, key, data)
    return overlay(image.pixels, _saliency(model_id, key, method, data), opacity)


def display_pixels(image: LoadedImage) -> np.ndarray:
    """The grayscale image as uint8 for ``st.image``."""
    return np.round(image.pixels * 255).astype(np.uint8)


def method_options() -> list[str]:
    """Explainer ids, the default first."""
    return [DEFAULT_METHOD, *(name for name in EXPLAINERS if name != DEFAULT_METHOD)]


def method_label(method: str) -> str:
    return EXPLAINERS[method].label


def facts_markdown(image: LoadedImage) -> str:
    """The image's non-identifying facts (format, size, DICOM modality, view...), one a
    line. Only :attr:`LoadedImage.facts` is shown: dxcore never puts a patient attribute
    there."""
    return "  \n".join(f"{name}: **{value}**" for name, value in image.facts.items())


def chest_xray_examples() -> dict[str, str]:
    """``{"Test case 3 (reference: PNEUMONIA)": path}``: twelve images of the official test
    split, six of each class, picked and ordered the same way on every run. Empty when the
    dataset is not in :func:`dxcore.datasets.data_dir`."""
    from dxcore.datasets import data_dir

    return _chest_xray_examples(str(data_dir()))


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _chest_xray_examples(folder: str) -> dict[str, str]:
    from dxcore.datasets import chest_xray

    try:
        test = chest_xray.official_split("test", folder)
    except DxError:
        return {}
    chosen = []
    for label in range(len(chest_xray.CLASS_NAMES)):
        indices = np.flatnonzero(test.labels == label)
        if len(indices):
            picks = np.linspace(0, len(indices) - 1, EXAMPLES_PER_CLASS).round().astype(int)
            chosen += [int(i) for i in indices[np.unique(picks)]]
    order = np.random.default_rng(0).permutation(len(chosen))
    cases = {}
    for number, position in enumerate(order, start=1):
        index = chosen[position]
        reference = chest_xray.CLASS_NAMES[test.labels[index]]
        cases[f"Test case {number} (reference: {reference})"] = str(test.paths[index])
    return cases


def read_example(path: str) -> bytes:
    return Path(path).read_bytes()
