"""The dashboard's Streamlit side: the page list and the UI pieces several pages share.

Pages (``app_pages/*.py``) stay thin: they take the input, run it through
:mod:`dxui.results` (the one cached upload -> result path, and the one result renderer)
and show it with their modality's views (:mod:`dxui.imaging`, :mod:`dxui.ecg`,
:mod:`dxui.records`); :mod:`dxui.common` holds the notice, errors, the model loader and the
model-card section, :mod:`dxui.navigation` the pages. Nothing here trains or defines a
model, and nothing writes an upload to disk: uploads live in Streamlit's in-memory upload
manager and, for a short while, in its in-memory ``st.cache_data`` store.
"""
