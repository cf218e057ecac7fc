"""The Dx dashboard: ``streamlit run app.py``. Pages are listed in dxui/navigation.py."""

import streamlit as st

from dxui.navigation import PAGES

st.set_page_config(page_title="Dx dashboard", layout="wide")
st.navigation([
    st.Page(page.path, title=page.title, icon=page.icon, default=page.default)
    for page in PAGES
]).run()
