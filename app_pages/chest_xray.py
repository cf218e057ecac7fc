"""Chest X-ray: upload an image (or pick a test case), see the calibrated prediction, the
saliency map over the image, and the model card's test metrics."""

import streamlit as st

from dxui import imaging, report, results
from dxui.common import model_card_section, page_model, research_notice, show_error
from dxui.navigation import CHEST_XRAY as PAGE

st.title(PAGE.heading)
st.caption("Pneumonia (bacterial or viral) vs normal on a frontal paediatric chest X-ray.")
research_notice()
card = page_model(PAGE.model_id)

chosen = imaging.image_input("cxr")
if chosen is not None:
    files, source = chosen
    upload = results.Upload(files)
    try:
        result = results.analyse(PAGE.model_id, upload,
                                 prior=results.standing_prior(PAGE.model_id))
    except Exception as error:
        show_error(error)
    else:
        st.subheader("Result")
        imaging.answer_section(PAGE.model_id, upload, result, source)
        report.report_button(PAGE.model_id, upload)

st.divider()
model_card_section(card)
