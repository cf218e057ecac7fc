"""Models page parts: a shipped model's card in full (every field, in words and tables) and
its test report (:mod:`dxcore.reports`, the file beside the card): the ROC curve with the
operating point, the reliability diagram before and after temperature scaling, the
confusion matrix under the card's rule, prediction-set coverage, the domain guard's rates
and a gallery of the test cases it got most confidently wrong (read from the dataset, in
place, when it is present)."""

from __future__ import annotations

import re
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from dxcore import DxError
from dxcore.cards import ModelCard, metric_label
from dxcore.contract import DecisionRule
from dxcore.datasets import data_dir
from dxcore.registry import recipe_for
from dxcore.reports import read_report
from dxcore.wording import probability_text
from dxui.common import card_metrics_table, clinical, show_error
from dxui.results import CACHE_SECONDS, rule_text

CHART_PX = 320
ROC_X_TITLE = "False-positive rate (1 - specificity)"
ROC_Y_TITLE = "Sensitivity (true positive rate)"
THUMBNAILS_PER_ROW = 4
THUMBNAIL_PX = 180
BEAT_SECONDS = 0.6  # either side of a failed beat's R peak
ROW_COLUMNS_SHOWN = 14  # a gene profile's first probes; a clinical record in full
NO_REPORT = ("No test report stored for this model: `python -m dxcore evaluate {id} --store` "
             "writes it beside the card (the curves, the confusion matrix and the failures).")
# ECG case ids name the MIT-BIH record and the beat's sample: "record 233 sample 12345".
BEAT_ID = re.compile(r"^\D*(?P<record>\d+)\D+(?P<sample>\d+)$")


def chosen_card(cards: list[ModelCard]) -> ModelCard:
    """The model picked on the page (``?model=<id>`` from another page's link picks it)."""
    ids = [card.id for card in cards]
    asked = st.query_params.get("model")
    choice = st.selectbox("Model", ids, index=ids.index(asked) if asked in ids else 0,
                          format_func=lambda i: f"{cards[ids.index(i)]['name']} ({i})",
                          key="models_choice")
    st.query_params["model"] = choice
    return cards[ids.index(choice)]


# --- The card in full -----------------------------------------------------------------------


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def card_section(card: ModelCard) -> None:
    """Every field of the card, readable: what it is for, its data, methods, runtime rule,
    test metrics with targets and every measurement made on its test split."""
    st.header(card["name"])
    st.caption(" · ".join(part for part in (
        f"model id `{card.id}`", f"modality {card['modality']}", f"card dated {card['date']}",
        f"model licence {card['licence'] or 'not stated'}", card.get("architecture")) if part))
    st.markdown(f"**Task.** {card['task']}")
    use_column, limits_column = st.columns(2, gap="large")
    use_column.markdown(f"**Intended use.** {card['intended_use']}")
    if card["limitations"]:
        limits_column.markdown("**Limitations**\n\n"
                               + _bullets([clinical(item) for item in card["limitations"]]))
    training_data_section(card)
    methods_section(card)
    runtime_section(card)
    metrics_section(card)


def training_data_section(card: ModelCard) -> None:
    data = card["training_data"]
    st.subheader("Training data")
    licence = data["licence"] or "not stated by its source"
    lines = [f"**{data['dataset']}** (`{data['dataset_id']}`), licence {licence}"
             + (f": {data['licence_note']}" if data.get("licence_note") else "") + ".",
             f"**Split.** {clinical(data['split'])}"]
    st.markdown("\n\n".join(lines))
    st.markdown("**References**\n\n" + _bullets(data["references"]))


def methods_section(card: ModelCard) -> None:
    methods = card.get("methods") or {}
    if not methods:
        return
    st.subheader("Methods")
    for name, text in methods.items():
        title = name.replace("_", " ").capitalize()
        if isinstance(text, str):
            st.markdown(f"**{title}.** {clinical(text)}")
        elif isinstance(text, list):
            st.markdown(f"**{title}**\n\n" + _bullets([clinical(str(item)) for item in text]))
        else:
            with st.expander(title):
                st.json(text)


def runtime_section(card: ModelCard) -> None:
    """The rule and parameters inference applies, as the card states them."""
    st.subheader("Runtime decision rule")
    rule = DecisionRule.from_card(card)
    lines = [f"Decision: {rule_text(rule)}.",
             f"Calibration: the logits are divided by the temperature {card.temperature:.3g} "
             "before the softmax."]
    conformal = card.conformal
    if conformal is not None:
        for level, floors in conformal["min_probability"].items():
            members = ", ".join(f"{name} from P = {probability_text(p, 3)}"
                                for name, p in floors.items())
            lines.append(f"Prediction sets at {float(level):.0%}: a class is in the set "
                         f"{members}" + (" (the level the pages show)"
                                         if float(level) == conformal["coverage"] else "") + ".")
    else:
        lines.append("Prediction sets: not calibrated for this model.")
    st.markdown(_bullets(lines))


def metrics_section(card: ModelCard) -> None:
    st.subheader("Test metrics")
    table = card_metrics_table(card)
    if table.empty:
        st.info("This model has not been measured on its test set yet.")
    else:
        st.table(table, hide_index=True, border="horizontal")
    site_section(card)
    checks = card.target_checks()
    if checks:
        st.markdown("**Targets on the test set**\n\n" + _bullets([
            f"{'met' if check.met else '**missed**'}: "
            f"{check.describe(metric_label(check.metric))}" for check in checks]))
    evaluations = card.get("test_evaluations") or []
    st.markdown(f"**Measurements made on the test split: {len(evaluations)}**")
    if evaluations:
        st.table(pd.DataFrame([{
            "Date": e["date"], "Recipe": clinical(e["recipe"]), "Purpose": clinical(e["purpose"]),
            "Shipped": "yes" if e.get("shipped") else "no"} for e in evaluations]),
            hide_index=True, border="horizontal")
    st.caption("Every measurement is counted: the test split may inform no choice.")


def site_table(card: ModelCard) -> pd.DataFrame | None:
    """The test AUC at each site (``test_metrics.by_site``, written by
    ``scripts/federated_heart.py test``): a row per training recipe, a column per site;
    None for a card without them.

    >>> from types import SimpleNamespace
    >>> auc = {"value": 0.9, "ci95": [0.8, 0.95], "n": 76, "positives": 35}
    >>> card = SimpleNamespace(get=lambda key, default=None: {"by_site": {"auc": {
    ...     "cleveland-only (shipped)": {"cleveland": auc}}}})
    >>> site_table(card).to_dict("records")
    [{'Trained on': 'cleveland-only (shipped)', 'Cleveland (76 cases)': '0.900 (0.800–0.950)'}]
    """
    by_site = (card.get("test_metrics") or {}).get("by_site")
    if not by_site:
        return None
    rows = []
    for recipe, sites in by_site["auc"].items():
        row = {"Trained on": recipe}
        for site, auc in sites.items():
            low, high = auc["ci95"]
            row[f"{site.capitalize()} ({auc['n']} cases)"] = (
                f"{auc['value']:.3f} ({low:.3f}–{high:.3f})")
        rows.append(row)
    return pd.DataFrame(rows)


def site_section(card: ModelCard) -> None:
    """Per-site test AUCs, where the card has them (the heart-disease sites)."""
    table = site_table(card)
    if table is None:
        return
    by_site = card["test_metrics"]["by_site"]
    st.markdown("**AUC at each site** (95% bootstrap CI)")
    st.table(table, hide_index=True, border="horizontal")
    st.caption(f"{clinical(by_site['note'])}. Measured {by_site['date']} by "
               f"`{by_site['command']}`.")


# --- Prediction sets and the domain guard (stored with the test metrics) --------------------


def coverage_statements(prediction_sets: dict[str, Any]) -> list[str]:
    """Each level's test coverage in words, saying where it falls short of nominal.

    >>> coverage_statements({"0.9": {"coverage": {"value": 0.85, "ci95": [0.8, 0.9]},
    ...     "non_singleton_share": {"value": 0.3}, "cases": 100,
    ...     "coverage_by_class": {"A": 0.95, "B": 0.7}}})[0].split(": ")[0]
    'At 90% nominal coverage, the sets held the true class in 85.0% of 100 test cases'
    """
    lines = []
    for level, report in prediction_sets.items():
        nominal = float(level)
        coverage, cases = report["coverage"], report["cases"]
        low, high = coverage["ci95"]
        text = (f"At {nominal:.0%} nominal coverage, the sets held the true class in "
                f"{coverage['value']:.1%} of {cases} test cases: ")
        if coverage["value"] < nominal:
            text += (f"**short of the promised {nominal:.0%}** (95% CI {low:.1%}–{high:.1%}); "
                     "on cases like these the sets are less reliable than they claim")
        else:
            text += f"as promised (95% CI {low:.1%}–{high:.1%})"
        short = [f"{name} {value:.1%}" for name, value in report["coverage_by_class"].items()
                 if value < nominal]
        if short:
            text += f"; below nominal for {', '.join(short)}"
        lines.append(text + f". {report['non_singleton_share']['value']:.1%} of the sets held "
                            "more than one class.")
    return lines


def prediction_sets_section(card: ModelCard) -> None:
    st.subheader("Prediction sets on the test split")
    measured = (card.get("test_metrics") or {}).get("prediction_sets")
    if not measured:
        st.markdown("Coverage not measured on the test split"
                    + ("." if card.conformal is not None else
                       " (this model has no prediction sets)."))
        return
    st.markdown(_bullets(coverage_statements(measured)))


def domain_guard_rows(measured: dict[str, Any]) -> pd.DataFrame:
    """The domain guard's stored rates, one row each (value, and CI where stored)."""
    rows = []
    for name, value in measured.items():
        if isinstance(value, dict) and "value" in value:
            interval = value.get("ci95")
            shown = value["value"]
            rows.append({"Measure": name.replace("_", " "),
                         "Value": f"{shown:.3f}" if isinstance(shown, float) else str(shown),
                         "95% CI": f"{interval[0]:.3f}–{interval[1]:.3f}" if interval else ""})
        elif isinstance(value, int | float | str):
            rows.append({"Measure": name.replace("_", " "), "Value": str(value), "95% CI": ""})
    return pd.DataFrame(rows, columns=["Measure", "Value", "95% CI"])


def domain_guard_section(card: ModelCard) -> None:
    st.subheader("Domain guard")
    measured = (card.get("test_metrics") or {}).get("domain_guard")
    if not measured:
        st.markdown("Acceptance and refusal rates: not measured.")
        return
    rows = domain_guard_rows(measured) if isinstance(measured, dict) else pd.DataFrame()
    if rows.empty:
        st.json(measured, expanded=False)
    else:
        st.table(rows, hide_index=True, border="horizontal")
    st.caption("How often the guard accepts test inputs of the model's own kind, and refuses "
               "inputs of other kinds, as stored with the test metrics.")


# --- The test report ------------------------------------------------------------------------


def report_section(card: ModelCard) -> None:
    """The stored test report's charts, tables and gallery, or why there is none."""
    st.subheader("Test report")
    report, problem = read_report(card)
    if report is None:
        if card.get("test_report") is None:
            st.info(NO_REPORT.format(id=card.id), icon=":material/info:")
        else:
            st.warning(problem, icon=":material/report:")
        return
    st.caption(f"{report['source']}, {report['cases']:,} cases, under the card's rule and "
               "temperature.")
    roc_column, reliability_column = st.columns(2, gap="large")
    with roc_column:
        st.markdown("**ROC curve**")
        st.altair_chart(roc_chart(report, card), width="stretch")
        st.caption("The dot is the operating point: sensitivity and specificity under the "
                   "card's decision rule.")
    with reliability_column:
        st.markdown("**Reliability**")
        st.altair_chart(reliability_chart(report), width="stretch")
        before, after = report["reliability"]["before"], report["reliability"]["after"]
        st.caption(f"Observed frequency against the predicted {after['predicted']}, in ten "
                   f"bins; on the diagonal a probability means what it says. Calibration "
                   f"error {before['ece']:.3f} before temperature scaling, {after['ece']:.3f} "
                   f"after (temperature {report['temperature']:.3g}).")
    st.markdown("**Confusion matrix under the card's rule**")
    st.table(confusion_table(report), border="horizontal")
    failures_section(card, report)


def curve_label(card: ModelCard, name: str, roc: dict[str, Any]) -> str:
    """A ROC curve's name in the legend. The curve of the class the card's test AUC is of
    (a binary model's positive class, or a class with its own ``<class>_auc``) shows that
    AUC with its 95% CI, as the card, the pages and the README show it: the report's own
    AUC, stored rounded to four digits, rounded again to three could differ (0.9615 read
    0.962 beside the card's 0.961). A one-vs-rest curve the card gives no AUC shows the
    report's, over every test case.

    >>> from pathlib import Path
    >>> card = ModelCard({"class_names": ["no", "yes"], "runtime": {"decision": {
    ...     "positive_class": "yes", "threshold": 0.5}}, "test_metrics": {"auc": {
    ...     "value": 0.96145, "ci95": [0.94615, 0.97398]}}}, Path("."))
    >>> curve_label(card, "yes", {"auc": 0.9615})
    'yes: AUC 0.961 (0.946-0.974)'
    >>> curve_label(card, "no", {"auc": 0.8123})  # a class the card gives no AUC
    'no: AUC 0.812'
    """
    rule = DecisionRule.from_card(card)
    binary = rule.log_offsets is None and name == rule.positive_class
    stated = card.metric_text("auc" if binary else f"{name}_auc")
    if stated is not None:
        return f"{name}: AUC {stated}"
    return f"{name}: AUC {roc['auc']:.3f}"


def roc_frame(report: dict[str, Any], card: ModelCard) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The curves' points and the operating points, one class per series."""
    curves, points = [], []
    for name, roc in report["roc"].items():
        if not roc["fpr"]:
            continue
        series = curve_label(card, name, roc)
        curves.append(pd.DataFrame({"Class": series, "False-positive rate": roc["fpr"],
                                    "Sensitivity": roc["tpr"]}))
        point = report["operating_points"][name]
        points.append({"Class": series, "False-positive rate": 1 - point["specificity"],
                       "Sensitivity": point["sensitivity"],
                       "Operating point": f"sensitivity {point['sensitivity']:.3f}, "
                                          f"specificity {point['specificity']:.3f}"})
    return pd.concat(curves, ignore_index=True), pd.DataFrame(points)


def roc_chart(report: dict[str, Any], card: ModelCard) -> alt.LayerChart:
    curves, points = roc_frame(report, card)
    x = alt.X("False-positive rate:Q", title=ROC_X_TITLE, scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("Sensitivity:Q", title=ROC_Y_TITLE, scale=alt.Scale(domain=[0, 1]))
    colour = alt.Color("Class:N", title=None, legend=alt.Legend(orient="bottom"))
    # The chance diagonal on the same fields and axes: a field of its own would add its
    # name to the shared axis titles (the y axis read "a, Sensitivity").
    chance = alt.Chart(pd.DataFrame({"False-positive rate": [0, 1], "Sensitivity": [0, 1]})
                       ).mark_line(strokeDash=[4, 4], color="#999999").encode(x=x, y=y)
    lines = alt.Chart(curves).mark_line().encode(x=x, y=y, color=colour)
    dots = alt.Chart(points).mark_point(filled=True, size=120, opacity=1).encode(
        x=x, y=y, color=colour, tooltip=["Class", "Operating point"])
    return alt.layer(chance, lines, dots).properties(height=CHART_PX)


def reliability_frame(report: dict[str, Any]) -> pd.DataFrame:
    parts = []
    for when, label in (("before", "before (temperature 1)"),
                        ("after", f"after (temperature {report['temperature']:.3g})")):
        bins = pd.DataFrame(report["reliability"][when]["bins"])
        if not bins.empty:
            parts.append(bins.assign(Calibration=label))
    return pd.concat(parts, ignore_index=True)


def reliability_chart(report: dict[str, Any]) -> alt.LayerChart:
    frame = reliability_frame(report)
    x = alt.X("mean_predicted:Q", title="Mean predicted probability",
              scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("observed:Q", title="Observed frequency", scale=alt.Scale(domain=[0, 1]))
    colour = alt.Color("Calibration:N", title=None, legend=alt.Legend(orient="bottom"),
                       scale=alt.Scale(range=["#ff7f0e", "#1f77b4"]))
    diagonal = alt.Chart(pd.DataFrame({"a": [0, 1]})).mark_line(
        strokeDash=[4, 4], color="#999999").encode(x="a:Q", y="a:Q")
    lines = alt.Chart(frame).mark_line(point=True).encode(
        x=x, y=y, color=colour,
        tooltip=["Calibration", alt.Tooltip("mean_predicted:Q", title="Predicted"),
                 alt.Tooltip("observed:Q", title="Observed"), alt.Tooltip("cases:Q")])
    return alt.layer(diagonal, lines).properties(height=CHART_PX)


def confusion_table(report: dict[str, Any]) -> pd.DataFrame:
    matrix = report["confusion_matrix"]
    classes = matrix["classes"]
    return pd.DataFrame(matrix["counts"], index=[f"True {c}" for c in classes],
                        columns=[f"Decided {c}" for c in classes])


# --- The failures ---------------------------------------------------------------------------


def failures_table(failures: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{"Case": f["case_id"], "True class": f["true_class"],
                          "Decided": f["predicted"],
                          "P(decided)": probability_text(f["probability"]),
                          "P(true class)": probability_text(f["probability_of_true_class"])}
                         for f in failures],
                        columns=["Case", "True class", "Decided", "P(decided)",
                                 "P(true class)"])


def failures_section(card: ModelCard, report: dict[str, Any]) -> None:
    """The most confidently wrong test cases, with their images, beats or rows when the
    dataset is present."""
    failures = report["failures"]
    st.markdown(f"**The {len(failures)} test cases it got most confidently wrong**")
    if not failures:
        st.markdown("None: every test case was decided right.")
        return
    st.table(failures_table(failures), hide_index=True, border="horizontal")
    gallery = {"image": image_gallery, "ecg": beat_gallery, "record": row_gallery}.get(
        card["modality"])
    if gallery is None:
        return
    try:
        gallery(card, failures)
    except DxError:  # the dataset is not there
        st.info(f"The thumbnails need the dataset ({card['training_data']['dataset']}), "
                f"which is not in {data_dir()}; the cases are listed above by id.",
                icon=":material/image_not_supported:")
    except Exception as error:
        show_error(error)


def _caption(failure: dict[str, Any]) -> str:
    return (f"{failure['case_id']}: true {failure['true_class']}, decided "
            f"{failure['predicted']} (P = {probability_text(failure['probability'])})")


def _dataset_folder(card: ModelCard) -> Any:
    """The card's dataset folder under :func:`dxcore.datasets.data_dir`; DxError if absent."""
    folder = data_dir() / card["training_data"].get("data_folder", "")
    if not folder.is_dir():
        raise DxError(f"{folder} is missing.")
    return folder


def image_gallery(card: ModelCard, failures: list[dict[str, Any]]) -> None:
    folder = _dataset_folder(card)
    for start in range(0, len(failures), THUMBNAILS_PER_ROW):
        row = failures[start:start + THUMBNAILS_PER_ROW]
        for column, failure in zip(st.columns(THUMBNAILS_PER_ROW), row, strict=False):
            path = folder / failure["case_id"]
            if not path.is_file():
                raise DxError(f"{path} is missing.")
            column.image(str(path), width=THUMBNAIL_PX, caption=_caption(failure))


@st.cache_data(ttl=CACHE_SECONDS, show_spinner="Reading the beats from the dataset…")
def _beat_traces(folder: str, beats: tuple[tuple[str, int], ...]) -> list[pd.DataFrame]:
    """Each (record, sample)'s lead MLII around the beat, in ms from the R peak."""
    from dxcore.ecg import mitdb

    traces = []
    for record_name, sample in beats:
        record = mitdb.read_record(record_name, folder)
        _, signal, _ = record.lead(mitdb.LEAD)
        half = int(BEAT_SECONDS * record.fs)
        first, last = max(0, sample - half), min(len(signal), sample + half)
        traces.append(pd.DataFrame({"ms": (np.arange(first, last) - sample) / record.fs * 1e3,
                                    "mV": signal[first:last]}))
    return traces


def beat_gallery(card: ModelCard, failures: list[dict[str, Any]]) -> None:
    matches = [BEAT_ID.match(f["case_id"]) for f in failures]
    if not all(matches):
        st.caption("The beats cannot be drawn: their case ids do not name a record and "
                   "sample.")
        return
    folder = _dataset_folder(card)
    beats = tuple((m["record"], int(m["sample"])) for m in matches)
    traces = _beat_traces(str(folder.parent), beats)
    for start in range(0, len(failures), THUMBNAILS_PER_ROW):
        row = list(zip(failures, traces, strict=True))[start:start + THUMBNAILS_PER_ROW]
        for column, (failure, trace) in zip(st.columns(THUMBNAILS_PER_ROW), row,
                                            strict=False):
            column.altair_chart(alt.Chart(trace).mark_line(color="#222222").encode(
                x=alt.X("ms:Q", title="ms from R"), y=alt.Y("mV:Q", title=None)).properties(
                height=120, title=alt.TitleParams(_caption(failure), fontSize=10)),
                width="stretch")


def record_test_table(model_id: str) -> pd.DataFrame:
    """The record model's test table as its recipe splits it, indexed by dataset row."""
    return recipe_for(model_id).split()[2]  # every record recipe: (train, y, test, y_test)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner="Reading the rows from the dataset…")
def _record_rows(model_id: str, rows: tuple[int | str, ...], folder: str) -> pd.DataFrame:
    # ``folder`` keys the cache on where the dataset is read from.
    table = record_test_table(model_id)
    return table.loc[list(rows)]


def _row_key(case_id: str) -> int | str:
    """A failure's row in its recipe's test table: "row 17" is row 17; "row hungary row
    17" is the row labelled "hungary row 17" (a table joined from several sites).

    >>> _row_key("row 17"), _row_key("row hungary row 17")
    (17, 'hungary row 17')
    """
    key = case_id.removeprefix("row ")
    return int(key) if key.isdigit() else key


def row_gallery(card: ModelCard, failures: list[dict[str, Any]]) -> None:
    rows = tuple(_row_key(f["case_id"]) for f in failures)
    values = _record_rows(card.id, rows, str(data_dir()))
    shown = values.iloc[:, :ROW_COLUMNS_SHOWN]
    table = pd.concat([failures_table(failures)[["Case", "True class", "Decided"]]
                       .set_index(values.index), shown.astype(str)], axis=1)
    st.markdown("**Their values, as in the dataset file**")
    st.dataframe(table, hide_index=True)
    if values.shape[1] > ROW_COLUMNS_SHOWN:
        st.caption(f"The first {ROW_COLUMNS_SHOWN} of {values.shape[1]:,} columns.")
