"""The one upload -> result path of every page, and the one way a result is shown.

The path: an upload is ``{file name: bytes}`` (a form's answers are serialised to one such
file first); :func:`read`, :func:`analyse` and :func:`explain` run it through the model's
contract (``read`` -> ``predict`` -> ``explain``) and keep each step in Streamlit's
in-memory ``st.cache_data`` store, keyed by the SHA-256 of the names and bytes
(:func:`upload_key`) and the options, for a few minutes, so that a rerun (another beat,
method or case, the opacity slider) recomputes nothing. Nothing is written to disk: the
bytes themselves are never hashed by Streamlit nor persisted (``persist`` stays off).

The renderer: :func:`verdict` (the prediction, or "uncertain: ..." when the item's
conformal prediction set holds more than one class, :func:`decision_sentence` and
:func:`probability_bars` under the card's decision rule, with the threshold drawn on them,
:func:`rule_text`). Every probability on the pages is written by
:func:`dxcore.wording.probability_text` (as in the PDF report), so that none reads 1.00 or
0.00. An answer adapted to the site's prevalence
(:mod:`dxcore.adaptation`; :func:`standing_prior` for a single upload) says which prevalence
under its bars (:func:`prior_text`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dxcore.audit import AuditLog
from dxcore.contract import DecisionRule, Result
from dxcore.errors import DxError
from dxcore.explain import Explanation, explainers_for, get_explainer
from dxcore.label_shift import SitePrior
from dxcore.registry import get_model
from dxcore.signoff import Answer
from dxcore.site_prior import ENV as SITE_PRIORS_ENV
from dxcore.site_prior import MIN_AUDIT_ANSWERS
from dxcore.wording import probability_is
from dxui.common import load_model, plain
from dxui.server import answer_shown, import_core

CACHE_SECONDS = 600
PRIOR_SECONDS = 60  # how long the site's standing prior is kept before it is read again
SITE_PRIORS_HINT = f"the file ${SITE_PRIORS_ENV} names, see the README"
BAR_ROW_PX = 34
VERDICT = "Model prediction"  # the verdict's label, above the class
THRESHOLD_COLOUR = "#222222"
# This session's answer entries in the audit trail, by model, upload and options.
ANSWERS = "dx_audit_answers"


# --- The cached path ----------------------------------------------------------------------


def upload_key(files: dict[str, bytes]) -> str:
    """The SHA-256 of an upload: every file's name (WFDB files are paired by name) and
    bytes, in name order.

    >>> upload_key({"a.csv": b"x"}) == upload_key({"a.csv": b"x"}) != upload_key({"b.csv": b"x"})
    True
    """
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


@dataclass
class Upload:
    """An upload, ``{file name: bytes}``, and its :func:`upload_key`, hashed once per rerun
    however many steps of the path it goes through."""

    files: dict[str, bytes]

    @cached_property
    def key(self) -> str:
        return upload_key(self.files)


@st.cache_data(max_entries=8, ttl=CACHE_SECONDS, show_spinner="Reading the upload…")
def _read(modality: str, key: str, read_options: dict[str, Any], _model_id: str,
          _files: dict[str, bytes]) -> Any:
    # Keyed by modality, not model: every model of a modality reads an upload the same way
    # (a table matched to its model by its columns is read once).
    return get_model(_model_id).read(_files, **read_options)  # reading needs no weights


@st.cache_data(max_entries=8, ttl=CACHE_SECONDS, show_spinner="Running the model…")
def _analyse(model_id: str, key: str, read_options: dict[str, Any], options: dict[str, Any],
             _files: dict[str, bytes]) -> Result:
    modality = get_model(model_id).modality
    decoded = _read(modality, key, read_options, model_id, _files)
    return load_model(model_id).predict(decoded, **options)


@st.cache_data(max_entries=16, ttl=CACHE_SECONDS, show_spinner="Computing the explanation…")
def _explain(model_id: str, key: str, read_options: dict[str, Any], options: dict[str, Any],
             method: str, item: int, class_name: str | None,
             _files: dict[str, bytes]) -> Explanation:
    result = _analyse(model_id, key, read_options, options, _files)
    return load_model(model_id).explain(result, method, item=item, class_name=class_name)


def read(model_id: str, upload: Upload, **read_options: Any) -> Any:
    """The upload decoded as ``model_id`` reads it (an ECG record, a table of cases);
    ``read_options`` are the reader's (an ECG CSV's ``fs``). Raises
    :class:`~dxcore.errors.DxError` on bad input."""
    return _read(get_model(model_id).modality, upload.key, read_options, model_id,
                 upload.files)


def analyse(model_id: str, upload: Upload, read_options: dict[str, Any] | None = None,
            prior: SitePrior | None = None, audited: bool = True, **options: Any) -> Result:
    """``model_id``'s result for the upload: read with ``read_options`` (as :func:`read`),
    predicted with ``options`` (an ECG's ``lead``), adapted to the site's ``prior`` when
    one is given (:func:`standing_prior`); raises :class:`~dxcore.errors.DxError` on bad
    input."""
    result = _analyse(model_id, upload.key, read_options or {}, options, upload.files)
    if prior is not None:
        result = load_model(model_id).adapt(result, prior)
    if audited:  # an answer shown; a report of it (audited=False) is not a new answer
        audit(model_id, upload, {**(read_options or {}), **options}, result)
    return result


def standing_prior(model_id: str) -> SitePrior | None:
    """The site prior a single answer of ``model_id`` is adapted to
    (:func:`dxcore.site_prior.standing_prior`: the administrator's, else the audit trail's,
    else the training prior), or None for a model whose answers cannot be adapted. A
    prevalence file or calibration that cannot be used is said on the page, and the answers
    are left as the model gives them."""
    from dxcore import audit, site_prior

    try:
        if load_model(model_id).label_shift is None:
            return None
        return _standing_prior(model_id, str(site_prior.configured_path()),
                               str(audit.configured_path()))
    except DxError as error:
        st.warning(f"Answers are not adapted to this site's prevalence: {plain(error)}",
                   icon=":material/tune:")
        return None


@st.cache_data(ttl=PRIOR_SECONDS, show_spinner=False)
def _standing_prior(model_id: str, prevalence_file: str, audit_log: str) -> SitePrior:
    # Keyed by where the prevalence file and the audit trail are; read again after a minute.
    from dxcore.site_prior import standing_prior as resolve

    return resolve(load_model(model_id))


def session_pseudonym() -> str:
    """This browser session's pseudonym in the audit trail: random, never a user's name."""
    return st.session_state.setdefault("dx_audit_pseudonym", f"s-{secrets.token_hex(6)}")


def audit(model_id: str, upload: Upload, options: dict[str, Any], result: Result) -> None:
    """Append the prediction to the audit trail (:mod:`dxcore.audit`; off when
    ``$DX_AUDIT_LOG`` is ``off``), once per session, upload, options and site prior however
    often the page reruns; a log that cannot be written is said on the page, and the result shown.
    The options (an ECG's lead name, read from the file's header) are not logged: a
    header may say anything."""
    log = AuditLog.configured()
    if log is None:
        return
    logged = st.session_state.setdefault("dx_audit_logged", set())
    answer_key = _answer_key(model_id, upload, options)
    key = (*answer_key, json.dumps(result.site_prior.as_json() if result.site_prior else None))
    if key in logged:
        return
    try:
        entry = log.append(result, get_model(model_id).card, upload.files, session_pseudonym())
    except OSError as error:
        st.warning(f"This prediction could not be written to the audit log at {log.path} "
                   f"({error.strerror or error}). Tell whoever runs the dashboard.",
                   icon=":material/history:")
        return
    logged.add(key)
    st.session_state.setdefault(ANSWERS, {})[answer_key] = Answer.of(entry)


def _answer_key(model_id: str, upload: Upload, options: dict[str, Any]) -> tuple[str, str, str]:
    return (model_id, upload.key, json.dumps(options, sort_keys=True, default=str))


def logged_answer(model_id: str, upload: Upload,
                  options: dict[str, Any] | None = None) -> Answer | None:
    """The audit trail's latest entry of ``model_id``'s answer on the upload with
    ``options`` (as :func:`analyse` logged it in this session; None: with whatever options,
    the latest logged), which a sign-off references (:mod:`dxui.signoff`); None when it was
    not logged (the trail is off, or the entry could not be written)."""
    logged = st.session_state.get(ANSWERS, {})
    if options is not None:
        return logged.get(_answer_key(model_id, upload, options))
    return next((answer for key, answer in reversed(logged.items())
                 if key[:2] == (model_id, upload.key)), None)


def explain(model_id: str, upload: Upload, method: str, item: int = 0,
            class_name: str | None = None, read_options: dict[str, Any] | None = None,
            options: dict[str, Any] | None = None) -> Explanation:
    """Why item ``item`` of :func:`analyse`'s result (same upload and options) got its
    decision (or ``class_name``), by ``method``."""
    import_core()  # an explanation reads the Keras network (TensorFlow): one thread at a time
    return _explain(model_id, upload.key, read_options or {}, options or {}, method, item,
                    class_name, upload.files)


def default_method(model_id: str) -> str:
    """The model's modality's default explanation method."""
    return explanation_methods(model_id)[0]


def explanation_methods(model_id: str) -> list[str]:
    """The model's explanation methods, its modality's default first."""
    return explainers_for(get_model(model_id).modality)


def method_label(model_id: str, method: str) -> str:
    """E.g. ``"gradcam++"`` -> ``"Grad-CAM++"``."""
    return get_explainer(get_model(model_id).modality, method).label


FLAT_MAP = ("**This map carries almost no signal**: its values barely vary over the input, "
            "so no region stands out for this prediction and the colours show nothing. "
            "That is itself a warning: the input may be unlike what the model learnt from.")


def flat_notice(explanation: Explanation) -> bool:
    """Say so when the map carries almost no signal (:func:`dxcore.explain.is_flat`);
    whether it did."""
    if explanation.flat:
        st.info(FLAT_MAP, icon=":material/blur_off:")
    return explanation.flat


def how_to_read(model_id: str, method: str) -> None:
    """The method's "how to read this map" and its paper, folded away."""
    explainer = get_explainer(get_model(model_id).modality, method)
    with st.expander(f"How to read the {explainer.label} map"):
        st.markdown(explainer.how_to_read)
        st.caption(f"Method: {explainer.reference}.")


# --- The renderer -------------------------------------------------------------------------


def _listed(names: list[str], last: str = "and") -> str:
    """``['N', 'S', 'V']`` -> ``'N, S and V'``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}"


def class_text(result: Result, name: str) -> str:
    """A class as the pages name it: the card's readable label (``ckd`` -> "chronic kidney
    disease", :meth:`~dxcore.cards.ModelCard.class_label`), or the code itself where the
    label would only change its case (``PNEUMONIA``) or there is none."""
    try:
        label = get_model(result.model_id).card.class_label(name)
    except DxError:  # a model from outside the registry (a plug-in's own folder)
        return name
    return name if label.lower() == name.lower() else label


def verdict_label(result: Result, item: int) -> str:
    """The prediction as the verdict shows it: the decision when the item's prediction set
    is that one class, else ``"uncertain: NORMAL or PNEUMONIA"`` (readable labels,
    :func:`class_text`)."""
    if result.uncertain(item):
        return f"uncertain: {_listed([class_text(result, n) for n in result.set_of(item)], 'or')}"
    return class_text(result, str(result.decisions[item]))


def uncertainty_text(result: Result, item: int) -> str | None:
    """What a prediction set of more than one class means, in words (None otherwise)."""
    if not result.uncertain(item):
        return None
    chosen = [class_text(result, name) for name in result.set_of(item)]
    return (f"**Low confidence.** The {result.coverage:.0%} prediction set holds "
            f"{_listed(chosen)}: for cases like this one the model cannot rule out "
            f"{'either' if len(chosen) == 2 else 'any'} of them at that coverage. The rule "
            f"still picks **{class_text(result, str(result.decisions[item]))}**; read it as "
            "uncertain.")


def coverage_caveat(result: Result) -> str:
    """Where the model's prediction sets covered less than their level on its test split
    (its upper 95% bound below it), that in one sentence; else ``""``."""
    if result.coverage is None:
        return ""
    measured = (get_model(result.model_id).card["test_metrics"].get("prediction_sets") or {}
                ).get(f"{result.coverage:g}")
    if not measured or measured["coverage"]["ci95"][1] >= result.coverage:
        return ""
    if adapted(result):
        return (f"On its test split, though, the model's sets before adaptation held the "
                f"true class for only {measured['coverage']['value']:.1%} of cases, and "
                "adapting to a prevalence corrects no other change (see the Models page).")
    return (f"On its test split, though, these sets held the true class for only "
            f"{measured['coverage']['value']:.1%} of cases: the guarantee did not hold "
            "there (see the Models page).")


def adapted(result: Result) -> bool:
    """Whether the result's answers were changed for the site's prevalence."""
    return result.site_prior is not None and result.site_prior.adapts


def prior_text(result: Result) -> str | None:
    """Which site prevalence the answers were adapted to, in words (Markdown; None when
    the result was not adapted, as for a model without a label-shift calibration)."""
    prior = result.site_prior
    if prior is None:
        return None
    card = get_model(result.model_id).card
    name = card.positive_class
    text = prior.describe(name, class_text(result, name).lower(),
                          get_model(result.model_id).label_shift.prior)
    if not prior.adapts:
        return (f"**Site prevalence:** {text}. An administrator can set this site's "
                f"prevalence ({SITE_PRIORS_HINT}); otherwise it is estimated from the audit "
                f"trail once it holds {MIN_AUDIT_ANSWERS} recent answers of this model.")
    return (f"**Site prevalence:** {text}. The probabilities and the prediction set are "
            "adapted to it; the decision is the model's own (its threshold moves with the "
            "probabilities, keeping its sensitivity and specificity).")


def rule_text(rule: DecisionRule) -> str:
    r"""The card's decision rule in words, as it is applied (Markdown).

    >>> rule_text(DecisionRule(["NORMAL", "PNEUMONIA"], "PNEUMONIA", 0.27))
    '**PNEUMONIA if P(PNEUMONIA) ≥ 0.27**'
    >>> ecg = DecisionRule(["N", "S", "V", "F"], log_offsets={"N": 0, "S": 0, "V": 0})
    >>> print(rule_text(ecg).replace("; ", ";\n"))
    **the most probable of N, S and V** (plain argmax);
    F is never returned, so its probability is counted with the class given (shown as P(N or F))
    """
    if rule.log_offsets is None:
        return f"**{rule.positive_class} if P({rule.positive_class}) ≥ {rule.threshold:.2f}**"
    chosen, never = rule.returned, rule.never_returned
    text = f"**the most probable of {_listed(chosen)}**"
    if any(rule.log_offsets[name] for name in chosen):
        offsets = ", ".join(f"{name} {rule.log_offsets[name]:+.2f}" for name in chosen)
        text += f" after adding each class's log-probability offset ({offsets})"
    else:
        text += " (plain argmax)"
    if never:
        text += (f"; {_listed(never)} {'is' if len(never) == 1 else 'are'} never returned, so "
                 f"{'its' if len(never) == 1 else 'their'} probability is counted with the "
                 f"class given (shown as P({chosen[0]} or {_listed(never, 'or')}))")
    return text


def shown_class(rule: DecisionRule, decided: str) -> str:
    """The decided class as its probability is shown: with the classes the rule never
    returns, which it stands for (:meth:`DecisionRule.shown_probability`).

    >>> shown_class(DecisionRule(["N", "S", "V", "F"], log_offsets={"N": 0, "S": 0, "V": 0}), "V")
    'V or F'
    """
    return " or ".join([decided, *rule.never_returned])


def decision_sentence(result: Result, item: int, noun: str) -> str:
    """Item ``item``'s decision in one plain sentence under the result's rule, e.g. "The
    model reads this image as **PNEUMONIA**: P(PNEUMONIA) = 0.87, at or above the decision
    threshold 0.43." (more decimals where two would show the probability equal to the
    threshold)."""
    rule, decided = result.rule, str(result.decisions[item])
    opening = f"The model reads this {noun} as **{class_text(result, decided)}**"
    if rule.log_offsets is not None:
        probability = float(rule.shown_probability(result.probabilities[item:item + 1],
                                                   result.decisions[item:item + 1])[0])
        return (f"{opening}: P({shown_class(rule, decided)}) {probability_is(probability)}, "
                "the most probable of "
                f"{_listed(rule.returned)}"
                + (" after the per-class offsets." if any(rule.log_offsets.values()) else "."))
    positive, threshold = rule.positive_class, rule.threshold
    probability = float(result.probabilities[item, rule.class_names.index(positive)])
    digits = next((d for d in (2, 3) if f"{probability:.{d}f}" != f"{threshold:.{d}f}"), 4)
    comparison = "at or above" if probability >= threshold else "below"
    return (f"{opening}: P({class_text(result, positive)}) "
            f"{probability_is(probability, digits)}, "
            f"{comparison} the decision threshold {threshold:.{digits}f}.")


def probability_chart(result: Result, item: int) -> alt.LayerChart:
    """One horizontal bar per class on a 0-1 axis, labelled ``P(class) = 0.87`` (or
    ``> 0.99``), the decided class's darker; for a threshold rule, the decision threshold
    drawn as a black mark across the positive class's bar."""
    rule, decided = result.rule, str(result.decisions[item])
    # A class the rule never returns has no bar of its own: it is counted in the decided
    # class's bar (P(N or F)), so the darker bar is always the class given and its length
    # the probability shown for it.
    shown = [name for name in result.class_names if name not in rule.never_returned]
    probabilities = [float(rule.shown_probability(result.probabilities[item:item + 1],
                                                  result.decisions[item:item + 1])[0])
                     if name == decided else
                     float(result.probabilities[item, result.class_names.index(name)])
                     for name in shown]
    labels = [shown_class(rule, name) if name == decided else class_text(result, name)
              for name in shown]
    labels = [class_text(result, label) for label in labels]
    frame = pd.DataFrame({
        "Class": [f"P({label}) {probability_is(p)}"
                  for label, p in zip(labels, probabilities, strict=True)],
        "Probability": probabilities,
        "Decided": [name == decided for name in shown],
    })
    y = alt.Y("Class:N", title=None, sort=None,
              axis=alt.Axis(labelLimit=0, labelFontSize=13, labelPadding=8))  # never cut
    x = alt.X("Probability:Q", title=None, scale=alt.Scale(domain=[0, 1]),
              axis=alt.Axis(format=".1f", tickCount=5))
    bars = alt.Chart(frame).mark_bar(height=BAR_ROW_PX * 0.6).encode(
        x=x, y=y, tooltip=[alt.Tooltip("Class:N", title="Probability")],
        color=alt.condition("datum.Decided", alt.value("#1f77b4"), alt.value("#a6bddb")))
    layers = [bars]
    if rule.log_offsets is None:
        positive = shown.index(rule.positive_class)
        marker = pd.DataFrame({"Class": [frame["Class"][positive]],
                               "Probability": [float(rule.threshold)],
                               "Decision": [f"threshold {rule.threshold:.2f}"]})
        layers.append(alt.Chart(marker).mark_tick(
            color=THRESHOLD_COLOUR, thickness=3, size=BAR_ROW_PX * 0.9).encode(
            x=x, y=y, tooltip=["Decision:N"]))
    return alt.layer(*layers).properties(height=alt.Step(BAR_ROW_PX))


def probability_bars(result: Result, item: int, calibrated_on: str) -> None:
    """The class probabilities as bars with the threshold marked, then the decision rule
    and where calibration was fitted."""
    st.altair_chart(probability_chart(result, item), width="stretch")
    marked = " (the black mark on its bar)" if result.rule.log_offsets is None else ""
    chosen_there = "; the threshold was chosen there" if result.rule.log_offsets is None else ""
    moved = (", adapted to the site's prevalence" if adapted(result) else "")
    from dxcore.reports import calibration_text  # sklearn behind it: only when bars are drawn

    try:
        calibration = calibration_text(get_model(result.model_id).card)
    except DxError:  # a model outside the registry (a plug-in's own folder)
        calibration = "temperature scaling"
    st.caption(f"Decision rule: {rule_text(result.rule)}{marked}. Probabilities are scaled on "
               f"{calibrated_on} ({calibration}){moved}{chosen_there}"
               f"{' and moved with them' if moved and chosen_there else ''}.")


def verdict_markdown(label: str) -> str:
    r"""The prediction as the verdict shows it: :data:`VERDICT` small above, the class in
    a heading that wraps (an ``st.metric`` cut "acute lymphoblastic leukaemia (ALL)" to
    "acute lymphob…" in a narrow column).

    >>> print(verdict_markdown("heart disease"))
    :gray[Model prediction]
    <BLANKLINE>
    ### heart disease
    """
    return f":gray[{VERDICT}]\n\n### {plain(label)}"


def verdict(result: Result, item: int, noun: str, calibrated_on: str,
            beside: Callable[[], None] | None = None, stacked: bool = False) -> None:
    """Item ``item``'s prediction with its sentence, and its probability bars, in one
    bordered box; ``beside`` draws more about the item (a case's atypicality) under the
    prediction, so that the bars keep two thirds of the box whatever the class names;
    ``stacked`` puts the parts one under the other (a case in a column of the patient view,
    where a third of its width would cut the prediction short)."""
    with st.container(border=True):
        columns = ([st.container(), st.container()] if stacked else
                   st.columns([1, 2], gap="large"))
        with columns[0]:
            st.markdown(verdict_markdown(verdict_label(result, item)), anchors=False)
            st.markdown(decision_sentence(result, item, noun))
            uncertain = uncertainty_text(result, item)
            caveat = coverage_caveat(result)
            if uncertain is not None:
                st.warning(f"{uncertain} {caveat}".strip(), icon=":material/help:")
            elif result.prediction_sets is not None:
                st.caption(f"{result.coverage:.0%} prediction set: "
                           f"{class_text(result, str(result.decisions[item]))} "
                           f"alone (a confident reading at that coverage). {caveat}".strip())
            if beside is not None:
                beside()
        with columns[1]:
            probability_bars(result, item, calibrated_on)
            prior = prior_text(result)
            if prior is not None:
                st.caption(prior)
    answer_shown()  # the background warm-up may take the interpreter for TensorFlow now
