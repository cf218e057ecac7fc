"""The Dx dashboard: ``streamlit run app.py``. Pages are listed in dxui/navigation.py."""

import streamlit as st

from dxui.navigation import PAGES, WARM_UP_MODEL
from dxui.server import (
    IdleRelease,
    import_core,
    keep_uploads_in_memory,
    limit_malloc_arenas,
    release_free_memory,
    warm_up_in_background,
)

# Before any page can offer a file uploader or import the core (see dxui/server.py).
keep_uploads_in_memory()
limit_malloc_arenas()


@st.cache_resource(show_spinner=False)
def idle_release() -> IdleRelease:
    """One per server process: the cached answers dropped once nobody has used the dashboard
    for a while (see dxui/server.py)."""
    return IdleRelease(st.cache_data.clear)


# Here, not after the page: a page that ends with st.stop() or st.rerun() ends the script.
idle_release().start()

# A favicon of its own: without one the browser tab shows the current page's Material icon,
# which Streamlit's frontend fetches from fonts.gstatic.com (the icon font it bundles serves
# the page itself, not the tab). An emoji favicon is an inline SVG: no request at all.
st.set_page_config(page_title="Dx dashboard", page_icon="🩺", layout="wide")
pages = {page.path: st.Page(page.path, title=page.title, icon=page.icon, default=page.default)
         for page in PAGES}
try:
    chosen = st.navigation(list(pages.values()))
    spec = next(page for page in PAGES if pages[page.path] is chosen)
    # The home page shows without TensorFlow (about half the first page's time); every
    # other page runs a model and imports its modality's core first, one session at a time
    # (the chest X-ray page's without TensorFlow: dxcore.compiled).
    if not spec.default:
        import_core(spec.modality)
    chosen.run()
finally:
    # A run's buffers (a decoded record, a batch of beats) are freed by now (see
    # dxui/server.py); also when the run was stopped or restarted by a newer one.
    release_free_memory()
    idle_release().page_ran()
    # The first model warms up once the first page has been shown (no-op from then on);
    # here too for a page that ends with st.stop() (the worklist with nothing dropped).
    warm_up_in_background(WARM_UP_MODEL)
