"""What the server process needs before any page runs: uploads kept in memory, and the core
imported once.

Uploads, in memory only, never in a file on disk. Streamlit 1.67 serves with Starlette,
whose multipart parser (``starlette.formparsers.MultiPartParser``) puts each uploaded file
in a ``tempfile.SpooledTemporaryFile`` that rolls over to an unnamed file in ``$TMPDIR``
(``/tmp``) once it holds more than ``spool_max_size`` bytes (1 MB): a 10 MB DICOM was
written there whole before Streamlit read it back into memory
(``streamlit/web/server/starlette/starlette_routes.py``, ``_upload_put``). Streamlit has no
option for it, so the parser's class attribute is set here: ``0`` is
``SpooledTemporaryFile``'s own "never roll over", which Starlette's ``UploadFile`` honours
too. The size of an upload stays bounded by ``server.maxUploadSize``, which Streamlit
enforces while the body streams in.

``app.py`` calls this before any page runs, and an upload can only reach the server from a
page's file uploader, so no upload ever arrives before the setting holds.

The core, imported by one session at a time. Each browser session runs ``app.py`` in a
thread of its own, and TensorFlow's import (which ``dxcore`` starts) is not thread-safe: two
first visits at once to a fresh server left half-initialised TensorFlow modules in
``sys.modules`` ("partially initialized module ... most likely due to a circular import"),
and every page failed from then on until a restart (``scripts/load_test.py`` found it).
"""

from __future__ import annotations

import threading

from starlette.formparsers import MultiPartParser

# SpooledTemporaryFile(max_size=0) keeps its data in memory whatever its size.
NEVER_ROLL_OVER = 0
_importing_core = threading.Lock()


def keep_uploads_in_memory() -> None:
    """Make every multipart upload the server parses stay in memory."""
    MultiPartParser.spool_max_size = NEVER_ROLL_OVER


def import_core() -> None:
    """Import ``dxcore`` (and TensorFlow) unless done, one session's thread at a time; once
    it is imported this is a lookup in ``sys.modules``."""
    with _importing_core:
        import dxcore  # noqa: F401
