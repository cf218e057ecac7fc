"""The dashboard's Streamlit side: the page list and the UI pieces several pages share.

Pages (``app_pages/*.py``) stay thin: they read the input, call :mod:`dxcore` through the
helpers here and render. Nothing here trains or defines a model, and nothing writes an
upload to disk: uploads live in Streamlit's in-memory upload manager and, for a short
while, in its in-memory ``st.cache_data`` store.
"""
