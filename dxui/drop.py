"""The one drop zone: files of any supported kind, dropped on the home page, the worklist or
the patient view, sorted out by :mod:`dxcore.intake` (what each file is, which files go
together, which model reads them) and kept for the other pages in the session's memory.

A file its model cannot read without something only the user knows (an ECG CSV without a
time column needs its sampling rate, :meth:`~dxcore.contract.DxModel.options_needed`) gets
an input for it right beside the drop (:func:`asked_section`); the answers are kept with the
drop and each case is read with its own.

Importing this module imports no TensorFlow: the home page shows the drop zone at once, and
the core is imported (:func:`dxui.server.import_core`) only once files are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from dxcore.intake import Intake, group_files
from dxui.common import plain, show_error
from dxui.server import import_core

if TYPE_CHECKING:  # the worklist imports the core, which the home page does without
    from dxcore.contract import AskedOption
    from dxui.worklist import Run

# The latest drop, ``{file name: bytes}``, in the session's memory only (never on disk),
# so that the worklist and the patient view read what was dropped on the home page.
SESSION_DROP = "dx_drop"
# The drop's reader options the user gave, ``(drop key, {case name: {option: value}})``,
# and the options each of its cases needs, ``(drop key, {case name: [AskedOption]})``:
# finding out reads the file, once per drop.
SESSION_ANSWERS = "dx_drop_answers"
SESSION_ASKED = "dx_drop_asked"
# Words, not the modalities' registrations: the home page shows the drop zone before any
# modality is imported (tests/test_intake.py checks that it names every image format).
HELP = ("Images (PNG, JPEG, TIFF or DICOM), ECG records (a WFDB .hea with its .dat and "
        "optional .atr, EDF, or CSV), case tables (CSV, Excel .xlsx or JSON), or a ZIP of any "
        "of these. Each file is recognised by its content; files are read in memory and never "
        "stored.")


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
    """One row per case: its name, what it is, its files and the model that reads it (the
    models that may, when their domain guards choose as it is read), for ``st.dataframe``,
    which shows text as text: no Markdown escaping."""
    from dxcore.registry import modality

    return pd.DataFrame({
        "Case": [case.name for case in intake.cases],
        "Recognised as": [modality(case.kind).input_label for case in intake.cases],
        "Files": [", ".join(case.files) for case in intake.cases],
        "Model": [" or ".join(case.models) for case in intake.cases],
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
    source = f" from {inputs} input{'s' if inputs != 1 else ''}" if rows != inputs else ""
    return f"Open as a worklist ({counted}{source})"


def show_problems(intake: Intake) -> None:
    """One error per file that could not be read, all in one box."""
    if intake.problems:
        st.error("\n".join(f"- {plain(error)}" for _, error in intake.problems),
                 icon=":material/error:")


def mapping_offers(intake: Intake) -> None:
    """For each table whose columns match no model, a button to the Case records page,
    which opens with it at its column-mapping step (:mod:`dxui.mapping`)."""
    from dxui.navigation import RECORDS

    for name, data in intake.mappable.items():
        if st.button(f"Map the columns of {name}", key=f"dx_drop_map_{name}",
                     icon=":material/join:",
                     help="Say which column holds each field of a model, on the Case "
                          "records page."):
            from dxui.mapping import hand_over  # the core: imported once files are dropped

            hand_over(name, data)
            st.switch_page(RECORDS.path)


def answers(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    """The reader options given for this drop's cases, ``{case name: {option: value}}``."""
    from dxui.results import upload_key

    kept = st.session_state.get(SESSION_ANSWERS)
    return kept[1] if kept is not None and kept[0] == upload_key(files) else {}


def asked_section(files: dict[str, bytes], intake: Intake) -> Intake:
    """An input for each option a case cannot be read without (an ECG CSV's sampling rate),
    with the bounds its model gives; the intake with the answers given so far."""
    from dxui.results import upload_key

    key = upload_key(files)
    asked = _asked(key, intake)
    given = answers(files)
    for case in intake.cases:
        for option in asked.get(case.name, []):
            widget = f"dx_drop_option_{key[:12]}_{case.name}_{option.name}"
            st.number_input(
                f"{option.label} of {case.name}", min_value=float(option.low),
                max_value=float(option.high), step=1.0, key=widget,
                value=given.get(case.name, {}).get(option.name),
                placeholder="needed to read this file", help=option.help,
                on_change=_keep_answer, args=(key, case.name, option.name, widget))
            if option.name not in given.get(case.name, {}):
                st.warning(f"{plain(case.name)} is read once its "
                           f"{option.label.lower()} is entered above.",
                           icon=":material/edit_note:")
    return intake.with_options(given)


def _asked(key: str, intake: Intake) -> dict[str, list[AskedOption]]:
    """``{case name: the options it needs}`` of the drop ``key``, found once per drop."""
    from dxcore.registry import get_model

    kept = st.session_state.get(SESSION_ASKED)
    if kept is None or kept[0] != key:
        needed = {case.name: get_model(case.model_id).options_needed(case.files)
                  for case in intake.cases}
        kept = (key, {name: options for name, options in needed.items() if options})
        st.session_state[SESSION_ASKED] = kept
    return kept[1]


def _keep_answer(key: str, case: str, option: str, widget: str) -> None:
    """The number typed, kept with the drop (a widget's own state does not outlive its
    page)."""
    kept = st.session_state.get(SESSION_ANSWERS)
    given = kept[1] if kept is not None and kept[0] == key else {}
    value = st.session_state.get(widget)
    if value is None:
        given.get(case, {}).pop(option, None)
    else:
        given.setdefault(case, {})[option] = float(value)
    st.session_state[SESSION_ANSWERS] = (key, given)


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
        done = run(files, answers(files))
    except Exception as error:
        show_error(error)
        st.stop()
    show_problems(done.intake)
    asked_section(files, done.intake)
    return drop_key, done
