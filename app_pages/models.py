"""Models: every shipped model's card in full and its test report (ROC, reliability,
confusion matrix, prediction sets, the domain guard, the cases it got most wrong)."""

import streamlit as st

from dxcore import list_cards
from dxui import models
from dxui.common import models_table, research_notice, show_error, target_warning
from dxui.navigation import MODELS as PAGE

st.title(PAGE.heading)
st.caption(PAGE.summary)
research_notice()

try:
    cards = list_cards()
except Exception as error:  # a damaged card: say so instead of a traceback
    show_error(error)
    st.stop()
if not cards:
    st.info("No models are installed yet. Train one with `python -m dxcore train "
            "cxr-pneumonia`.", icon=":material/info:")
    st.stop()

st.table(models_table(cards), hide_index=True, border="horizontal")
card = models.chosen_card(cards)
target_warning(card)
models.card_section(card)
models.prediction_sets_section(card)
models.domain_guard_section(card)
models.report_section(card)
