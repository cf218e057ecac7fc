"""Image pages: the input (an upload, or an example case of a public test split; the latest
choice wins), the answer (:func:`answer_section`), the saliency overlay and the image's
acquisition facts. The image modality's views of the shared pages (:mod:`dxui.views`): a row
per image in the worklist, the answer in a column of the patient view, the failed test
images on the Models page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import streamlit as st

from dxcore import DxError, LoadedImage
from dxcore.cards import ModelCard
from dxcore.contract import Result
from dxcore.explain import Explanation
from dxcore.images.explainers import colour_bar, overlay
from dxcore.images.formats import image_extensions, image_formats_text
from dxcore.intake import Outcome
from dxcore.labels import InputLabels
from dxui import results, signoff, uploads
from dxui.common import plain, show_error, show_notes
from dxui.worklist import answer_row

UPLOAD_TYPES = image_extensions()  # as the drop zone and the image reader: one list
EXAMPLES_PER_CLASS = 6
# The saliency controls' widget keys. Streamlit drops a widget's value in any run that does
# not draw it, and a browser replacing the uploaded file runs the page once with the
# uploader empty (no result, so no controls) before the new file arrives: the method came
# back as Grad-CAM++ on the next image. So each choice is also kept under a key of its own
# (:func:`kept_choice`), which Streamlit never drops, and its control is drawn from it.
METHOD_KEY, OPACITY_KEY, COMPARE_KEY = "image_method", "image_opacity", "image_compare"
DEFAULT_OPACITY = 0.45
NOUN = "image"  # what the verdict calls the input: "The model reads this image as ..."
CALIBRATED_ON = "validation data"
ROW_PER_ITEM = False  # an image is one row
THUMBNAIL_PX = 180

Choice = TypeVar("Choice")


def image_input(prefix: str) -> tuple[dict[str, bytes], str] | None:
    """The image to analyse as an upload ``{name: bytes}`` and where it came from
    (``"Uploaded image"`` or the example's label), or None (the page says what to do). The
    latest choice wins: an upload clears the example picker, and picking an example clears
    the upload (a file uploader is emptied by giving it a new key). ``prefix`` keys the
    widgets."""
    state = st.session_state
    round_key, example_key = f"{prefix}_upload_round", f"{prefix}_example"
    state.setdefault(round_key, 0)

    def use_upload() -> None:
        state[example_key] = None

    def use_example() -> None:
        state[round_key] += 1

    upload_column, example_column = st.columns([3, 2], gap="large")
    with upload_column:
        uploaded = st.file_uploader(
            "Upload a frontal chest X-ray", type=None,  # checked below, with a message
            key=f"{prefix}_upload_{state[round_key]}", on_change=use_upload,
            help=f"{image_formats_text()}. The file is analysed in memory and never stored.")
    examples = chest_xray_examples()
    example = None
    if examples:
        with example_column:
            example = st.selectbox(
                "Or choose an example case", list(examples), index=None, key=example_key,
                on_change=use_example, placeholder="A case from the public test set",
                help="Images from the dataset's official test split, never used in training.")
    if uploaded is not None and uploads.keep_allowed([uploaded], UPLOAD_TYPES, "an image"):
        return {uploaded.name: uploaded.getvalue()}, "Uploaded image"
    if example is not None:
        path = Path(examples[example])
        return {path.name: path.read_bytes()}, example
    st.info("Upload an image, or choose an example case, to see the model's reading.",
            icon=":material/upload_file:")
    return None


def answer_section(model_id: str, upload: results.Upload, result: Result, source: str,
                   options: dict[str, Any] | None = None) -> None:
    """The verdict, the clinician's sign-off (of the answer read with ``options``, as
    :func:`dxui.signoff.section`) and where the model looked: the chest X-ray page's answer,
    and an image's in full on the worklist (:func:`case_view`)."""
    results.verdict(result, 0, NOUN, calibrated_on=CALIBRATED_ON)
    signoff.section(model_id, upload, result, options=options)
    saliency_section(model_id, upload, source, result)


def saliency_section(model_id: str, upload: results.Upload, source: str,
                     result: Result) -> None:
    """The image beside its saliency overlay (method and opacity chosen beside them, with
    the colour bar and how to read the map), the image's facts and, on request, every
    method's map side by side."""
    image: LoadedImage = result.detail.image
    predicted = str(result.decisions[0])
    st.subheader("Where the model looked")
    image_column, overlay_column, control_column = st.columns([5, 5, 3], gap="medium")
    methods = results.explanation_methods(model_id)
    kept_method, keep_method = kept_choice(METHOD_KEY, methods[0])
    kept_opacity, keep_opacity = kept_choice(OPACITY_KEY, DEFAULT_OPACITY)
    kept_compare, keep_compare = kept_choice(COMPARE_KEY, False)
    with control_column:
        method = st.radio("Explanation method", methods, index=methods.index(kept_method),
                          key=METHOD_KEY, on_change=keep_method,
                          format_func=lambda m: results.method_label(model_id, m))
        opacity = st.slider("Overlay opacity", 0.0, 1.0, kept_opacity, 0.05, key=OPACITY_KEY,
                            on_change=keep_opacity)
        st.caption(
            "The map shows which regions most raised the model's score for its "
            "prediction. It is not a lesion outline and can highlight non-anatomical "
            "features such as markers or borders.")
        st.markdown("**Image details**")
        st.markdown(facts_markdown(image))
        show_notes(image.notes)
    width, height = image.size
    image_column.image(display_pixels(image), width="stretch",
                       caption=f"{source} · {width} x {height} px")
    with overlay_column:
        method_map(model_id, upload, image, method, predicted, opacity)
    if st.toggle("Compare the explanation methods side by side", kept_compare,
                 key=COMPARE_KEY, on_change=keep_compare):
        for column, other in zip(st.columns(len(methods), gap="medium"), methods,
                                 strict=True):
            with column:
                method_map(model_id, upload, image, other, predicted, opacity)


def kept_choice(key: str, default: Choice) -> tuple[Choice, Callable[[], None]]:
    """The last value of the widget ``key`` (``default`` before any), to draw it with, and
    the ``on_change`` callback that keeps its next one. Drawn from the kept value, the
    widget shows the choice again after a run that did not draw it, and the browser, which
    draws a widget it re-creates at its default, marks the same choice the page uses."""
    state, kept = st.session_state, f"{key}_kept"

    def keep() -> None:
        state[kept] = state[key]

    return state.get(kept, default), keep


def method_map(model_id: str, upload: results.Upload, image: LoadedImage, method: str,
               predicted: str, opacity: float) -> Explanation | None:
    """One method's overlay with its colour bar and how to read it, or the notice that the
    map carries almost no signal (then the image is shown without colours)."""
    label = results.method_label(model_id, method)
    try:
        explanation = results.explain(model_id, upload, method)
    except Exception as error:
        show_error(error)
        return None
    if results.flat_notice(explanation):
        st.image(display_pixels(image), width="stretch",
                 caption=f"{label}: no map for {predicted} (almost no signal)")
    else:
        st.image(overlay(image.pixels, explanation.detail.saliency, opacity), width="stretch",
                 caption=f"{label} map for {predicted}")
        st.image(colour_bar(), width="stretch",
                 caption=f"low → high influence on P({predicted})")
    results.how_to_read(model_id, method)
    return explanation


def display_pixels(image: LoadedImage) -> np.ndarray:
    """The grayscale image as uint8 for ``st.image``."""
    return np.round(image.pixels * 255).astype(np.uint8)


def facts_markdown(image: LoadedImage) -> str:
    """The image's non-identifying facts (format, size, DICOM modality, view...), one a
    line. Only :attr:`LoadedImage.facts` is shown: dxcore never puts a patient attribute
    there. The values are the file's own, so they are shown as plain text."""
    return "  \n".join(f"{name}: **{plain(value)}**" for name, value in image.facts.items())


def chest_xray_examples() -> dict[str, str]:
    """``{"Test case 3 (reference: PNEUMONIA)": path}``: twelve images of the official test
    split, six of each class, picked and ordered the same way on every run. Empty when the
    dataset is not in :func:`dxcore.datasets.data_dir`."""
    from dxcore.datasets import data_dir

    return _chest_xray_examples(str(data_dir()))


@st.cache_data(ttl=results.CACHE_SECONDS, show_spinner=False)
def _chest_xray_examples(folder: str) -> dict[str, str]:
    from dxcore.images import chest_xray

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


# --- The views of the worklist, the patient view and the Models page (dxui.views) --------


def case_view(outcome: Outcome, upload: results.Upload, item: int | None = None) -> None:
    """The image's answer in full (:func:`answer_section`), captioned by its name."""
    case = outcome.case
    answer_section(case.model_id, upload, outcome.result, plain(case.name), case.options)


def patient_section(outcome: Outcome, upload: results.Upload) -> None:
    """The verdict stacked, the sign-off, and the image beside the default method's map
    without the method controls."""
    case, result = outcome.case, outcome.result
    results.verdict(result, 0, NOUN, calibrated_on=CALIBRATED_ON, stacked=True)
    signoff.section(case.model_id, upload, result, options=case.options)
    image = result.detail.image
    method = results.default_method(case.model_id)
    picture, overlay_column = st.columns(2, gap="medium")
    picture.image(display_pixels(image), width="stretch", caption=plain(case.name))
    with overlay_column:
        method_map(case.model_id, upload, image, method, str(result.decisions[0]),
                   DEFAULT_OPACITY)


def worklist_rows(result: Result, card: ModelCard, base: dict[str, Any], labels: InputLabels,
                  signed: Callable[[int | None], str]) -> list[dict[str, Any]]:
    """One row: the image's answer."""
    return [answer_row(base, result, 0, card.positive_class)]


def failure_gallery(card: ModelCard, failures: list[dict[str, Any]]) -> None:
    """The failed test images, a thumbnail each, read from the dataset in place."""
    # The Models page's parts bring scikit-learn: not for the chest X-ray page's first answer.
    from dxui.models import THUMBNAILS_PER_ROW, dataset_folder, failure_caption

    folder = dataset_folder(card)
    for start in range(0, len(failures), THUMBNAILS_PER_ROW):
        row = failures[start:start + THUMBNAILS_PER_ROW]
        for column, failure in zip(st.columns(THUMBNAILS_PER_ROW), row, strict=False):
            path = folder / failure["case_id"]
            if not path.is_file():
                raise DxError(f"{path} is missing.")
            column.image(str(path), width=THUMBNAIL_PX, caption=failure_caption(failure))
