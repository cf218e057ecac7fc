"""Column mappings: which column of a clinic's table holds which field of a record model, for
tables whose headers are not the model's (French exports: ``âge``, ``sexe``, ``cholestérol``).

:func:`suggest_mapping` proposes a column for each field by name similarity (the standard
library's :mod:`difflib`, on names folded to lower case without accents, against the field's
name and its label); the user confirms or corrects it; :func:`apply_mapping` renames the
table's columns, and the table then goes through the model's validation like any other, so
that a unit or range error still shows. A mapping is saved as a small JSON file,
``{"model": id, "columns": {table column: field}}`` (:func:`mapping_json`), and read back by
:func:`read_mapping` to be reused on the next export of the same layout.

Example:
    >>> from dxcore.records.schema import Schema
    >>> schema = Schema.from_json({"fields": [
    ...     {"name": "age", "label": "Age", "type": "numeric"},
    ...     {"name": "chol", "label": "Serum cholesterol", "type": "numeric"}]})
    >>> suggest_mapping(["Âge", "Cholestérol", "Nom"], schema)
    {'age': 'Âge', 'chol': 'Cholestérol'}
    >>> mapping = ColumnMapping("heart-disease", {"Âge": "age", "Cholestérol": "chol"})
    >>> import pandas as pd
    >>> apply_mapping(pd.DataFrame({"Âge": ["63"], "Cholestérol": ["233"]}), mapping,
    ...               schema).to_dict("records")
    [{'age': '63', 'chol': '233'}]
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import pandas as pd

from dxcore.errors import DxError
from dxcore.records.schema import Schema

# A name as close as "sexe" to "sex" (0.86) or "cholestérol" to "Serum cholesterol" (0.81)
# is suggested; "age" and "page" (0.86) would be too, which the user sees before confirming.
SIMILAR_FROM = 0.75
# A name that begins another, at least this long ("chol" in "cholesterol"), counts as
# similar; so do two names that share a word this long ("albumin" in "Urine albumin").
PREFIX_FROM = 3
SHARED_WORD_FROM = 4
# difflib compares every column with every field: beyond this many pairs (a gene profile's
# 7,129 probes) only names equal once folded are suggested.
MAX_PAIRS = 20_000
MAX_MAPPING_BYTES = 1 << 20  # 7,129 probes mapped is about 300 kB
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class ColumnMapping:
    """Which table column holds which field of the model ``model``: ``{column: field}``;
    columns not named are left as they are (validation ignores the unknown ones)."""

    model: str
    columns: dict[str, str]


def folded(name: str) -> str:
    """A name as compared: accents removed, lower case, letters and digits only.

    >>> folded("  Cholestérol (mg/dl) "), folded("Âge")
    ('cholesterolmgdl', 'age')
    """
    return "".join(words(name))


def words(name: str) -> list[str]:
    """A name's words, accents removed and in lower case.

    >>> words("Créatinine sérique")
    ['creatinine', 'serique']
    """
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return [word for word in _NOT_ALPHANUMERIC.split(plain.casefold()) if word]


def similarity(column: str, name: str) -> float:
    """How alike two names are, 0 to 1: difflib's ratio of the folded names, or at least
    :data:`SIMILAR_FROM` when one begins the other and is :data:`PREFIX_FROM` long, or
    when they share a word of :data:`SHARED_WORD_FROM` letters or more (``"Créatinine
    sérique"`` and ``"Serum creatinine"``).

    >>> similarity("sexe", "sex") > SIMILAR_FROM > similarity("poids", "sex")
    True
    """
    a, b = folded(column), folded(name)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    shorter, longer = sorted((a, b), key=len)
    shared = {w for w in words(column) if len(w) >= SHARED_WORD_FROM} & set(words(name))
    if (len(shorter) >= PREFIX_FROM and longer.startswith(shorter)) or shared:
        ratio = max(ratio, SIMILAR_FROM)
    return ratio


def suggest_mapping(columns: list[str], schema: Schema) -> dict[str, str]:
    """``{field: column}`` for the fields a column of the table is suggested for: equal
    names once folded first, then the most similar pairs (field name or label) above
    :data:`SIMILAR_FROM`, each column given to one field at most."""
    by_folded: dict[str, str] = {}
    for column in columns:
        by_folded.setdefault(folded(column), column)
    suggested: dict[str, str] = {}
    taken: set[str] = set()
    for field in schema.fields:
        for name in (field.name, field.label):
            column = by_folded.get(folded(name))
            if column is not None and column not in taken:
                suggested[field.name] = column
                taken.add(column)
                break
    fields = [field for field in schema.fields if field.name not in suggested]
    free = [column for column in columns if column not in taken]
    if len(fields) * len(free) > MAX_PAIRS:
        return suggested
    pairs = []
    for field in fields:
        for column in free:
            score = max(similarity(column, name) for name in (field.name, field.label))
            if score >= SIMILAR_FROM:
                pairs.append((score, field.name, column))
    for _, field_name, column in sorted(pairs, key=lambda pair: -pair[0]):
        if field_name not in suggested and column not in taken:
            suggested[field_name] = column
            taken.add(column)
    return {field.name: suggested[field.name] for field in schema.fields
            if field.name in suggested}


def apply_mapping(table: pd.DataFrame, mapping: ColumnMapping, schema: Schema) -> pd.DataFrame:
    """The table with each mapped column renamed to its field. A column of the table that
    already bears a mapped field's name but is not the one mapped to it is dropped (the
    mapping says which column holds the field); the notes (``attrs["notes"]``) say what
    was renamed and dropped, and which columns of the mapping the table lacks. Raises
    :class:`DxError` when the mapping names a field the model lacks or none of the table's
    columns."""
    unknown = [field for field in mapping.columns.values() if field not in schema]
    if unknown:
        raise DxError(f"The column mapping names {unknown[0]}, which is not a field of the "
                      f"model {mapping.model}. Check that the mapping is for this model.")
    present = {column: field for column, field in mapping.columns.items()
               if column in table.columns}
    if not present:
        raise DxError("None of the columns the mapping names is in this table. Check that "
                      "the mapping was saved for files laid out like this one.")
    replaced = [column for column in table.columns
                if column in present.values() and present.get(column) != column
                and column not in present]
    mapped = table.drop(columns=replaced).rename(columns=present)
    notes = [*table.attrs.get("notes", []), "Columns mapped to the model's fields: " + ", ".join(
        f"{column} → {field}" for column, field in present.items() if column != field) + "."]
    if replaced:
        notes.append(f"Not read, since the mapping gives the field to another column: "
                     f"{', '.join(replaced)}.")
    absent = [column for column in mapping.columns if column not in table.columns]
    if absent:
        notes.append(f"Columns of the mapping not in this table: {', '.join(absent[:5])}"
                     + (f" and {len(absent) - 5} more." if len(absent) > 5 else "."))
    mapped.attrs["notes"] = notes
    return mapped


def mapping_json(mapping: ColumnMapping) -> bytes:
    """The mapping as the small JSON file the user saves."""
    return json.dumps({"model": mapping.model, "columns": mapping.columns},
                      ensure_ascii=False, indent=2).encode()


def read_mapping(data: bytes, name: str = "the mapping file") -> ColumnMapping:
    """A saved mapping, checked: a JSON object with the model's id and ``{column: field}``,
    no field given two columns."""
    wrong = DxError(f"{name} is not a column mapping: expected a JSON file such as "
                    '{"model": "heart-disease", "columns": {"âge": "age"}}, as this page '
                    "saves it.")
    if len(data) > MAX_MAPPING_BYTES:
        raise wrong
    try:
        content: Any = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise wrong from None
    if not isinstance(content, dict) or not isinstance(content.get("model"), str) \
            or not isinstance(content.get("columns"), dict) or not all(
                isinstance(key, str) and isinstance(value, str)
                for key, value in content["columns"].items()):
        raise wrong
    counts = Counter(content["columns"].values())
    repeated = sorted(field for field, count in counts.items() if count > 1)
    if repeated:
        raise DxError(f"{name} gives the field {repeated[0]} to more than one column; a "
                      "field is read from one column.")
    return ColumnMapping(content["model"], dict(content["columns"]))


def mapped_upload(name: str, table: pd.DataFrame) -> dict[str, bytes]:
    """A mapped table as an upload of one JSON file (``NAME-mapped.json``), so that it goes
    through the same reading, checks and cached path as any upload. Cells are written as
    read (text stays text, numbers stay numbers, missing is null): the model's answers are
    those of the table."""
    records = [{column: (None if _missing(value) else value) for column, value in row.items()}
               for row in table.to_dict("records")]
    return {f"{PurePath(name).stem}-mapped.json":
            json.dumps(records, ensure_ascii=False, allow_nan=False, default=_plain).encode()}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # NaN


def _plain(value: Any) -> Any:
    """A numpy scalar (a JSON table's cell, as pandas holds it) as the Python value."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")
