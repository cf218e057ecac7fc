"""The case-record verdict (issue 27): the predicted class in full, never cut ("acute
lymphob…" in an st.metric), and its probability bars in two thirds of the box beside it,
their data the case's probabilities, for the leukaemia, kidney and heart models; the bars of
many classes as of two."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dxcore.contract import DecisionRule, Result
from dxui.results import probability_chart
from tests.app_pages.conftest import chart_frames, is_probability_chart, open_app, verdicts
from tests.app_pages.test_records import PAGE


def upload(app: AppTest, name: str, data: bytes) -> AppTest:
    app.file_uploader[0].set_value((name, data, "text/csv"))
    return app.run()


def bars_column(app: AppTest):
    """The column that holds the probability bars."""
    [column] = [column for column in app.columns
                if any(is_probability_chart(chart) for chart in column.get("vega_lite_chart"))]
    return column


def bar_data(app: AppTest) -> dict[str, float]:
    [frame] = [frame for chart in app.get("vega_lite_chart") if is_probability_chart(chart)
               for frame in chart_frames(chart) if "Decided" in frame.columns]
    return dict(zip(frame["Class"], frame["Probability"], strict=True))


def one_case(model_id: str, dataset) -> tuple[str, bytes]:
    """The first test case of the model's dataset as a CSV upload."""
    if model_id == "leukemia-golub":
        from dxcore.datasets import golub

        dataset("golub")
        table, _ = golub.official_split("test")
        return "profile.csv", table.head(1).to_csv(index=False).encode()
    from dxcore.datasets import ckd, heart_disease

    dataset({"ckd": "ckd", "heart-disease": "heart_disease"}[model_id])
    table, _ = {"ckd": ckd, "heart-disease": heart_disease}[model_id].load()
    return "case.csv", table.head(1).fillna("").to_csv(index=False).encode()


@pytest.mark.parametrize("model_id", ["leukemia-golub", "ckd", "heart-disease"])
def test_the_verdict_names_the_class_in_full_beside_bars_of_its_probabilities(
        shipped_model, dataset, model_id):
    model = shipped_model(model_id)
    name, data = one_case(model_id, dataset)
    page = upload(open_app(PAGE), name, data)
    assert not page.exception and not page.error, [e.value for e in page.error]

    [case] = model.predict({name: data}).detail.results
    card = model.card
    labels = {card.class_label(code) for code in card.class_names}
    [verdict] = verdicts(page)
    decided = verdict.removeprefix("uncertain: ")
    assert decided in labels or all(label in decided for label in labels)
    if model_id == "leukemia-golub":  # the label the metric cut to "acute lymphob…"
        assert decided.startswith("acute l") or decided.startswith("acute m")
        assert "leukaemia (A" in verdict
    # One bar per class, each the case's probability (the decided class's as shown).
    shown = bar_data(page)
    assert len(shown) == len(card.class_names)
    assert sorted(shown.values()) == pytest.approx(sorted(case.probabilities.values()),
                                                   abs=1e-6)
    # The bars have two thirds of the box; the verdict and the atypicality the rest.
    assert bars_column(page).weight == pytest.approx(2 / 3)
    [verdict_column] = [column for column in page.columns
                        if verdicts(column) and column is not bars_column(page)]
    assert [metric.label for metric in verdict_column.metric] == ["Atypicality (percentile)"]


def test_bars_of_many_classes_are_one_per_class_with_its_probability():
    names = ["N", "S", "V", "F", "Q", "U"]
    probabilities = np.array([[0.05, 0.1, 0.5, 0.15, 0.12, 0.08]])
    rule = DecisionRule(names, log_offsets=dict.fromkeys(names, 0.0))
    result = Result("not-installed", rule, probabilities, rule.decide(probabilities), {},
                    np.zeros((1, 1)), detail=None, notes=[])
    chart = probability_chart(result, 0).to_dict()
    [frame] = [data for data in chart["datasets"].values() if "Decided" in data[0]]
    assert [row["Probability"] for row in frame] == pytest.approx(probabilities[0].tolist())
    assert [row["Decided"] for row in frame] == [name == "V" for name in names]
    assert chart["height"] == {"step": 34}  # each class its row, however many
