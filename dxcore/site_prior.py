"""Which class prior a site's answers are adapted to (:mod:`dxcore.adaptation`).

A batch (a worklist, a folder on the command line) of at least :data:`MIN_BATCH` answers
of one model is adapted to its own prior, estimated from those answers. Anything smaller (a
single upload, a patient's few files) gets the site's standing prior, the first of:

1. the prevalence its administrator set: the JSON file ``$DX_SITE_PRIORS`` (``off`` turns
   it off), else ``~/.config/dx-dashboard/site_priors.json`` (``$XDG_CONFIG_HOME``
   honoured), e.g. ``{"cxr-pneumonia": {"PNEUMONIA": 0.40}}``: per model id, the share of
   some of its classes; the classes not named share the rest in proportion to their
   training prior;
2. the prior estimated from this site's recent answers in the audit trail
   (:mod:`dxcore.audit`): the latest answer of each distinct input of the model (the same
   weights) in the last :data:`RECENT_DAYS` days, at most :data:`RECENT_ANSWERS` answers,
   when there are at least :data:`MIN_AUDIT_ANSWERS`; the model's own probabilities are
   read (an adapted answer logs them beside the adapted ones);
3. the training prior, which leaves the answers as the model gives them.

Example:
    >>> _filled({"PNEUMONIA": 0.4}, {"NORMAL": 0.25, "PNEUMONIA": 0.75}, "x")
    {'NORMAL': 0.6, 'PNEUMONIA': 0.4}
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dxcore.audit import is_answer
from dxcore.errors import DxError
from dxcore.intake import MIN_BATCH
from dxcore.label_shift import SitePrior
from dxcore.paths import configured, xdg_folder

if TYPE_CHECKING:
    from dxcore.adaptation import LabelShift
    from dxcore.cards import ModelCard
    from dxcore.contract import DxModel

ENV = "DX_SITE_PRIORS"
MIN_AUDIT_ANSWERS = 100
RECENT_ANSWERS = 1000
RECENT_DAYS = 90


def configured_path() -> Path | None:
    """Where the administrator's prevalences are (``$DX_SITE_PRIORS``, else the default);
    None when off."""
    return configured(ENV, xdg_folder("CONFIG", ".config") / "site_priors.json")


def configured_prior(card: ModelCard, training_prior: dict[str, float]) -> SitePrior | None:
    """The prevalence set for ``card``'s model in the administrator's file, or None (no
    file, or no entry for it); a file that cannot be used raises one DxError."""
    path = configured_path()
    if path is None or not path.is_file():
        return None
    try:
        content = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise DxError(f"The site prevalence file {path} cannot be read ({error}); tell "
                      "whoever runs the dashboard.") from None
    if not isinstance(content, dict):
        raise DxError(f"The site prevalence file {path} is not a JSON object of model ids.")
    entry = content.get(card.id)
    if entry is None:
        return None
    return SitePrior(_filled(entry, training_prior, f"{path} ({card.id})"), "configured")


def _filled(entry: Any, training_prior: dict[str, float], where: str) -> dict[str, float]:
    """Every class's share from the shares ``entry`` gives, the others sharing the rest in
    proportion to ``training_prior``."""
    problem = f"The site prevalence in {where}"
    if not isinstance(entry, dict) or not entry:
        raise DxError(f"{problem} is not a set of class shares, such as "
                      f'{{"{next(iter(training_prior))}": 0.3}}.')
    unknown = sorted(set(entry) - set(training_prior))
    if unknown:
        raise DxError(f"{problem} names {unknown[0]!r}, not a class of this model "
                      f"({', '.join(training_prior)}).")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1
               for v in entry.values()):
        raise DxError(f"{problem} gives a share that is not a number between 0 and 1.")
    given = float(sum(entry.values()))
    others = {name: p for name, p in training_prior.items() if name not in entry}
    if given >= 1 if others else abs(given - 1) > 1e-6:
        raise DxError(f"{problem}: the shares add up to {given:g}; "
                      + ("they must add up to 1." if not others else "they must leave a "
                         "share for the classes not named."))
    rest = (1 - given) / sum(others.values()) if others else 0.0
    return {name: float(entry[name]) if name in entry else training_prior[name] * rest
            for name in training_prior}


def audit_prior(card: ModelCard, label_shift: LabelShift, entries: list[dict[str, Any]],
                now: datetime | None = None) -> SitePrior | None:
    """The prior of the site's recent answers of ``card``'s model in the audit ``entries``
    (see the module), or None when there are fewer than :data:`MIN_AUDIT_ANSWERS`."""
    since = (now or datetime.now(UTC)) - timedelta(days=RECENT_DAYS)
    names = card.class_names
    seen: set[str] = set()
    rows: list[list[float]] = []
    for entry in reversed(entries):  # the newest first
        try:
            if datetime.fromisoformat(entry["time"]) < since:
                break
        except (KeyError, TypeError, ValueError):
            continue
        if (not is_answer(entry)  # a clinician's sign-off repeats the answer's hashes
                or entry.get("model") != card.id
                or entry.get("weights_sha256") != card["weights_sha256"]
                or entry.get("input_sha256") in seen):
            continue
        seen.add(entry.get("input_sha256"))
        for item in entry.get("output") or []:
            probabilities = item.get("unadapted_probabilities") or item.get("probabilities")
            if isinstance(probabilities, dict) and sorted(probabilities) == sorted(names):
                rows.append([float(probabilities[name]) for name in names])
        if len(rows) >= RECENT_ANSWERS:
            break
    if len(rows) < MIN_AUDIT_ANSWERS:
        return None
    return label_shift.estimate(np.array(rows[:RECENT_ANSWERS]), "audit")


def standing_prior(model: DxModel) -> SitePrior:
    """The site's prior for answers that are not a batch: the administrator's, else the
    audit trail's, else the training prior (see the module)."""
    from dxcore.audit import AuditLog

    shift = _label_shift(model)
    configured = configured_prior(model.card, shift.prior)
    if configured is not None:
        return configured
    log = AuditLog.configured()
    if log is not None:
        estimated = audit_prior(model.card, shift, log.entries())
        if estimated is not None:
            return estimated
    return SitePrior(shift.prior, "training")


def site_prior(model: DxModel, probabilities: np.ndarray | None = None) -> SitePrior:
    """The prior to adapt answers of ``model`` to: the one estimated from the batch's
    ``probabilities`` (its items' temperature-scaled probabilities) when it holds at least
    :data:`MIN_BATCH`, else :func:`standing_prior`."""
    if probabilities is not None and len(probabilities) >= MIN_BATCH:
        return _label_shift(model).estimate(probabilities)
    return standing_prior(model)


def _label_shift(model: DxModel) -> LabelShift:
    if model.label_shift is None:
        raise DxError(f"The model '{model.card.id}' has no label-shift calibration; its "
                      "answers cannot be adapted to a site's prevalence.")
    return model.label_shift
