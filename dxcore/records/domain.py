"""The records domain guard: a case needs enough known findings, and must be like the
training cohort, before a record model answers it.

Two checks, both fitted on the training split only (:func:`fit`):

- **Enough known fields.** Every missing field is imputed from the training cohort; with
  enough of them imputed, the answer describes the cohort's typical case rather than the
  patient (an empty form would otherwise be "predicted"). How many may be imputed is
  measured, not guessed: the training cases are run through the shipped model with ``k``
  randomly chosen known fields set to missing (20 draws per ``k``), and ``max_imputed`` is the
  largest ``k`` at which at most ``MAX_FLIP_RATE`` of the cases change their decision. A field
  whose imputation alone changes at least ``ESSENTIAL_FLIP_RATE`` of the decisions is
  *essential*: without it the answer rests on a guess of the finding that drives it. This is
  the perturbation view of missing-value robustness (e.g. Saar-Tsechansky & Provost, "Handling
  missing values when applying classification models", JMLR 8, 2007), applied as a gate.
- **Like the training cohort.** A case whose atypicality (:mod:`dxcore.records.atypicality`)
  is above the cohort's 99th percentile gets no answer: the reference errors are
  out-of-fold, so about 1 in 100 cases like the training cohort is refused, while cases
  unlike every training case (wrong units, another population) are never answered with the
  cohort's confidence. A refusal rather than a warning: the dashboard never gives a confident
  answer to a case the model does not know, and a warning beside a probability of 0.97 is
  easily read past.

A guard fitted across sites (:func:`from_site_counts`) sees no row: it refuses only what the
pooled cohort never saw: a field every site recorded for every case is essential (no site's
patients taught the model to do without it), a numeric value beyond the pooled mean +- 5
standard deviations, or a category no site recorded (``limits``, ``unseen``).

Messages name no row: the caller adds "Row 3: " where a table has several.

Example:
    >>> guard = RecordGuard(essential=("age",), max_imputed=1, atypicality_above=99.0)
    >>> guard.refusal({"age": None, "chol": 200.0, "sex": 1}, {"age": "Age"})[:61]
    'Too few findings to answer: Age is missing, and the model can'
    >>> guard.refusal({"age": 60, "chol": None, "sex": None}, {})[:63]
    'Too few findings to answer: 2 of 3 fields are missing; this mod'
    >>> RecordGuard((), 9, limits={"chol": (30.0, 450.0)}).refusal(
    ...     {"chol": 900.0}, {"chol": "Serum cholesterol (mg/dl)"})[:71]
    'Serum cholesterol (mg/dl) 900 is far outside what the training sites re'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MAX_FLIP_RATE = 0.05        # of training decisions changed by imputing k fields
ESSENTIAL_FLIP_RATE = 0.05  # of training decisions changed by imputing one field
ATYPICALITY_REFUSED_ABOVE = 99.0
DRAWS = 20
MAX_SINGLE_FIELD_CHECKS = 64  # a gene profile's thousands of probes: a random sample


@dataclass(frozen=True)
class RecordGuard:
    """The card's ``runtime.domain_guard`` for a record model."""

    essential: tuple[str, ...]
    max_imputed: int
    atypicality_above: float = ATYPICALITY_REFUSED_ABOVE
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)
    unseen: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_runtime(cls, runtime: dict[str, Any]) -> RecordGuard:
        return cls(tuple(runtime["essential_fields"]), int(runtime["max_imputed"]),
                   float(runtime["refuse_atypicality_above"]),
                   {k: tuple(v) for k, v in runtime.get("value_limits", {}).items()},
                   {k: tuple(v) for k, v in runtime.get("unseen_categories", {}).items()})

    def as_runtime(self) -> dict[str, Any]:
        out = {"essential_fields": list(self.essential), "max_imputed": self.max_imputed,
               "refuse_atypicality_above": self.atypicality_above}
        if self.limits:
            out["value_limits"] = {k: list(v) for k, v in self.limits.items()}
        if self.unseen:
            out["unseen_categories"] = {k: list(v) for k, v in self.unseen.items()}
        return out

    def refusal(self, values: dict[str, Any], labels: dict[str, str]) -> str | None:
        """Why a case (its parsed values, None where missing) cannot be answered, or None;
        ``labels`` gives each field's name for a clinician."""
        missing = [name for name, value in values.items() if _missing(value)]
        essential = [name for name in self.essential if name in missing]
        if essential:
            named = _listed([labels.get(name, name) for name in essential])
            one = len(essential) == 1
            return (f"Too few findings to answer: {named} {'is' if one else 'are'} missing, "
                    f"and the model cannot answer without {'it' if one else 'them'}. Enter "
                    f"{'it' if one else 'them'} and predict again.")
        if len(missing) > self.max_imputed:
            return (f"Too few findings to answer: {len(missing)} of {len(values)} fields are "
                    f"missing; this model answers with at most {self.max_imputed} missing (at "
                    f"least {len(values) - self.max_imputed} known). Enter more findings and "
                    "predict again.")
        for name, (low, high) in self.limits.items():
            value = values.get(name)
            if not _missing(value) and not low <= float(value) <= high:
                return (f"{labels.get(name, name)} {float(value):g} is far outside what the "
                        f"training sites recorded (their mean +- 5 SD: {low:g} to {high:g}); "
                        "the model gives no answer. Check the value and its unit.")
        for name, codes in self.unseen.items():
            if not _missing(values.get(name)) and str(values[name]) in codes:
                return (f"{labels.get(name, name)}: no training site recorded this value, so "
                        "the model gives no answer for it. Check the value, or leave it "
                        "empty.")
        return None

    def atypical_refusal(self, atypicality: float, most_unusual: str) -> str | None:
        """Why a case is refused as unlike the cohort, or None; ``most_unusual`` names the
        field its reconstruction misses most."""
        if atypicality <= self.atypicality_above:
            return None
        return (f"This case is unlike the training cohort (atypicality {atypicality:.1f}, "
                f"above its {self.atypicality_above:.0f}th percentile; most unusual: "
                f"{most_unusual}); the model gives no answer. Check the values and their "
                "units.")


def _listed(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def fit(model, values: pd.DataFrame, seed: int = 0) -> tuple[RecordGuard, dict[str, Any]]:
    """The guard of a record ``model`` from its training split's parsed ``values`` (NaN
    where missing), and the measurements that chose it (for the card's ``methods``)."""
    from dxcore.records.preprocessing import encode

    rng = np.random.default_rng(seed)
    fill, schema = model.card.imputation, model.schema

    def decisions(table: pd.DataFrame) -> np.ndarray:
        return model.rule.decide(model.probabilities(encode(table, schema, fill)))

    base = decisions(values)
    # Fields that may not be missing at all are refused by validation already.
    candidates = [f.name for f in schema.fields if f.missing_allowed]
    if len(candidates) > MAX_SINGLE_FIELD_CHECKS:  # a profile: a random sample of its probes
        candidates = sorted(rng.choice(candidates, MAX_SINGLE_FIELD_CHECKS, replace=False))
    single: dict[str, float] = {}
    for name in candidates:
        known = values[name].notna().to_numpy()
        if not known.any():
            continue
        hidden = values.copy()
        hidden[name] = np.nan
        single[name] = float(np.mean(decisions(hidden)[known] != base[known]))
    essential = tuple(str(name) for name, rate in single.items()
                      if rate >= ESSENTIAL_FLIP_RATE)

    others = [name for name in candidates if name not in essential]
    flips: dict[int, float] = {}
    for k in _sizes(len(others)):
        rates = []
        for _ in range(DRAWS):
            hidden = values.copy()
            hidden[list(rng.choice(others, size=k, replace=False))] = np.nan
            rates.append(np.mean(decisions(hidden) != base))
        flips[k] = round(float(np.mean(rates)), 4)
        if flips[k] > MAX_FLIP_RATE:
            break
    max_imputed = max([k for k, rate in flips.items() if rate <= MAX_FLIP_RATE], default=0)
    return (RecordGuard(essential, max_imputed),
            {"single_field_flip_rate": {str(k): round(v, 4) for k, v in single.items()},
             "flip_rate_by_fields_imputed": flips})


def _sizes(n: int) -> list[int]:
    """1, 2, ... for a short record; a geometric ladder for a profile of thousands."""
    if n == 0:
        return []
    if n <= 40:
        return list(range(1, n + 1))
    return sorted({int(round(s)) for s in np.geomspace(1, n, 30)})
