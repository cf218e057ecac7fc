"""The input schema of a record model, read from its card: one :class:`Field` per column.

A card's ``runtime.input.fields`` lists clinical fields one by one. Gene profiles have
thousands of columns of one kind, so an entry may instead hold ``names`` (a block of fields
sharing everything but the name, and a ``label`` where ``{name}`` stands for each name);
:meth:`Schema.from_json` expands it. Such long lists live in a file beside the card
(``runtime.input.fields_file``), which :attr:`dxcore.cards.ModelCard.input_spec` reads.

Example:
    >>> schema = Schema.from_json({"fields": [
    ...     {"name": "age", "label": "Age", "unit": "years", "type": "numeric",
    ...      "range": [0, 120], "missing_allowed": True},
    ...     {"name": "sex", "label": "Sex", "type": "categorical",
    ...      "categories": {"0": "female", "1": "male"}}]})
    >>> schema.names
    ['age', 'sex']
    >>> schema["sex"].describe("1")
    'male'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FieldType = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class Field:
    """One input column: what it means, its unit, and which values are plausible.

    ``transform`` (numeric only) names how the value is brought to the network's scale:
    ``"log10"`` clips to ``clip`` and takes log10 (microarray intensities).
    ``zero_means_missing`` (numeric only): a 0 is how some sites write "not recorded" for a
    value that cannot be zero (cholesterol, blood pressure); it is read as missing, with a
    note, rather than refused as implausible.
    """

    name: str
    label: str
    type: FieldType
    unit: str = ""
    range: tuple[float, float] | None = None
    categories: dict[str, str] = field(default_factory=dict)
    missing_allowed: bool = False
    description: str = ""
    transform: str | None = None
    clip: tuple[float, float] | None = None
    zero_means_missing: bool = False

    @property
    def title(self) -> str:
        """The label with its unit, e.g. ``'Resting blood pressure (mm Hg)'``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def describe(self, value: Any) -> str:
        """A value in clinical words: ``'2.3 mm'``, or a category's label."""
        if self.type == "categorical":
            return self.categories.get(str(value), str(value))
        return f"{value:g} {self.unit}".strip()

    def allowed(self) -> str:
        """The plausible values, as a clinician would read them."""
        if self.type == "categorical":
            return ", ".join(f"{code} ({label})" if label != code else code
                             for code, label in self.categories.items())
        low, high = self.range or (float("-inf"), float("inf"))
        return f"{low:g} to {high:g} {self.unit}".strip()

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v not in (None, "", {})
               and not (k == "zero_means_missing" and v is False)}
        for key in ("range", "clip"):
            if key in out:
                out[key] = list(out[key])
        return out


@dataclass(frozen=True)
class Schema:
    """The ordered fields of a record model. ``missing_indicators`` (the card's
    ``runtime.input.missing: "indicators"``): the network reads, beside the values, one
    column per field saying that it was not recorded (:mod:`dxcore.records.preprocessing`)."""

    fields: tuple[Field, ...]
    missing_indicators: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def __getitem__(self, name: str) -> Field:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def numeric(self) -> list[Field]:
        return [f for f in self.fields if f.type == "numeric"]

    @property
    def categorical(self) -> list[Field]:
        return [f for f in self.fields if f.type == "categorical"]

    def coverage(self, columns: list[str]) -> float:
        """The share of this schema's fields found among ``columns`` (to match a model to
        an uploaded table)."""
        return len(set(columns) & set(self.names)) / len(self)

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> Schema:
        """From a card's ``input_spec`` (its ``fields``: field entries, some maybe blocks)."""
        fields = []
        for entry in spec["fields"]:
            entry = dict(entry)
            names = entry.pop("names", None) or [entry.pop("name")]
            for key in ("range", "clip"):
                if key in entry:
                    entry[key] = tuple(entry[key])
            label = entry.pop("label", None)
            fields.extend(Field(name=n, label=(label or "{name}").format(name=n), **entry)
                          for n in names)
        return cls(tuple(fields), spec.get("missing") == "indicators")

    def as_json(self) -> list[dict[str, Any]]:
        """The field entries for a card (one per field)."""
        return [f.as_json() for f in self.fields]
