"""The web server's handling of uploads: in memory only, never in a file on disk.

Streamlit 1.67 serves with Starlette, whose multipart parser
(``starlette.formparsers.MultiPartParser``) puts each uploaded file in a
``tempfile.SpooledTemporaryFile`` that rolls over to an unnamed file in ``$TMPDIR`` (``/tmp``)
once it holds more than ``spool_max_size`` bytes (1 MB): a 10 MB DICOM was written there whole
before Streamlit read it back into memory (``streamlit/web/server/starlette/
starlette_routes.py``, ``_upload_put``). Streamlit has no option for it, so the parser's
class attribute is set here: ``0`` is ``SpooledTemporaryFile``'s own "never roll over", which
Starlette's ``UploadFile`` honours too. The size of an upload stays bounded by
``server.maxUploadSize``, which Streamlit enforces while the body streams in.

``app.py`` imports this module before any page runs, and an upload can only reach the server
from a page's file uploader, so no upload ever arrives before the setting holds.
"""

from __future__ import annotations

from starlette.formparsers import MultiPartParser

# SpooledTemporaryFile(max_size=0) keeps its data in memory whatever its size.
NEVER_ROLL_OVER = 0


def keep_uploads_in_memory() -> None:
    """Make every multipart upload the server parses stay in memory."""
    MultiPartParser.spool_max_size = NEVER_ROLL_OVER
