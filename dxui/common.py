"""UI pieces every page uses: the research notice, errors shown without tracebacks, text
from uploads shown as itself, the cached model loader, the page's model (with its target
warning) and the model-card tables and section."""

from __future__ import annotations

import logging
import math
import re
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from dxcore import DxError, get_card, get_model, list_cards
from dxcore.cards import METRIC_LABELS, ModelCard, metric_label
from dxcore.errors import OutOfDomain
from dxcore.registry import modality_label

if TYPE_CHECKING:  # the contract imports Keras, which the home page does without
    from dxcore.contract import DxModel

logger = logging.getLogger("dxui")

NOTICE = "**Research prototype — not for clinical decisions.**"
NOTICE_DETAIL = (
    "The models are trained and tested on public research datasets. Their outputs have "
    "not been validated for patient care and must not guide diagnosis or treatment."
)
BELOW_TARGETS = ("**This model is below the targets set for it on its held-out test "
                 "set**, so its outputs are less reliable than its task asks:")
PPV_MEANS = "(PPV: of the beats or cases the model gave that class, the share that had it.)"
UNEXPECTED_ERROR = (
    "Something unexpected went wrong and no result is shown. Please try again, or try "
    "another file. If it keeps happening, tell the people who run this dashboard."
)

# The order of the home page's headline metrics; it shows every metric of each card's
# headline() (a card may narrow that with its ``headline_metrics`` list).
HEADLINE_METRICS = ("auc", "accuracy", "sensitivity", "specificity", "macro_f1")
# Every ASCII punctuation character: CommonMark lets each be backslash-escaped, and shows an
# escaped one as itself.
MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: object) -> str:
    r"""``text`` as Markdown that shows it literally, for anything that comes from an
    uploaded file (a cell, a column, lead or file name, a DICOM attribute, a message that
    echoes one) and goes into ``st.markdown``, ``st.caption``, an alert or an ``st.table``
    cell, which all render Markdown: a file could otherwise make the page show an image
    (the browser fetches its URL), a link, HTML, a ``:red[directive]`` or a formula.
    Streamlit has no escaping function of its own.

    >>> print(plain("![x](http://a.b/t.png) <b>1*2</b>"))
    \!\[x\]\(http\:\/\/a\.b\/t\.png\) \<b\>1\*2\<\/b\>
    """
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))


# A parenthesis that points at a script or a command-line flag ("(scripts/ecg_cv.py
# --members 3)"), and a text that is a command: they are for whoever runs the dashboard,
# not for a clinician reading a card or a message.
COMMAND_ASIDE = re.compile(r"\s*\([^()]*?(?:scripts/|python -m|(?<![\w-])--[a-z])[^()]*\)")
COMMAND = re.compile(r"^\s*(?:python|streamlit)\s")
RECORDED_COMMAND = "the training run recorded in the model card"


def clinical(text: str) -> str:
    """``text`` without the asides that name a script or a command-line flag; a text that
    is itself a command becomes :data:`RECORDED_COMMAND`.

    >>> clinical("V PPV from 0.67 to 0.82 (scripts/ecg_cv.py --members 3).")
    'V PPV from 0.67 to 0.82.'
    >>> clinical("python -m dxcore train ecg-beats --epochs 6"), clinical("N (normal)")
    ('the training run recorded in the model card', 'N (normal)')
    """
    if COMMAND.match(text):
        return RECORDED_COMMAND
    return COMMAND_ASIDE.sub("", text)


def show_notes(notes: list[str]) -> None:
    """One ``st.info`` per note a reader or model made about an input; notes may echo the
    file's names and cells, so they are shown as :func:`plain` text."""
    for note in notes:
        st.info(plain(note), icon=":material/info:")


def research_notice() -> None:
    """The notice every page shows near its top."""
    st.warning(f"{NOTICE} {NOTICE_DETAIL}", icon=":material/science:")


def target_warning(card: ModelCard) -> None:
    """A warning naming the targets the model misses on its test split (nothing when it
    meets them all): a clinician should know before reading its outputs."""
    unmet = card.unmet_targets()
    if unmet:
        glossary = (f" {PPV_MEANS}" if any(c.metric.endswith("_ppv") for c in unmet) else "")
        st.warning(f"{BELOW_TARGETS} " + "; ".join(
            check.describe(metric_label(check.metric)) for check in unmet) + "." + glossary,
            icon=":material/report:")


def targets_text(card: ModelCard) -> str:
    """The targets in one line for the models table: "met", or the missed ones."""
    checks = card.target_checks()
    if not checks:
        return "none stated"
    unmet = [check.describe(metric_label(check.metric)) for check in checks if not check.met]
    return "missed: " + "; ".join(unmet) if unmet else "met"


def show_error(error: BaseException) -> None:
    """One ``st.error``: a :class:`DxError`'s own clinician-readable message, or a generic
    one (the details go to the server log, never to the browser); an
    :class:`~dxcore.errors.OutOfDomain` refusal is shown as the model declining to answer."""
    if isinstance(error, OutOfDomain):  # the model declines: a refusal, not a failure
        st.warning(f"**The model gives no answer for this input.** {plain(error)}",
                   icon=":material/block:")
    elif isinstance(error, DxError):  # its message may echo a file's name, cells or fields
        st.error(plain(error), icon=":material/error:")
    else:
        logger.error("Unexpected error in a page", exc_info=error)
        st.error(UNEXPECTED_ERROR, icon=":material/error:")


@st.cache_resource(show_spinner="Loading the model…")
def load_model(model_id: str) -> DxModel:
    """The model with its weights verified and loaded, once per server process."""
    return get_model(model_id).load()


def installed_card(model_id: str) -> ModelCard | None:
    """The model's card, or ``None`` when the registry has no such model."""
    return next((card for card in list_cards() if card.id == model_id), None)


def page_model(model_id: str, missing: str | None = None) -> ModelCard:
    """The card of the model a page runs, its weights loaded, and the warning about any
    target it misses. When it cannot be used the page says why and stops: ``missing`` (an
    ``st.info``) when the model is not installed, if given, else the error."""
    try:
        card = installed_card(model_id)
        if card is None and missing is None:
            card = get_card(model_id)  # raises the error that names the shipped models
        if card is not None:
            load_model(model_id)
    except Exception as error:
        show_error(error)
        st.stop()
    if card is None:
        st.info(missing, icon=":material/info:")
        st.stop()
    target_warning(card)
    return card


def undefined_text(name: str) -> str:
    """What a metric without a value means: a PPV is undefined when the model never
    called that class, a sensitivity when the test split holds none of it.

    >>> undefined_text("F_ppv"), undefined_text("F_sensitivity"), undefined_text("auc")
    ('not defined (no F calls)', 'not defined (no F beats in the test set)', 'not defined')
    """
    label, _, measure = name.rpartition("_")
    if label and measure == "ppv":
        return f"not defined (no {label} calls)"
    if label and measure == "sensitivity":
        return f"not defined (no {label} beats in the test set)"
    return "not defined"


def card_metrics_table(card: ModelCard) -> pd.DataFrame:
    """The card's test metrics, one row each: value and 95% CI, then ECE and test size.
    Empty when the model has not been measured on its test split yet."""
    metrics = card.get("test_metrics") or {}
    rows = []
    ordered = [name for name in METRIC_LABELS if name in metrics]
    ordered += [name for name in metrics if name not in METRIC_LABELS and name != "n"]
    for name in ordered:
        metric = metrics[name]
        # Cards may also store tables and notes there (an ECG card's confusion matrix); a
        # metric with no value (a PPV of a class never called) is a row that says so.
        if not isinstance(metric, dict) or "value" not in metric:
            continue
        value = metric["value"]
        if value is not None and not isinstance(value, int | float):
            continue
        interval = metric.get("ci95")
        defined = value is not None and math.isfinite(value)
        rows.append({
            "Metric": metric_label(name),
            "Value": (undefined_text(name) if not defined
                      else f"{value:,} of {metric['of']:,}" if "of" in metric
                      else f"{value:.3f}"),
            "95% CI": (f"{interval[0]:.3f}–{interval[1]:.3f}"
                       if defined and interval and all(map(math.isfinite, interval)) else "—"),
        })
    count = metrics.get("n")
    if isinstance(count, dict) and "value" in count:
        detail = f"{count['value']:,}"
        if "positives" in count:
            positive = card.positive_class
            detail += f" ({count['positives']:,} {positive})"
        rows.append({"Metric": "Test set size", "Value": detail, "95% CI": ""})
    return pd.DataFrame(rows, columns=["Metric", "Value", "95% CI"])


def models_table(cards: list[ModelCard]) -> pd.DataFrame:
    """One row per shipped model: what it is, its test-set size and its headline test
    metrics with 95% CIs in one column (models report different metrics)."""
    rows = []
    for card in cards:
        headline = card.headline()
        ordered = [name for name in HEADLINE_METRICS if name in headline]
        ordered += [name for name in headline if name not in ordered]
        count = (card.get("test_metrics") or {}).get("n")
        rows.append({
            "Model": card["name"],
            "ID": card.id,
            "Modality": modality_label(str(card["modality"])),
            "Task": card["task"],
            "Test n": f"{count['value']:,}" if isinstance(count, dict) else "—",
            "Headline test metrics (95% CI)": " · ".join(
                f"{metric_label(name)} {headline[name]}" for name in ordered) or "not measured",
            "Targets": targets_text(card),
        })
    return pd.DataFrame(rows)


def model_card_section(card: ModelCard) -> None:
    """A short summary of the model card (intended use, headline test metrics, targets)
    and a link to the card in full and its test report on the Models page."""
    from dxui.navigation import MODELS

    st.subheader("About the model")
    st.caption(f"{card['name']} · model id `{card.id}` · card dated {card['date']}")
    metrics_column, use_column = st.columns([1, 1], gap="large")
    with metrics_column:
        st.markdown("**Performance on the held-out test set**")
        headline = card.headline()
        if headline:
            st.markdown("\n".join(f"- {metric_label(name)} {value}"
                                   for name, value in headline.items()))
            st.caption("95% bootstrap confidence intervals in brackets.")
        else:
            st.info("This model has not been measured on its test set yet.")
        checks = card.target_checks()
        if checks:
            st.markdown(f"**Targets on the test set:** {targets_text(card)}.")
    with use_column:
        st.markdown("**Intended use**")
        st.markdown(clinical(card["intended_use"]))
        limitations = card["limitations"]
        if limitations:
            st.caption(f"{len(limitations)} limitations are stated in the card; read them "
                       "before using its outputs.")
    st.page_link(MODELS.path, label="The model card in full, with its test report",
                 icon=":material/arrow_forward:", query_params={"model": card.id})
