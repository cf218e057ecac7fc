"""The column-mapping step of the Case records page, for a table whose headers are not a
model's fields (a French export: ``âge``, ``sexe``, ``cholestérol``): for each field of the
chosen model a choice of the table's columns, preselected by name similarity
(:func:`dxcore.records.mapping.suggest_mapping`); once confirmed, the mapped table goes
through the model's validation like any upload. The mapping can be downloaded as a small
JSON file and uploaded again with the next export. The work is in
:mod:`dxcore.records.mapping`; this module only asks.

A table the home page's drop could not route (its columns match no model) is handed here
through :data:`HANDOFF`, in the session's memory only.
"""

from __future__ import annotations

import streamlit as st

from dxcore.cards import ModelCard
from dxcore.errors import DxError
from dxcore.records.mapping import (
    ColumnMapping,
    apply_mapping,
    mapped_upload,
    mapping_json,
    read_mapping,
    suggest_mapping,
)
from dxcore.records.schema import Schema
from dxcore.registry import get_model
from dxui import results
from dxui.common import plain, show_error

NOT_IN_TABLE = "— not in this table —"
# ``{file name: bytes}``: a table dropped on the home page whose columns match no model.
HANDOFF = "dx_records_handoff"
MODEL_KEY = "records_mapping_model"
FORM_FIELDS_MAX = 60  # wider schemas (gene profiles) are mapped by folded name, not one by one


def hand_over(name: str, data: bytes) -> None:
    """Keep a dropped table for the Case records page's mapping step."""
    st.session_state[HANDOFF] = {name.rsplit("/", 1)[-1]: data}


def mapping_step(cards: dict[str, ModelCard], upload: results.Upload, columns: list[str],
                 model_id: str | None) -> ColumnMapping | None:
    """The mapping confirmed for this upload, or None. Shown open, as the way forward,
    when no model's fields match the columns (``model_id`` None); folded away when the
    model's fields are only partly among them; not at all when they all are."""
    key = f"records_mapping_{upload.key[:16]}"
    if model_id is not None:
        schema = _schema(model_id)
        absent = [name for name in schema.names if name not in columns]
        if not absent and key not in st.session_state:
            return None
        box = st.expander(f"Map columns: {len(absent)} of the model's {len(schema)} fields "
                          "are not among the file's columns", icon=":material/join:",
                          expanded=key in st.session_state)
    else:
        [name] = upload.files
        st.info(f"The columns of **{plain(name)}** match no case-record model on this "
                "dashboard. Choose the model these cases are for and say which column holds "
                "each of its fields (or upload a mapping saved before); the table is then "
                "checked like any other.", icon=":material/join:")
        box = st.container(border=True)
    with box:
        saved = _saved_mapping(cards, key)
        if saved is None:
            _form(cards, columns, model_id, key)
        confirmed: ColumnMapping | None = st.session_state.get(key)
        if confirmed is not None:
            st.download_button("Download this column mapping (JSON)", mapping_json(confirmed),
                               file_name=f"{confirmed.model}-column-mapping.json",
                               mime="application/json", on_click="ignore",
                               icon=":material/download:", key=f"{key}_download",
                               help="Upload it here with the next file laid out the same "
                                    "way, or give it to `python -m dxcore predict "
                                    "--mapping`.")
    return confirmed


def mapped(upload: results.Upload, mapping: ColumnMapping) -> results.Upload:
    """The upload's table with the mapping applied, as an upload of its own (what the
    model reads, validates and answers); the mapping's notes are shown."""
    [name] = upload.files
    table = results.read(mapping.model, upload)
    renamed = apply_mapping(table, mapping, _schema(mapping.model))
    st.info("\n".join(f"- {plain(note)}" for note in renamed.attrs["notes"]),
            icon=":material/join:")
    return results.Upload(mapped_upload(name, renamed))


def _schema(model_id: str) -> Schema:
    return get_model(model_id).schema  # the card's fields: no weights loaded


def _saved_mapping(cards: dict[str, ModelCard], key: str) -> ColumnMapping | None:
    """A mapping file uploaded here, once read and checked (it then stands for the form)."""
    uploaded = st.file_uploader("Use a saved column mapping (JSON)", type=None,
                                key=f"{key}_file",
                                help="A mapping downloaded from this page before.")
    if uploaded is None:
        return None
    try:
        saved = read_mapping(uploaded.getvalue(), uploaded.name)
        if saved.model not in cards:
            raise DxError(f"{uploaded.name} is a mapping for the model {saved.model}, which "
                          f"is not on this dashboard ({', '.join(cards)}).")
    except DxError as error:
        show_error(error)
        return None
    st.session_state[key] = saved
    return saved


def _form(cards: dict[str, ModelCard], columns: list[str], model_id: str | None,
          key: str) -> None:
    """The model, then a column for each of its fields, confirmed with one button."""
    confirmed: ColumnMapping | None = st.session_state.get(key)
    preselected = confirmed.model if confirmed is not None else model_id
    choice = st.selectbox("Model these cases are for", list(cards), key=MODEL_KEY,
                          index=list(cards).index(preselected) if preselected in cards
                          else None, placeholder="Choose the model",
                          format_func=lambda option: f"{cards[option]['name']} ({option})")
    if choice is None:
        return
    schema = _schema(choice)
    suggested = ({field: column for column, field in confirmed.columns.items()}
                 if confirmed is not None and confirmed.model == choice
                 else suggest_mapping(columns, schema))
    if len(schema) > FORM_FIELDS_MAX:
        st.markdown(f"This model reads {len(schema):,} fields: {len(suggested):,} of them "
                    "were found among the file's columns by name (case and accents "
                    "ignored). Map the others by renaming the columns, or with a saved "
                    "mapping file.")
        if st.button("Use the columns found", key=f"{key}_wide", type="primary"):
            _confirm(key, choice, suggested)
        return
    options = [NOT_IN_TABLE, *columns]
    with st.form(f"{key}_{choice}_form", border=False):
        st.caption("Each field of the model and the column that holds it, suggested by "
                   "name; check each before confirming.")
        grid = st.columns(3, gap="medium")
        chosen = {}
        for number, field in enumerate(schema.fields):
            with grid[number % len(grid)]:
                suggestion = suggested.get(field.name)
                chosen[field.name] = st.selectbox(
                    field.title, options, key=f"{key}_{choice}_{field.name}",
                    index=options.index(suggestion) if suggestion in options else 0,
                    help=f"Field `{field.name}`: {field.allowed()}.")
        if st.form_submit_button("Use this mapping", type="primary"):
            _confirm(key, choice, {field: column for field, column in chosen.items()
                                   if column != NOT_IN_TABLE})


def _confirm(key: str, model_id: str, chosen: dict[str, str]) -> None:
    """Keep the mapping chosen (``{field: column}``), unless a column was given to two
    fields."""
    fields_of: dict[str, list[str]] = {}
    for field, column in chosen.items():
        fields_of.setdefault(column, []).append(field)
    twice = next(((column, fields) for column, fields in fields_of.items()
                  if len(fields) > 1), None)
    if twice is not None:
        st.error(f"The column {plain(twice[0])} is chosen for {', '.join(twice[1])}; a column "
                 "holds one field.", icon=":material/error:")
        return
    if not chosen:
        st.error("No column is chosen for any field.", icon=":material/error:")
        return
    st.session_state[key] = ColumnMapping(model_id, {column: field
                                                     for field, column in chosen.items()})
