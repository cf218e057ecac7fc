"""The Audit trail page's table: every entry of the trail (answers and clinicians'
sign-offs, :mod:`dxcore.audit` and :mod:`dxcore.signoff`) as one row, newest first, its time
in the server's local time, each answer with its latest sign-off, and the filters by date,
model, decision and sign-off.

The hidden columns (:data:`HIDDEN`) are what the filters read; the shown ones
(:data:`COLUMNS`) hold whole hashes and the whole output, never cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

import pandas as pd

from dxcore.audit import is_answer, local_time_text, output_text
from dxcore.signoff import KIND, AnswerKey, SignOff, key_of, latest_sign_offs
from dxcore.wording import is_refusal

COLUMNS = ["Time", "Entry", "Model", "Version", "Output", "Sign-off", "Session",
           "Input SHA-256", "Hash"]
HIDDEN = ["date", "decisions", "states"]
SIGNED = ("Any", "Signed off", "Not signed off", "Agreed", "Overridden")
# What each choice of the sign-off filter keeps (a row's ``states``).
SIGNED_STATE = {"Signed off": "signed", "Not signed off": "unsigned", "Agreed": "agreed",
                "Overridden": "overridden"}
REFUSED, NOT_READ, BEATS = "refused", "not read", "beat counts"


@dataclass
class Filters:
    """The page's choices: a date range (local dates, both ends kept), models and
    decisions (none chosen: all), and a :data:`SIGNED` choice."""

    since: date | None = None
    until: date | None = None
    models: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    signed: str = SIGNED[0]


def decisions_of(entry: dict[str, Any]) -> list[str]:
    """An answer's decisions, one per item (an image, a record, a table row): its
    prediction, :data:`REFUSED` or :data:`NOT_READ` for a row without an answer, or
    :data:`BEATS` for an answer of beat counts.

    >>> decisions_of({"output": [{"prediction": "ckd"}, {"row": 2, "code": "out_of_domain"},
    ...                          {"row": 3, "code": "invalid_input"}]})
    ['ckd', 'refused', 'not read']
    """
    found = []
    for item in entry.get("output") or []:
        if "prediction" in item:
            found.append(str(item["prediction"]))
        elif "summary" in item:
            found.append(BEATS)
        else:
            found.append(REFUSED if is_refusal(str(item.get("code"))) else NOT_READ)
    return found


def answer_rows(entry: dict[str, Any]) -> list[int | None]:
    """The rows of an answer that can be signed off (None: the input's one answer)."""
    return [item.get("row") for item in entry.get("output") or []
            if "prediction" in item or "summary" in item]


def sign_off_state(entry: dict[str, Any],
                   latest: dict[AnswerKey, SignOff]) -> tuple[str, set[str]]:
    """An answer's latest sign-off in words (for a table of several rows, how many are
    signed and overridden) and its states for the filter."""
    rows = answer_rows(entry)
    signed = [latest[key_of(entry, row)] for row in rows if key_of(entry, row) in latest]
    if not signed:
        return "—", {"unsigned"}
    states = {"signed"} | {"overridden" if s.overridden else "agreed" for s in signed}
    if len(rows) == 1:
        [only] = signed
        return f"{only.status_text()} by {only.signer.described}", states
    overridden = sum(s.overridden for s in signed)
    return f"{len(signed)} of {len(rows)} rows signed off, {overridden} overridden", states


def sign_off_output(entry: dict[str, Any]) -> str:
    """What a sign-off entry says: its decision, the row and the reason.

    >>> sign_off_output({"decision": "override", "override_class": "B", "row": 2,
    ...                  "reason": "reads as B"})
    'row 2 overridden to B (reason: reads as B)'
    """
    signed = SignOff.of(entry)
    row = "" if signed.row is None else f"row {signed.row} "
    reason = f" (reason: {signed.reason})" if signed.reason else ""
    return f"{row}{signed.status_text()}{reason}"


def table(entries: list[dict[str, Any]], zone: tzinfo | None = None) -> pd.DataFrame:
    """One row per entry, newest first (:data:`COLUMNS` then :data:`HIDDEN`), indexed by
    its position in ``entries``; times in ``zone`` (by default the server's)."""
    latest = latest_sign_offs(entries)
    decided = {entry.get("hash"): decisions_of(entry) for entry in entries if is_answer(entry)}
    rows = []
    for entry in reversed(entries):
        time = str(entry.get("time", ""))
        row = {"Time": local_time_text(time, zone), "Model": entry.get("model"),
               "Version": entry.get("model_version", ""), "Session": entry.get("session", ""),
               "Input SHA-256": entry.get("input_sha256", ""), "Hash": entry.get("hash", ""),
               "date": _local_date(time, zone)}
        if entry.get("kind") == KIND:
            signed = SignOff.of(entry)
            row.update({"Entry": f"sign-off of {signed.answer}", "Version": "",
                        "Output": sign_off_output(entry),
                        "Sign-off": f"by {signed.signer.described}",
                        "decisions": decided.get(signed.answer, []),
                        "states": {"signed", "overridden" if signed.overridden else "agreed"}})
        elif is_answer(entry):
            text, states = sign_off_state(entry, latest)
            row.update({"Entry": "answer", "Output": output_text(entry), "Sign-off": text,
                        "decisions": decided[entry.get("hash")], "states": states})
        else:  # a kind of entry this version does not know: listed, never hidden
            row.update({"Entry": str(entry.get("kind", "unknown")), "Output": "",
                        "Sign-off": "", "decisions": [], "states": set()})
        rows.append(row)
    # Indexed by each entry's position in the trail, so that the rows kept give the entries.
    return pd.DataFrame(rows, columns=COLUMNS + HIDDEN,
                        index=pd.RangeIndex(len(entries))[::-1])


def _local_date(time: str, zone: tzinfo | None) -> date | None:
    try:
        return datetime.fromisoformat(time).astimezone(zone).date()
    except (TypeError, ValueError):
        return None


def filtered(rows: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows the filters keep (an entry without a readable time only when no date range
    is set).

    >>> rows = pd.DataFrame({"date": [date(2026, 12, 1), date(2026, 12, 3)],
    ...                      "Model": ["a", "b"], "decisions": [["X"], ["refused"]],
    ...                      "states": [{"unsigned"}, {"signed", "agreed"}]})
    >>> filtered(rows, Filters(since=date(2026, 12, 2))).Model.tolist()
    ['b']
    >>> filtered(rows, Filters(decisions=["X"], signed="Not signed off")).Model.tolist()
    ['a']
    """
    keep = pd.Series(True, index=rows.index)
    if filters.since is not None:
        keep &= rows["date"].map(lambda day: day is not None and day >= filters.since)
    if filters.until is not None:
        keep &= rows["date"].map(lambda day: day is not None and day <= filters.until)
    if filters.models:
        keep &= rows["Model"].isin(filters.models)
    if filters.decisions:
        wanted = set(filters.decisions)
        keep &= rows["decisions"].map(lambda found: bool(wanted & set(found)))
    if filters.signed in SIGNED_STATE:
        keep &= rows["states"].map(lambda states: SIGNED_STATE[filters.signed] in states)
    return rows[keep]
