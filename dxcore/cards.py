"""Model cards: the machine-readable facts shipped beside every model's weights.

After Mitchell M et al., "Model Cards for Model Reporting", FAT* 2019. A card is the JSON
file ``saved_models/<id>/card.json``; its ``weights_sha256`` pins the weights file it
describes, so a swapped or damaged weights file is refused instead of silently used.

A card may also state ``targets``: the test-split figures its model was built to reach,
e.g. ``{"accuracy": {"at_least": 0.88}}``. :meth:`ModelCard.target_checks` compares them
with the card's test metrics, so that a model below a target says so wherever it is shown.

Example:
    >>> card = ModelCard({"test_metrics": {"auc": {"value": 0.96}, "accuracy": {"value": 0.857}},
    ...                   "targets": {"auc": {"at_least": 0.96}, "accuracy": {"at_least": 0.88}}},
    ...                  Path("."))
    >>> [(check.metric, check.met) for check in card.target_checks()]
    [('auc', True), ('accuracy', False)]
    >>> card.unmet_targets()[0].describe()
    'accuracy 0.857 (target at least 0.88)'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dxcore.errors import DxError

CARD_FILE = "card.json"
REQUIRED_FIELDS = (
    "id", "name", "modality", "task", "class_names", "input", "decision_threshold",
    "calibration_temperature", "training_data", "test_metrics", "intended_use",
    "limitations", "date", "weights_file", "weights_sha256",
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class TargetCheck:
    """One target of a card against the measured test metric."""

    metric: str
    value: float | None  # None: not measured
    bound: float
    direction: Literal["at_least", "at_most"]

    @property
    def met(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.bound if self.direction == "at_least" else \
            self.value <= self.bound

    def describe(self, label: str | None = None) -> str:
        """``'accuracy 0.857 (target at least 0.88)'``; ``label`` names the metric."""
        measured = "not measured" if self.value is None else f"{self.value:.3g}"
        return (f"{label or self.metric} {measured} "
                f"(target {self.direction.replace('_', ' ')} {self.bound:g})")


@dataclass(frozen=True)
class ModelCard:
    """A parsed card; ``folder`` is where the card and its weights live."""

    fields: dict[str, Any]
    folder: Path

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    @property
    def id(self) -> str:
        return self.fields["id"]

    @property
    def class_names(self) -> list[str]:
        return list(self.fields["class_names"])

    @property
    def positive_class(self) -> str:
        """The class the decision threshold is about (the card's ``positive_class``, else
        the last class)."""
        return self.fields.get("positive_class", self.class_names[-1])

    # --- runtime parameters: what inference reads (code reads them only through these) ---
    @property
    def input_spec(self) -> dict[str, Any]:
        """The input's description: image side and normalisation, record fields, ..."""
        return self.fields["input"]

    @property
    def threshold(self) -> float | None:
        """The positive class's decision threshold (None for a log-offset rule)."""
        value = self.fields.get("decision_threshold")
        return None if value is None else float(value)

    @property
    def temperature(self) -> float:
        """The calibration temperature the logits are divided by."""
        return float(self.fields["calibration_temperature"])

    @property
    def log_offsets(self) -> dict[str, float] | None:
        """Per-class log-offsets of an argmax decision rule, if the card has one."""
        return (self.fields.get("decision_rule") or {}).get("log_offsets")

    @property
    def imputation(self) -> dict[str, float | str]:
        """Each record field's fill value (training-split statistics)."""
        return self.fields["input"]["imputation"]["values"]

    @property
    def atypicality_quantiles(self) -> list[float]:
        """The training cohort's out-of-fold reconstruction-error quantiles."""
        return self.fields["atypicality"]["reference_quantiles"]

    @property
    def weights_path(self) -> Path:
        return self.folder / self.fields["weights_file"]

    def headline(self) -> dict[str, str]:
        """Test metrics as short strings, e.g. ``{"auc": "0.962 (0.948-0.975)"}``; only
        those named in the card's optional ``headline_metrics``, when it has that list."""
        out = {}
        chosen = self.fields.get("headline_metrics")
        for name, metric in self.fields["test_metrics"].items():
            if chosen is not None and name not in chosen:
                continue
            if isinstance(metric, dict) and metric.get("ci95"):
                low, high = metric["ci95"]
                out[name] = f"{metric['value']:.3f} ({low:.3f}-{high:.3f})"
        return out

    def target_checks(self) -> list[TargetCheck]:
        """Each of the card's ``targets`` against its test metrics, in the card's order."""
        metrics = self.fields.get("test_metrics") or {}
        checks = []
        for name, target in (self.fields.get("targets") or {}).items():
            measured = metrics.get(name)
            value = measured.get("value") if isinstance(measured, dict) else None
            direction = "at_least" if "at_least" in target else "at_most"
            checks.append(TargetCheck(name, value, float(target[direction]), direction))
        return checks

    def unmet_targets(self) -> list[TargetCheck]:
        """The targets the model does not reach on its test split."""
        return [check for check in self.target_checks() if not check.met]

    def verify_weights(self) -> None:
        """Refuse weights whose SHA-256 differs from the card's."""
        if not self.weights_path.exists():
            raise DxError(f"The weights of model '{self.id}' are missing ({self.weights_path}).")
        if sha256_of(self.weights_path) != self.fields["weights_sha256"]:
            raise DxError(
                f"The weights of model '{self.id}' do not match its model card (checksum "
                "mismatch). They may be damaged or replaced; the model was not loaded."
            )


def read_card(path: Path) -> ModelCard:
    try:
        fields = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise DxError(f"The model card {path} cannot be read: {error}") from error
    missing = [name for name in REQUIRED_FIELDS if name not in fields]
    if missing:
        raise DxError(f"The model card {path} lacks: {', '.join(missing)}.")
    return ModelCard(fields, path.parent)


def write_card(fields: dict[str, Any], folder: Path) -> ModelCard:
    """Stamp the weights checksum into ``fields`` and write the card beside the weights."""
    fields = dict(fields)
    fields["weights_sha256"] = sha256_of(folder / fields["weights_file"])
    (folder / CARD_FILE).write_text(json.dumps(fields, indent=2) + "\n")
    return read_card(folder / CARD_FILE)
