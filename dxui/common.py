"""UI pieces every page uses: the research notice, errors shown without tracebacks, the
cached model loader and model-card tables."""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st
from dxcore.models import DxModel, Prediction

from dxcore import DxError, get_model
from dxcore.cards import ModelCard

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

METRIC_LABELS = {
    "auc": "AUC",
    "accuracy": "Accuracy",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "macro_f1": "Macro F1",
    "ece": "Calibration error (ECE)",
    "misclassified": "Wrongly classified test cases",
}
# The order of the home page's headline metrics; it shows every metric of each card's
# headline() (a card may narrow that with its ``headline_metrics`` list).
HEADLINE_METRICS = ("auc", "accuracy", "sensitivity", "specificity", "macro_f1")
MODALITY_LABELS = {"image": "Image", "ecg": "ECG"}


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
    one (the details go to the server log, never to the browser)."""
    if isinstance(error, DxError):
        st.error(str(error), icon=":material/error:")
    else:
        logger.error("Unexpected error in a page", exc_info=error)
        st.error(UNEXPECTED_ERROR, icon=":material/error:")


@st.cache_resource(show_spinner="Loading the model…")
def load_model(model_id: str) -> DxModel:
    """The model with its weights verified and loaded, once per server process."""
    return get_model(model_id).load()


def threshold_sentence(noun: str, predicted: str, probabilities: dict[str, float],
                       positive: str, threshold: float) -> str:
    """A prediction in one plain sentence, e.g. "The model reads this image as
    **PNEUMONIA**: P(PNEUMONIA) = 0.87, at or above the decision threshold 0.43."
    (more decimals where two would show the probability equal to the threshold)."""
    probability = probabilities[positive]
    digits = next((d for d in (2, 3) if f"{probability:.{d}f}" != f"{threshold:.{d}f}"), 4)
    comparison = "at or above" if probability >= threshold else "below"
    return (f"The model reads this {noun} as **{predicted}**: "
            f"P({positive}) = {probability:.{digits}f}, {comparison} the decision "
            f"threshold {threshold:.{digits}f}.")


def decision_sentence(prediction: Prediction) -> str:
    """An image's prediction in one plain sentence (:func:`threshold_sentence`)."""
    return threshold_sentence("image", prediction.prediction, prediction.probabilities,
                              prediction.positive_class, prediction.threshold)


def probability_bars(probabilities: dict[str, float], positive: str, threshold: float,
                     calibrated_on: str) -> None:
    """One bar per class, then the decision rule and where calibration was fitted."""
    for name, probability in probabilities.items():
        st.progress(probability, text=f"P({name}) = {probability:.2f}")
    st.caption(f"Decision rule: **{positive} if P({positive}) ≥ {threshold:.2f}**. "
               f"Probabilities are calibrated on {calibrated_on} (temperature scaling); the "
               "threshold was chosen there.")


def metric_label(name: str) -> str:
    """``"auc"`` -> ``"AUC"``, ``"S_ppv"`` -> ``"S PPV"``, ``"V_sensitivity"`` ->
    ``"V sensitivity"``."""
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    label, _, measure = name.rpartition("_")
    if label and measure in ("ppv", "f1"):
        return f"{label} {measure.upper()}"
    return name.replace("_", " ")


def card_metrics_table(card: ModelCard) -> pd.DataFrame:
    """The card's test metrics, one row each: value and 95% CI, then ECE and test size.
    Empty when the model has not been measured on its test split yet."""
    metrics = card.get("test_metrics") or {}
    rows = []
    ordered = [name for name in METRIC_LABELS if name in metrics]
    ordered += [name for name in metrics if name not in METRIC_LABELS and name != "n"]
    for name in ordered:
        metric = metrics[name]
        # Cards may also store tables and notes there (an ECG card's confusion matrix).
        if not isinstance(metric, dict) or not isinstance(metric.get("value"), int | float):
            continue
        interval = metric.get("ci95")
        value = metric["value"]
        rows.append({
            "Metric": metric_label(name),
            "Value": f"{value} of {metric['of']}" if "of" in metric else f"{value:.3f}",
            "95% CI": f"{interval[0]:.3f}–{interval[1]:.3f}" if interval else "—",
        })
    count = metrics.get("n")
    if isinstance(count, dict) and "value" in count:
        detail = str(count["value"])
        if "positives" in count:
            positive = card.positive_class
            detail += f" ({count['positives']} {positive})"
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
            "Modality": MODALITY_LABELS.get(card["modality"], str(card["modality"]).title()),
            "Task": card["task"],
            "Test n": f"{count['value']:,}" if isinstance(count, dict) else "—",
            "Headline test metrics (95% CI)": " · ".join(
                f"{metric_label(name)} {headline[name]}" for name in ordered) or "not measured",
            "Targets": targets_text(card),
        })
    return pd.DataFrame(rows)


def model_card_section(card: ModelCard) -> None:
    """Test metrics, intended use and limitations, as the model card states them."""
    st.subheader("About the model")
    st.caption(f"{card['name']} · model id `{card.id}` · card dated {card['date']}")
    metrics_column, use_column = st.columns([1, 1], gap="large")
    with metrics_column:
        st.markdown("**Performance on the held-out test set**")
        table = card_metrics_table(card)
        if table.empty:
            st.info("This model has not been measured on its test set yet.")
        else:
            st.table(table, hide_index=True, border="horizontal")
        checks = card.target_checks()
        if checks:
            st.markdown("**Targets on the test set**")
            st.markdown("\n".join(
                f"- {'met' if check.met else 'missed'}: "
                f"{check.describe(metric_label(check.metric))}" for check in checks))
    with use_column:
        st.markdown("**Intended use**")
        st.markdown(card["intended_use"])
        limitations = card["limitations"]
        if limitations:
            st.markdown("**Limitations**")
            st.markdown("\n".join(f"- {item}" for item in limitations))
        training = card.get("training_data") or {}
        if isinstance(training, dict) and training.get("dataset"):
            st.caption(f"Training data: {training['dataset']}")
