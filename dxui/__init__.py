"""The dashboard's Streamlit side: the page list and the UI pieces several pages share.

Pages (``app_pages/*.py``) stay thin: they take the input, run it through
:mod:`dxui.results` (the one cached upload -> result path, and the one result renderer)
and show it with their modality's views (:mod:`dxui.imaging`, :mod:`dxui.ecg` with its
charts in :mod:`dxui.ecg_charts`, :mod:`dxui.records`). The pages every modality's answers
reach (the worklist, the patient view, the Models page) find those views through the
registry (:mod:`dxui.views`), never by a modality's name. :mod:`dxui.common` holds the
notice, errors, the model loader and the model-card section, :mod:`dxui.navigation` the
pages. Nothing here trains or defines a model, and nothing writes an upload to disk: uploads
live in Streamlit's in-memory upload manager and, for a short while, in its in-memory
``st.cache_data`` store.
"""
