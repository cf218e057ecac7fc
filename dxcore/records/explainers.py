"""Why a record model said what it said, field by field, in clinical words.

Attributions are integrated gradients (Sundararajan M, Taly A, Yan Q, "Axiomatic
Attribution for Deep Networks", ICML 2017) of the log-odds (positive minus other logit),
from the training cohort's mean case to the case itself. Chosen over tf-keras-vis Saliency
(``keepdims=True``) because:

- they are signed: a field can push towards either class, which Saliency's gradient
  magnitude cannot say;
- they are complete: they add up to the case's log-odds minus the mean case's, so summing a
  categorical field's one-hot columns gives that field's share, and a value equal to the
  cohort mean gets zero;
- they integrate along a path instead of reading one local gradient, which saturates
  where the network is confident.

Attributions are in log-odds units. Next to them, each field's reconstruction deviation
says which values are unusual for the training cohort (in training standard deviations).

Example (an untrained network, only to show the shapes):
    >>> import numpy as np
    >>> from dxcore.records.network import classifier, record_autoencoder
    >>> net = classifier(record_autoencoder(np.zeros(4), np.ones(4), hidden=8, code=2))
    >>> integrated_gradients(net, np.ones(4, np.float32), np.zeros(4)).shape
    (4,)
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from dxcore.explain import Explainer, Explanation, register_explainer
from dxcore.records.network import classifier, standardization
from dxcore.records.preprocessing import column_fields


def integrated_gradients(net: keras.Model, x: np.ndarray, baseline: np.ndarray,
                         positive_index: int = 1, steps: int = 64) -> np.ndarray:
    """Integrated gradients of ``logit[positive] - logit[other]`` for one encoded case.

    Riemann midpoint sum over ``steps`` points on the straight path, computed as one batch.
    """
    alphas = (np.arange(steps, dtype=np.float32) + 0.5)[:, None] / steps
    baseline = baseline.astype(np.float32)
    path = tf.constant(baseline + alphas * (x.astype(np.float32) - baseline))
    with tf.GradientTape() as tape:
        tape.watch(path)
        logits = net(path, training=False)
        margin = 2 * logits[:, positive_index] - tf.reduce_sum(logits, axis=1)  # binary
    gradients = tape.gradient(margin, path).numpy()
    return (x - baseline) * gradients.mean(axis=0)


@dataclass(frozen=True)
class FieldExplanation:
    """One field's share in a prediction: ``attribution`` in log-odds (positive: towards
    the positive class), ``deviation`` from what the autoencoder expects in training SDs
    (signed for numeric fields, a magnitude for categorical ones)."""

    name: str
    label: str
    unit: str
    categorical: bool
    value: str
    attribution: float
    deviation: float
    imputed: bool

    def sentence(self, positive_class: str) -> str:
        """E.g. 'ST depression 2.3 mm raised the probability of heart disease.' or
        'Chest-pain type: asymptomatic raised ...'."""
        verb = "raised" if self.attribution > 0 else "lowered"
        value = f"{self.value} (missing, imputed)" if self.imputed else self.value
        joint = ": " if self.categorical else " "
        return f"{self.label}{joint}{value} {verb} the probability of {positive_class}."


@dataclass
class CaseExplanation:
    """All fields of one case, most influential first."""

    fields: list[FieldExplanation]
    positive_class: str
    attribution_total: float  # the case's log-odds minus the cohort mean case's
    top_fields: int = 5       # how many fields the command line lists

    def top(self, k: int | None = None) -> list[FieldExplanation]:
        return self.fields[:k]

    def sentences(self, k: int | None = 5) -> list[str]:
        return [f.sentence(self.positive_class) for f in self.top(k) if f.attribution != 0]

    def as_json(self) -> dict:
        return {"description": "integrated gradients (log-odds, per field)",
                "sentences": self.sentences(5),
                "top_fields": {f.name: round(f.attribution, 4)
                               for f in self.top(self.top_fields)}}

    def text(self) -> list[str]:
        return self.sentences(5)

    def most_unusual(self, k: int | None = 5) -> list[FieldExplanation]:
        """The fields the training cohort's pattern reproduces worst."""
        return sorted(self.fields, key=lambda f: -abs(f.deviation))[:k]


class IntegratedGradients(Explainer):
    """Per-field integrated gradients of the log-odds, from the training cohort's mean case
    (one-hot columns of a categorical field summed)."""

    label = "Integrated gradients"
    reference = ("Sundararajan M, Taly A, Yan Q, \"Axiomatic Attribution for Deep Networks\", "
                 "ICML 2017")
    how_to_read = (
        "One bar per field, in log-odds of the positive class: red bars pushed this case "
        "towards it, blue bars away, measured from the training cohort's mean case; the "
        "bars add up to how far this case's log-odds are from the mean case's. A value "
        "equal to the cohort's mean gets no bar. They show what moved the model, not what "
        "causes disease.")

    def default_class(self, model, result, item):
        """Always the positive class: the attributions are of its log-odds, so a field
        that raised it is positive whichever class the case was given."""
        return model.card.positive_class

    def attribute(self, model, network, x, class_indices):
        mean, _ = standardization(network)
        head = classifier(network)
        owners = column_fields(model.schema)
        return np.stack([
            np.bincount(owners, weights=integrated_gradients(head, row, mean, int(k)),
                        minlength=len(model.schema))
            for row, k in zip(x, class_indices, strict=True)])


register_explainer("record", "ig", IntegratedGradients(), default=True)


NOT_RECORDED = "not recorded"


def case_explanation(model, result, explanation: Explanation) -> CaseExplanation:
    """The fields of one explained case, sorted by the size of the attribution, with their
    values and reconstruction deviations."""
    schema = model.schema
    item = explanation.item
    case = next(c for c in result.detail.results if c.item == item)
    deviation = result.outputs["deviation"][item]
    attributions = explanation.values
    owners = column_fields(schema)
    squared = np.bincount(owners, weights=np.square(deviation), minlength=len(schema))
    # numeric fields come first in the encoding, one column each: keep their sign
    numeric_column = {f.name: j for j, f in enumerate(schema.numeric)}
    fill = model.card.imputation
    fields = []
    for i, spec in enumerate(schema.fields):
        raw = case.values[spec.name]
        imputed = raw is None and not schema.missing_indicators
        if spec.name in numeric_column:
            field_deviation = float(deviation[numeric_column[spec.name]])
        else:
            field_deviation = float(np.sqrt(squared[i]))
        # a model with missing-value indicators reads the absence itself, not a fill value
        shown = (NOT_RECORDED if raw is None and schema.missing_indicators
                 else spec.describe(fill[spec.name] if imputed else raw))
        fields.append(FieldExplanation(spec.name, spec.label, spec.unit,
                                       spec.type == "categorical", shown,
                                       float(attributions[i]), field_deviation, imputed))
    fields.sort(key=lambda f: -abs(f.attribution))
    return CaseExplanation(fields, model.card.get("positive_label", model.card.positive_class),
                           float(attributions.sum()),
                           model.card.input_spec.get("top_fields", 5))
