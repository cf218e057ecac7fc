"""The Dx dashboard: ``streamlit run app.py``. Pages are listed in dxui/navigation.py."""

import streamlit as st

from dxui.navigation import PAGES
from dxui.server import (
    import_core,
    keep_uploads_in_memory,
    limit_malloc_arenas,
    release_free_memory,
)

# Before any page can offer a file uploader or import the core (see dxui/server.py).
keep_uploads_in_memory()
limit_malloc_arenas()
import_core()

# A favicon of its own: without one the browser tab shows the current page's Material icon,
# which Streamlit's frontend fetches from fonts.gstatic.com (the icon font it bundles serves
# the page itself, not the tab). An emoji favicon is an inline SVG: no request at all.
st.set_page_config(page_title="Dx dashboard", page_icon="🩺", layout="wide")
try:
    st.navigation([
        st.Page(page.path, title=page.title, icon=page.icon, default=page.default)
        for page in PAGES
    ]).run()
finally:
    # A run's buffers (a decoded record, a batch of beats) are freed by now (see
    # dxui/server.py); also when the run was stopped or restarted by a newer one.
    release_free_memory()
