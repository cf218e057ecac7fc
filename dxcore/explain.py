"""Explanations: why a model decided what it did, through one registry for every modality.

A small base class holds the shared flow (pick the class, attribute, wrap); each method
overrides :meth:`Explainer.attribute`, which gets a batch of items and returns one
attribution per item with the input's shape (an image's pixels at the network's
resolution, a beat's samples, a table's fields). Saliency maps (:class:`MapExplainer`) are
rescaled to [0, 1] per item, and each keeps its span before that rescaling
(:attr:`Explanation.signal`), so that a map with almost no signal (:func:`is_flat`) is
not shown as if its stretched noise meant something; signed attributions (integrated
gradients) are kept as they are. Each method carries its reading aids for people:
``label``, ``reference`` (the paper) and ``how_to_read``. A modality registers its
methods with :func:`register_explainer`; a model finds them with :func:`get_explainer`
and its typed detail (:meth:`DxModel.describe_explanation`).

The contract (:mod:`dxcore.contract`) finds its explainers here, so this module reads a
model and its result through :class:`ExplainedModel` and :class:`ExplainedResult`, what an
explainer reads of a :class:`~dxcore.contract.DxModel` and its
:class:`~dxcore.results.Result`, rather than importing the contract back.

Example:
    >>> class Ones(Explainer):
    ...     label = "ones"
    ...     def attribute(self, model, network, x, class_indices):
    ...         return np.ones_like(x)
    >>> register_explainer("toy-doc", "ones", Ones())
    >>> explainers_for("toy-doc")
    ['ones']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from dxcore.batching import Batch, take
from dxcore.errors import DxError
from dxcore.registration import check_unclaimed

if TYPE_CHECKING:
    import keras

    from dxcore.cards import ModelCard

# A saliency map whose values span less than this before the per-item rescaling carries
# almost no signal. tf-keras-vis already rescales its maps to [0, 1] as
# (m - min) / (max - min + 1e-7), so a map it returns spans about 1 unless its own span is
# of the order of 1e-7 or less: numerically nothing (a Grad-CAM++ map of an image unlike
# anything the network learnt can be zero everywhere after its ReLU). Below FLAT_SPAN, the
# map's own span was under about 5e-9.
FLAT_SPAN = 0.05


def map_spans(raw: np.ndarray) -> np.ndarray:
    """Each item's max - min of a stacked batch of maps.

    >>> map_spans(np.array([[0.0, 0.5, 1.0], [0.2, 0.2, 0.2]])).tolist()
    [1.0, 0.0]
    """
    flat = np.asarray(raw, np.float64).reshape(len(raw), -1)
    return flat.max(axis=1) - flat.min(axis=1)


def rescaled(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stacked batch of maps rescaled to [0, 1] per item (a flat map stays all zeros),
    and each map's span before.

    >>> maps, spans = rescaled(np.array([[1.0, 3.0], [2.0, 2.0]]))
    >>> maps.tolist(), spans.tolist()
    ([[0.0, 1.0], [0.0, 0.0]], [2.0, 0.0])
    """
    raw = np.asarray(raw, np.float32)
    spans = map_spans(raw)
    maps = np.zeros_like(raw)
    for k, span in enumerate(spans):
        if span > 0:
            maps[k] = (raw[k] - raw[k].min()) / span
    return maps, spans


def is_flat(span: float | None) -> bool:
    """Whether a map of this span (before rescaling) carries almost no signal; False for
    attributions that are not rescaled maps (``None``).

    >>> is_flat(0.0), is_flat(1e-3), is_flat(0.9), is_flat(None)
    (True, True, False, False)
    """
    return span is not None and span < FLAT_SPAN


@dataclass
class Explanation:
    """One item's attribution for ``class_name``; ``values`` has the item's input shape;
    ``detail`` is the modality's reading of it (a beat's band, a case's field sentences)."""

    method: str
    label: str
    item: int
    class_name: str
    values: np.ndarray
    detail: Any = None
    # A map's span before it was rescaled to [0, 1] (None: attributions not rescaled).
    signal: float | None = None

    @property
    def flat(self) -> bool:
        """The map carries almost no signal (:func:`is_flat`)."""
        return is_flat(self.signal)

    def as_json(self) -> dict[str, Any]:
        detail = getattr(self.detail, "as_json", None)
        return {"method": self.method, **(detail() if detail else {})}

    def text(self) -> list[str]:
        """Plain lines for a terminal (the detail's, else where the values peak)."""
        detail = getattr(self.detail, "text", None)
        return detail() if detail else [f"{self.label}: {self.as_json()}"]

    def save(self, folder: Path, stem: str) -> None:
        """Write what the detail can draw (an image overlay) as ``folder/stem.method.png``."""
        save = getattr(self.detail, "save", None)
        if save:
            save(folder, stem, self.method)


class ExplainedResult(Protocol):
    """What an explainer reads of a result (a :class:`dxcore.results.Result`): its classes,
    its items' decisions and the network input of each item."""

    decisions: np.ndarray
    model_input: Batch

    @property
    def class_names(self) -> list[str]: ...

    def __len__(self) -> int: ...


class ExplainedModel(Protocol):
    """What an explainer reads of a model (a :class:`dxcore.contract.DxModel`): its modality
    (whose registered methods name the explanation), its card (the layer saliency maps
    read), its Keras network, and its reading of an explanation."""

    modality: str
    card: ModelCard

    @property
    def network(self) -> keras.Model: ...

    def describe_explanation(self, result: Any, explanation: Explanation) -> Any: ...


class Explainer:
    """Shared flow: the class of each item (its decision unless ``class_name``), the raw
    attributions of the whole batch in one call, the modality's detail per item."""

    label = "base"
    reference = ""  # the paper
    how_to_read = ""  # what the map or bars show, for a clinician, in two or three sentences

    def __call__(self, model: ExplainedModel, result: ExplainedResult, items: list[int],
                 class_name: str | None = None, network: keras.Model | None = None
                 ) -> list[Explanation]:
        names = result.class_names
        if class_name is not None and class_name not in names:
            raise DxError(f"Unknown class '{class_name}'. Choose one of: {', '.join(names)}.")
        for item in items:
            if not 0 <= item < len(result):
                raise DxError(f"There is no item {item} to explain; the result has "
                              f"{len(result)}.")
        classes = [class_name or self.default_class(model, result, i) for i in items]
        x = take(result.model_input, np.asarray(items))
        values, signals = self.attribute_with_signal(
            model, network or model.network, x, np.array([names.index(c) for c in classes]))
        method = _registered_name(model.modality, self)
        explanations = []
        for k, (item, explained) in enumerate(zip(items, classes, strict=True)):
            explanation = Explanation(method, self.label, item, explained, values[k],
                                      signal=None if signals is None else float(signals[k]))
            explanation.detail = model.describe_explanation(result, explanation)
            explanations.append(explanation)
        return explanations

    def attribute(self, model: ExplainedModel, network: keras.Model, x: Batch,
                  class_indices: np.ndarray) -> np.ndarray:
        """One attribution per item of ``x`` for its class, stacked on the first axis."""
        raise NotImplementedError

    def attribute_with_signal(self, model: ExplainedModel, network: keras.Model, x: Batch,
                              class_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`attribute` and each item's signal (None here: not a rescaled map)."""
        return self.attribute(model, network, x, class_indices), None

    def default_class(self, model: ExplainedModel, result: ExplainedResult, item: int) -> str:
        """The class explained when none is asked for: the item's decision."""
        return str(result.decisions[item])


class MapExplainer(Explainer):
    """Saliency maps through tf-keras-vis, rescaled to [0, 1] per item. Subclasses
    override :meth:`compute` (the library call); a multi-input network's map is over its
    first input."""

    def attribute(self, model, network, x, class_indices):
        return self.attribute_with_signal(model, network, x, class_indices)[0]

    def attribute_with_signal(self, model, network, x, class_indices):
        """The maps rescaled to [0, 1] per item, and each map's span before (a flat map
        stays all zeros)."""
        indices = np.asarray(class_indices)

        def score(output):  # each item's own class logit
            if (indices == indices[0]).all():  # one class: any batch shape (Score-CAM's masks)
                return output[:, int(indices[0])]
            import tensorflow as tf
            return tf.gather(output, indices, axis=1, batch_dims=1)

        layer = model.card.explainer_layer
        raw = self.compute(network, x, score, layer)
        return rescaled(raw[0] if isinstance(raw, list) else raw)

    def compute(self, network: keras.Model, x: Batch, score, layer: str) -> np.ndarray:
        raise NotImplementedError


_EXPLAINERS: dict[str, dict[str, Explainer]] = {}
_DEFAULTS: dict[str, str] = {}


def register_explainer(modality: str, name: str, explainer: Explainer,
                       default: bool = False, replace: bool = False) -> None:
    """Make ``explainer`` the method ``name`` of ``modality``'s models; a method name that
    an explainer of another class holds already is refused (:mod:`dxcore.registration`),
    unless ``replace``."""
    methods = _EXPLAINERS.setdefault(modality, {})
    held = methods.get(name)
    check_unclaimed(f"explanation method '{name}' of the modality '{modality}'",
                    None if held is None else type(held), type(explainer), replace)
    methods[name] = explainer
    if default or modality not in _DEFAULTS:
        _DEFAULTS[modality] = name


def explainers_for(modality: str) -> list[str]:
    """The method names of a modality, its default first."""
    methods = list(_EXPLAINERS.get(modality, {}))
    default = _DEFAULTS.get(modality)
    return [default, *(m for m in methods if m != default)] if default else methods


def default_method(modality: str) -> str:
    return explainers_for(modality)[0]


def get_explainer(modality: str, method: str) -> Explainer:
    methods = _EXPLAINERS.get(modality, {})
    try:
        return methods[method.lower()]
    except KeyError:
        choices = ", ".join(explainers_for(modality)) or "none"
        raise DxError(f"Unknown explanation method '{method}' for this model. Choose one "
                      f"of: {choices}.") from None


def _registered_name(modality: str, explainer: Explainer) -> str:
    return next(name for name, e in _EXPLAINERS[modality].items() if e is explainer)
