"""What the server process needs before any page runs: uploads kept in memory, memory given
back between requests, and the core imported once.

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

Memory that settles: few malloc arenas, and freed memory handed back after each run. glibc
gives each thread that allocates at once another arena, up to eight per core, and a freed
block returns only to its own arena, which seldom hands it back to the system. Streamlit
runs every session's script in a thread of its own, so under ten browser sessions at once
(``scripts/load_test.py``, 10 contexts, 10 minutes, one run each) the server's lowest RSS
rose by about 35 MB a minute and it kept 1,366 MB once every session had gone (the models
loaded take about 830). glibc reads ``MALLOC_ARENA_MAX`` when the process starts, before
``app.py`` runs: set to 2 in the environment of ``streamlit run`` it left 961 MB. ``mallopt``
sets the same limit at run time, but only for arenas not yet made, and the first sessions'
threads make theirs before: alone it left 1,285 MB. With ``malloc_trim`` after each run as
well, which hands back what every arena holds free (15-35 ms, once the page is shown), the
lowest RSS grew by 8 MB a minute over one run's second half and 1,097 MB was left; it still
grows, though (+21 MB a minute over the second half of a 20-minute run: README). A
``MALLOC_ARENA_MAX`` the user sets is left as it is; the README advises it for a ward server.
Once no page has run for :data:`IDLE_BEFORE_RELEASE_S` (longer than Streamlit keeps a session
whose browser has gone), :class:`IdleRelease` drops the cached answers, which would otherwise
stay until their next lookup (``st.cache_data`` expires entries lazily), and trims again: a
ward's server goes back to what its models take between clinics, not to what its busiest
moment left (a page opened again then runs its model again, in about a second).

The core, imported by one session at a time, and only by pages that run a model, each its
own modality's part (the home page shows without it, and the chest X-ray page without
TensorFlow; :func:`warm_up_in_background` loads the chest X-ray model once the first page is
shown, and TensorFlow once a first answer has been). Each browser session runs ``app.py``
in a thread of its own, and TensorFlow's import
(which the modalities start) is not thread-safe: two first visits at once to a fresh server
left half-initialised TensorFlow modules in ``sys.modules`` ("partially initialized module
... most likely due to a circular import"), and every page failed from then on until a
restart (``scripts/load_test.py`` found it).
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
import time
from collections.abc import Callable

from starlette.formparsers import MultiPartParser

# SpooledTemporaryFile(max_size=0) keeps its data in memory whatever its size.
NEVER_ROLL_OVER = 0
_importing_core = threading.Lock()
# glibc's mallopt parameter for the most arenas (``M_ARENA_MAX`` in malloc.h), and ours.
M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def keep_uploads_in_memory() -> None:
    """Make every multipart upload the server parses stay in memory."""
    MultiPartParser.spool_max_size = NEVER_ROLL_OVER


def limit_malloc_arenas() -> bool:
    """At most :data:`MALLOC_ARENAS` glibc malloc arenas from now on; whether the limit was
    set (not with ``MALLOC_ARENA_MAX`` set, nor without glibc)."""
    mallopt = _glibc_function("mallopt")
    if mallopt is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return mallopt(M_ARENA_MAX, MALLOC_ARENAS) == 1


def release_free_memory() -> bool:
    """Give the memory freed in every arena back to the system (glibc's ``malloc_trim``);
    whether any was given back."""
    malloc_trim = _glibc_function("malloc_trim")
    return malloc_trim is not None and malloc_trim(0) == 1


def _glibc_function(name: str) -> Callable[..., int] | None:
    """The C library's function ``name`` on Linux, if it has one (musl lacks
    ``malloc_trim``); ``None`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    return getattr(ctypes.CDLL(None), name, None)


def import_core(modality: str | None = None) -> None:
    """Import the models' part of ``dxcore`` unless done, one session's thread at a time;
    once it is imported this is a lookup. ``modality``: only that modality's package (the
    image package runs its compiled network without TensorFlow); None: every modality, with
    TensorFlow. The home page runs without it; every page that runs a model, the home page
    once files are dropped, and an explanation (which reads the Keras network) call it
    first."""
    from dxcore import registry

    if modality is not None and registry.is_registered(modality):
        return  # imported already: no need to wait behind a TensorFlow import
    with _importing_core:
        if modality is None:
            registry.modalities()  # TensorFlow (imported quietly), then each modality
        else:
            registry.modality(modality)


_warm_up_started = threading.Event()
_first_answer = threading.Event()
# How long the warm-up waits for a first answer before importing TensorFlow all the same.
IDLE_BEFORE_TENSORFLOW_S = 30.0


def answer_shown() -> None:
    """Called once a page has shown an answer: the warm-up may import TensorFlow now."""
    _first_answer.set()


def warm_up_in_background(model_id: str) -> None:
    """Once per server process, in a daemon thread: load ``model_id`` (its compiled network
    where it has one: no TensorFlow); then, once a page has shown its first answer (or after
    ``IDLE_BEFORE_TENSORFLOW_S``), import the rest of the core and load the Keras network
    for the explanations. TensorFlow's import takes the interpreter for seconds: begun with
    the home page, it held the first chest X-ray answer back from 8 to 16 s after launch.
    A failure (the model not installed) is left to the page that needs it."""
    if _warm_up_started.is_set():
        return
    _warm_up_started.set()

    def warm_up() -> None:
        try:
            from dxcore.registry import get_card, get_model

            import_core(get_card(model_id)["modality"])
            model = get_model(model_id).load()
            _first_answer.wait(IDLE_BEFORE_TENSORFLOW_S)
            import_core()
            _ = model.network
        except Exception:  # noqa: BLE001, S110 - the page that needs the model says why
            pass

    threading.Thread(target=warm_up, name="dx-warm-up", daemon=True).start()


# Past Streamlit's 120 s for a session whose browser has gone (``disconnectedSessionTTL``).
IDLE_BEFORE_RELEASE_S = 180.0
IDLE_CHECK_EVERY_S = 30.0


class IdleRelease:
    """Frees what the cached answers hold once no page has run for ``idle_s`` seconds:
    ``clear`` (the dashboard's: ``st.cache_data.clear``), then the garbage collector and
    :func:`release_free_memory`, once per idle spell. :meth:`page_ran` after every page run;
    :meth:`check` now and then (:meth:`start`: every :data:`IDLE_CHECK_EVERY_S` in a daemon
    thread)."""

    def __init__(self, clear: Callable[[], None], idle_s: float = IDLE_BEFORE_RELEASE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clear = clear
        self._idle_s = idle_s
        self._clock = clock
        self._last_run = clock()
        self._released = False
        self._started = threading.Event()

    def page_ran(self) -> None:
        self._last_run = self._clock()
        self._released = False

    def check(self) -> bool:
        """Release if idle long enough and not yet released this spell; whether it did."""
        if self._released or self._clock() - self._last_run < self._idle_s:
            return False
        self._released = True
        self._clear()
        gc.collect()
        release_free_memory()
        return True

    def start(self) -> None:
        """The checks in a daemon thread, once per instance (no-op from then on)."""
        if self._started.is_set():
            return
        self._started.set()

        def keep_checking() -> None:
            while True:
                time.sleep(IDLE_CHECK_EVERY_S)
                self.check()

        threading.Thread(target=keep_checking, name="dx-idle-release", daemon=True).start()
