"""What a model gives: the card's decision rule, and the :class:`Result` of one input, one
item per image, beat or table row, each with its calibrated probabilities and decision,
and the modality's own view of them (:class:`Detail`).

The contract (:mod:`dxcore.contract`) forms results, and names these classes too
(``from dxcore.contract import Result`` is this module's ``Result``); the modules that read
or change a result without running a model (adapting answers to a site's prior,
:mod:`dxcore.adaptation`; the test report, :mod:`dxcore.reports`) import them from here,
so that the contract can use them without importing those modules back.

Example:
    >>> rule = DecisionRule(["NORMAL", "PNEUMONIA"], positive_class="PNEUMONIA",
    ...                     threshold=0.3)
    >>> rule.decide(np.array([[0.75, 0.25], [0.6, 0.4]])).tolist()
    ['NORMAL', 'PNEUMONIA']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from dxcore.batching import Batch, take
from dxcore.errors import DxError

if TYPE_CHECKING:
    from dxcore.cards import ModelCard
    from dxcore.explain import Explanation
    from dxcore.label_shift import SitePrior


@dataclass(frozen=True)
class DecisionRule:
    """The card's decision rule, applied in one place for every model.

    - ``threshold``: the ``positive_class`` when its probability reaches ``threshold``,
      else the most probable other class (binary models);
    - ``log_offsets``: the highest log-probability plus the class's offset; a class with no
      offset is never returned (the ECG model's F class).

    Example:
        >>> rule = DecisionRule(["NORMAL", "PNEUMONIA"], positive_class="PNEUMONIA",
        ...                     threshold=0.3)
        >>> rule.decide(np.array([[0.75, 0.25], [0.6, 0.4]])).tolist()
        ['NORMAL', 'PNEUMONIA']
    """

    class_names: list[str]
    positive_class: str | None = None
    threshold: float | None = None
    log_offsets: dict[str, float] | None = None

    @classmethod
    def from_card(cls, card: ModelCard) -> DecisionRule:
        if card.log_offsets is not None:
            return cls(card.class_names, log_offsets=dict(card.log_offsets))
        return cls(card.class_names, card.positive_class, card.threshold)

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        names = np.asarray(self.class_names)
        if self.log_offsets is not None:
            shift = np.array([self.log_offsets.get(n, -np.inf) for n in self.class_names])
            return names[np.argmax(np.log(np.clip(probabilities, 1e-12, 1.0)) + shift, axis=1)]
        positive = self.class_names.index(self.positive_class)
        others = np.where(np.arange(len(names)) == positive, -np.inf, probabilities)
        decided = np.where(probabilities[:, positive] >= self.threshold, positive,
                           np.argmax(others, axis=1))
        return names[decided]

    def moved(self, scale: float, shift: np.ndarray) -> DecisionRule:
        """The rule that gives the same decisions on probabilities transformed as
        ``log p' = scale * log p + shift`` (less a constant per item; ``scale > 0``): a
        threshold moved along the log-odds, offsets ``scale * offset - shift``. Answers
        adapted to a site's prior (:mod:`dxcore.adaptation`) keep their decisions so.

        >>> rule = DecisionRule(["NORMAL", "PNEUMONIA"], positive_class="PNEUMONIA",
        ...                     threshold=0.5)
        >>> round(rule.moved(1.0, np.log([0.5, 2.0])).threshold, 3)  # odds x 4
        0.8
        """
        shift = np.asarray(shift, float)
        if self.log_offsets is not None:
            index = {name: k for k, name in enumerate(self.class_names)}
            return DecisionRule(self.class_names, log_offsets={
                name: float(scale * offset - shift[index[name]])
                for name, offset in self.log_offsets.items()})
        if len(self.class_names) != 2:
            raise DxError("A threshold rule over more than two classes cannot be moved with "
                          "the probabilities; this model's answers cannot be adapted.")
        positive = self.class_names.index(self.positive_class)
        if self.threshold in (0.0, 1.0):
            return self
        log_odds = (scale * np.log(self.threshold / (1 - self.threshold))
                    + shift[positive] - shift[1 - positive])
        return DecisionRule(self.class_names, self.positive_class,
                            float(1 / (1 + np.exp(-log_odds))))

    @property
    def returned(self) -> list[str]:
        """The classes the rule can return (under offsets, those with one)."""
        if self.log_offsets is None:
            return list(self.class_names)
        return [name for name in self.class_names if name in self.log_offsets]

    @property
    def never_returned(self) -> list[str]:
        """The classes the rule never returns (those without a log-probability offset)."""
        returned = self.returned
        return [name for name in self.class_names if name not in returned]

    def shown_probability(self, probabilities: np.ndarray, decisions: np.ndarray) -> np.ndarray:
        """Each item's probability of its decision, with the classes the rule never returns
        counted in it: the decided class stands for them too, so what is shown is
        P(decision or a never-returned class), which under a plain argmax is the largest of
        the shown probabilities (a beat 0.97 F, 0.02 N reads N at 0.99, "N or F"). NaN for an item
        decided outside the classes (an ECG's unclassifiable Q).

        >>> rule = DecisionRule(["N", "S", "V", "F"], log_offsets={"N": 0, "S": 0, "V": 0})
        >>> p = np.array([[0.02, 0.0, 0.01, 0.97], [0.7, 0.1, 0.2, 0.0]])
        >>> rule.shown_probability(p, np.array(["N", "Q"])).round(2).tolist()
        [0.99, nan]
        """
        names = np.asarray(self.class_names)
        matches = np.asarray(decisions)[:, None] == names
        folded = np.isin(names, self.never_returned)
        chosen = (np.asarray(probabilities) * (matches | folded)).sum(axis=1)
        return np.where(matches.any(axis=1), chosen, np.nan)


class Detail(Protocol):
    """A modality's typed child of :class:`Result`."""

    def as_json(self, result: Result, explanations: dict[int, Explanation]) -> list[dict]:
        """The JSON objects of the result (one per image, record or table row)."""

    def text(self, result: Result) -> list[str]:
        """The same in plain lines for a terminal."""


@dataclass
class Result:
    """The outcome of one input, for every modality: one item per image, beat or valid
    table row, each with its calibrated probabilities and decision under ``rule``;
    ``detail`` holds the modality's own view (beats and summary, table rows, image facts)."""

    model_id: str
    rule: DecisionRule
    probabilities: np.ndarray  # (items, classes), calibrated
    decisions: np.ndarray      # (items,) class names
    outputs: dict[str, np.ndarray]  # the network's raw outputs (logits, ...)
    model_input: Batch         # what the network read, one row per item
    detail: Detail
    notes: list[str] = field(default_factory=list)
    # Each item's conformal prediction set (its decision included), at ``coverage``; None
    # for a model whose card has no conformal calibration.
    prediction_sets: list[list[str]] | None = None
    coverage: float | None = None
    # The site prior the answers were adapted to (DxModel.adapt); then ``probabilities``,
    # ``rule`` and ``prediction_sets`` are adapted and these are the model's own.
    site_prior: SitePrior | None = None
    unadapted_probabilities: np.ndarray | None = None

    @property
    def class_names(self) -> list[str]:
        return self.rule.class_names

    def __len__(self) -> int:
        return len(self.decisions)

    def probabilities_of(self, item: int, decimals: int = 6) -> dict[str, float]:
        return {name: round(float(p), decimals)
                for name, p in zip(self.class_names, self.probabilities[item], strict=True)}

    def set_of(self, item: int) -> list[str]:
        """Item ``item``'s prediction set (just its decision without conformal sets)."""
        if self.prediction_sets is None:
            return [str(self.decisions[item])]
        return self.prediction_sets[item]

    def uncertain(self, item: int) -> bool:
        """Whether item ``item``'s prediction set holds more than its decision."""
        return len(self.set_of(item)) > 1

    def set_json(self, item: int) -> dict[str, Any]:
        """``{"prediction_set": [...], "coverage": 0.9}`` for a JSON line (empty without
        conformal sets)."""
        if self.prediction_sets is None:
            return {}
        return {"prediction_set": self.prediction_sets[item], "coverage": self.coverage}

    def adaptation_json(self, item: int, decimals: int = 6) -> dict[str, Any]:
        """``{"site_prior": {"shares": {...}, "source": ...}, "unadapted_probabilities":
        {...}}`` for a JSON line of an adapted result (the prior alone when it left the
        answers as they were; empty when the result was not adapted)."""
        if self.site_prior is None:
            return {}
        prior = self.site_prior.as_json()
        line: dict[str, Any] = {"site_prior": {"shares": prior["shares"],
                                               "source": prior["source"]}}
        if self.unadapted_probabilities is not None:
            line["unadapted_probabilities"] = {
                name: round(float(p), decimals) for name, p in
                zip(self.class_names, self.unadapted_probabilities[item], strict=True)}
        return line

    def input_of(self, item: int) -> Batch:
        """Item ``item``'s network input as a batch of one (what an explainer reads)."""
        return take(self.model_input, slice(item, item + 1))

    def as_json(self, explanations: dict[int, Explanation] | None = None) -> list[dict]:
        """JSON-ready objects, one per image, record or table row; ``explanations`` by item."""
        return self.detail.as_json(self, explanations or {})

    def text(self) -> list[str]:
        return self.detail.text(self)
