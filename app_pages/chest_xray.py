"""Chest X-ray: upload an image (or pick a test case), see the calibrated prediction, the
saliency map over the image, and the model card's test metrics."""

import streamlit as st

from dxcore import get_card
from dxui import imaging
from dxui.common import (
    decision_sentence,
    load_model,
    model_card_section,
    probability_bars,
    research_notice,
    show_error,
    target_warning,
)

MODEL_ID = "cxr-pneumonia"

st.title("Chest X-ray: pneumonia")
st.caption("Pneumonia (bacterial or viral) vs normal on a frontal paediatric chest X-ray.")
research_notice()

try:
    card = get_card(MODEL_ID)
    load_model(MODEL_ID)
except Exception as error:
    show_error(error)
    st.stop()
target_warning(card)

# --- Input --------------------------------------------------------------------------------
# The latest choice wins: an upload clears the example picker, and picking an example
# clears the upload (a file uploader is emptied by giving it a new key).
state = st.session_state
state.setdefault("cxr_upload_round", 0)


def use_upload() -> None:
    state["cxr_example"] = None


def use_example() -> None:
    state["cxr_upload_round"] += 1


upload_column, example_column = st.columns([3, 2], gap="large")
with upload_column:
    uploaded = st.file_uploader(
        "Upload a frontal chest X-ray", type=imaging.UPLOAD_TYPES,
        key=f"cxr_upload_{state['cxr_upload_round']}", on_change=use_upload,
        help="PNG, JPEG or DICOM. The file is analysed in memory and never stored.")
examples = imaging.chest_xray_examples()
example = None
if examples:
    with example_column:
        example = st.selectbox(
            "Or choose an example case", list(examples), index=None, key="cxr_example",
            on_change=use_example, placeholder="A case from the public test set",
            help="Images from the dataset's official test split, never used in training.")

if uploaded is not None:
    data, source = uploaded.getvalue(), "Uploaded image"
elif example is not None:
    data, source = imaging.read_example(examples[example]), example
else:
    st.info("Upload an image, or choose an example case, to see the model's reading.",
            icon=":material/upload_file:")
    data = None

# --- Result -------------------------------------------------------------------------------
if data is not None:
    try:
        image, prediction = imaging.analyse(MODEL_ID, data)
    except Exception as error:
        show_error(error)
    else:
        st.subheader("Result")
        with st.container(border=True):
            verdict_column, probability_column = st.columns([1, 2], gap="large")
            with verdict_column:
                st.metric("Model prediction", prediction.prediction)
                st.markdown(decision_sentence(prediction))
            with probability_column:
                probability_bars(prediction.probabilities, prediction.positive_class,
                                 prediction.threshold, "validation data")

        st.subheader("Where the model looked")
        image_column, overlay_column, control_column = st.columns([5, 5, 3], gap="medium")
        with control_column:
            method = st.radio("Explanation method", imaging.method_options(),
                              format_func=imaging.method_label)
            opacity = st.slider("Overlay opacity", 0.0, 1.0, 0.45, 0.05)
            st.caption(
                "The map shows which regions most raised the model's score for its "
                "prediction. It is not a lesion outline and can highlight non-anatomical "
                "features such as markers or borders.")
            st.markdown("**Image details**")
            st.markdown(imaging.facts_markdown(image))
            for note in image.notes:
                st.info(note, icon=":material/info:")
        width, height = image.size
        image_column.image(imaging.display_pixels(image), width="stretch",
                           caption=f"{source} · {width} x {height} px")
        try:
            shaded = imaging.saliency_overlay(MODEL_ID, data, method, opacity)
        except Exception as error:
            with overlay_column:
                show_error(error)
        else:
            overlay_column.image(shaded, width="stretch",
                                 caption=f"{imaging.method_label(method)} map for "
                                         f"{prediction.prediction} (red: most influence)")

st.divider()
model_card_section(card)
