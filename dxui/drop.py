"""The one drop zone: files of any supported kind, dropped on the home page, the worklist or
the patient view, sorted out by :mod:`dxcore.intake` (what each file is, which files go
together, which model reads them) and kept for the other pages in the session's memory.

Importing this module imports no TensorFlow: the home page shows the drop zone at once, and
the core is imported (:func:`dxui.server.import_core`) only once files are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from dxcore.intake import KINDS, Intake, group_files, image_formats_text
from dxui.common import plain, show_error
from dxui.server import import_core

if TYPE_CHECKING:  # the worklist imports the core, which the home page does without
    from dxui.worklist import Run

# The latest drop, ``{file name: bytes}``, in the session's memory only (never on disk),
# so that the worklist and the patient view read what was dropped on the home page.
SESSION_DROP = "dx_drop"
HELP = (f"Images ({image_formats_text()}), ECG records (a WFDB .hea with its .dat and "
        "optional .atr, EDF, or CSV), case tables (CSV or JSON), or a ZIP of any of these. "
        "Each file is recognised by its content; files are read in memory and never stored.")


def drop_zone(key: str, label: str = "Drop files") -> dict[str, bytes] | None:
    """The uploader (any file type: what a file is comes from its bytes); a new drop
    replaces the session's, and without one the session's latest drop is returned."""
    uploaded = st.file_uploader(label, accept_multiple_files=True, key=key, help=HELP)
    if uploaded:
        st.session_state[SESSION_DROP] = {file.name: file.getvalue() for file in uploaded}
    return st.session_state.get(SESSION_DROP)


def sort_out(files: dict[str, bytes]) -> Intake | None:
    """The drop grouped and routed (TensorFlow is imported here, once), or None after
    showing why not."""
    try:
        import_core()
        return group_files(files)
    except Exception as error:
        show_error(error)
        return None


def routing_table(intake: Intake) -> pd.DataFrame:
    """One row per case: its name, what it is, its files and the model that reads it (for
    ``st.dataframe``, which shows text as text: no Markdown escaping)."""
    return pd.DataFrame({
        "Case": [case.name for case in intake.cases],
        "Recognised as": [KINDS[case.kind] for case in intake.cases],
        "Files": [", ".join(case.files) for case in intake.cases],
        "Model": [case.model_id for case in intake.cases],
    })


def worklist_label(intake: Intake) -> str:
    """The worklist button's label, counting the rows the worklist will show: a table of
    cases is one input but a row per case, so the inputs are named too when they differ.

    >>> from dxcore.intake import Case
    >>> worklist_label(Intake([Case("a.png", "image", "m", {})], []))
    'Open as a worklist (1 case)'
    >>> worklist_label(Intake([Case("a.png", "image", "m", {}),
    ...                        Case("t.csv", "record", "r", {}, rows=3)], []))
    'Open as a worklist (4 cases from 2 inputs)'
    """
    rows, inputs = intake.rows, len(intake.cases)
    counted = f"{rows} case{'s' if rows != 1 else ''}"
    return f"Open as a worklist ({counted}{f' from {inputs} inputs' if rows != inputs else ''})"


def show_problems(intake: Intake) -> None:
    """One error per file that could not be read, all in one box."""
    if intake.problems:
        st.error("\n".join(f"- {plain(error)}" for _, error in intake.problems),
                 icon=":material/error:")


def dropped(key: str, label: str, hint: str,
            admit: Callable[[Intake], bool] | None = None) -> tuple[str, Run]:
    """A page's drop (its key, :func:`dxui.results.upload_key`) read, predicted and adapted
    (:func:`dxui.worklist.run`), with its unreadable files said; without a drop the page
    shows ``hint`` and stops, and so it does, before any model runs, when ``admit`` (shown
    the drop sorted out) says no."""
    from dxui.results import upload_key  # the core: not for the home page (no TensorFlow)
    from dxui.worklist import RUNS, run

    files = drop_zone(key, label)
    if not files:
        st.info(hint, icon=":material/upload_file:")
        st.stop()
    drop_key = upload_key(files)
    if admit is not None:
        # The drop's run, once made, holds it sorted out: a large ZIP is not expanded again
        # at every rerun.
        kept = st.session_state.get(RUNS)
        intake = kept[1].intake if kept is not None and kept[0] == drop_key else sort_out(files)
        if intake is None or not admit(intake):
            st.stop()
    try:
        done = run(files)
    except Exception as error:
        show_error(error)
        st.stop()
    show_problems(done.intake)
    return drop_key, done
