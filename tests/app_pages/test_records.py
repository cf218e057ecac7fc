"""The case-record page: a CSV of several cases (table, drill-down, download), a JSON case,
the form, bad files (absurd values, not a CSV, columns of no model), an unexpected failure,
and the page without any record model."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dxcore.records import Field, RecordModel
from dxui import records
from dxui.common import NOTICE, UNEXPECTED_ERROR
from dxui.navigation import TASK_PAGES
from tests.app_pages.conftest import (
    assert_targets_warned,
    chart_frames,
    open_app,
    other_charts,
    probability_bars,
    shown,
    verdicts,
)
from tests.app_pages.test_chest_xray import rendered_text

PAGE = "app_pages/records.py"
HEADER = "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal"
# Plausible made-up findings (not patients of the dataset): two cases with the pattern of
# angiographic disease, two without.
CASES = [
    "58,1,4,140,260,0,2,118,1,2.6,2,2,7",
    "44,0,3,118,210,0,0,172,0,0.0,1,0,3",
    "66,1,4,150,290,1,2,110,1,3.1,2,3,7",
    "52,0,2,128,225,0,0,160,0,0.4,1,0,3",
]
NEAR_THRESHOLD = "60,1,3,140,250,0,2,140,0,1.5,2,1,3"  # made up; P(heart disease) about 0.57
AGE_430 = "Age (years): 430 is outside the plausible range 18 to 110 years."


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def upload(app: AppTest, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    app.file_uploader[0].set_value((name, data, mime))
    return app.run()


def charts(app: AppTest) -> list[dict]:
    """The Vega-Lite specs of the page's charts but the probability bars, in page order."""
    return [json.loads(chart.proto.spec) for chart in other_charts(app)]


def chart_rows(app: AppTest, index: int = 0) -> pd.DataFrame:
    """The data of the page's ``index``-th chart but the probability bars."""
    return chart_frames(other_charts(app)[index])[0]


def subheaders(app: AppTest) -> list[str]:
    return [header.value for header in app.subheader]


@pytest.fixture
def page(heart_card) -> AppTest:
    return open_app(PAGE)


def test_navigation_lists_the_record_page():
    [spec] = [page for page in TASK_PAGES if page.path == PAGE]
    assert spec.model_id is None  # it serves every record model of the registry
    assert "heart disease" in spec.summary.lower() and "kidney" in spec.summary.lower()


def test_page_opens_with_notice_uploader_and_the_record_models(page, heart_card):
    assert not page.exception
    assert not page.error
    assert any(NOTICE in warning.value for warning in page.warning)
    assert page.radio[0].options == [records.UPLOAD, records.FORM]
    assert page.selectbox[0].value == records.MATCH
    assert not page.file_uploader[0].allowed_type  # any file: the page checks the type
    assert "Case-record models" in subheaders(page)
    assert "heart-disease" in list(page.table[0].value["ID"])
    assert not page.metric and not page.dataframe


def test_csv_of_several_cases_shows_table_drill_down_and_download(page, heart_card):
    upload(page, "cases.csv", csv_bytes(*CASES))

    assert not page.exception
    assert not page.error
    assert any("`heart-disease`" in info.value for info in page.info)  # matched by columns
    table = page.dataframe[0].value
    assert list(table.columns) == ["Row", "Prediction", "P(heart disease)", "Atypicality",
                                   "Unlike the cohort", "Error"]
    assert list(table["Row"]) == [1, 2, 3, 4]
    assert set(table["Prediction"]) <= set(heart_card.class_names)
    assert table["P(heart disease)"].between(0, 1).all()
    assert table["Atypicality"].between(0, 100).all()
    # The made-up disease pattern scores above the made-up healthy one.
    probability = table.set_index("Row")["P(heart disease)"]
    assert min(probability[1], probability[3]) > max(probability[2], probability[4])
    # The results' download (beside the case-file templates' downloads, dxui.records)
    [download] = [button for button in page.get("download_button")
                  if button.proto.label == "Download the results (CSV)"]

    picker = page.selectbox[1]
    assert picker.label == "Case to look at" and len(picker.options) == 4
    assert "Case: row 1" in subheaders(page)
    picker.set_value(3).run()
    assert not page.exception
    assert "Case: row 3" in subheaders(page)
    assert [metric.label for metric in page.metric] == ["Atypicality (percentile)"]
    assert verdicts(page) == [table.set_index("Row").loc[3, "Prediction"]]
    [attributions] = charts(page)
    assert attributions["encoding"]["x"]["title"] == "Attribution (log-odds of heart disease)"
    fields = list(chart_rows(page)["Field"])
    assert len(fields) == 13 and "ST depression: 3.1 mm" in fields
    assert "the probability of heart disease." in rendered_text(page)
    assert "About the model" in subheaders(page)
    assert_targets_warned(page, heart_card)  # it meets them: no warning


def test_results_download_is_the_batch_table():
    from dxcore.records import CaseBatch, CaseResult

    batch = CaseBatch("m", [CaseResult(1, {}, probabilities={"no": 0.2, "yes": 0.8},
                                       prediction="yes", atypicality=40.0),
                            CaseResult(2, {}, error="Row 2, bad.")], [])
    lines = records.results_csv(batch).decode().splitlines()
    assert lines == ["row,prediction,p(no),p(yes),atypicality,error",
                     "1,yes,0.2,0.8,40.0,", "2,,,,,\"Row 2, bad.\""]


def test_chosen_model_notes_and_imputed_values(page):
    page.selectbox[0].set_value("heart-disease").run()
    header = HEADER.replace(",fbs", "") + ",comment"  # no fbs column, one unknown column
    upload(page, "cases.csv", csv_bytes("61,1,4,?,250,0,140,1,1.5,2,1,7,first visit",
                                        "49,0,3,120,200,0,165,0,0.0,1,0,3,", header=header))

    assert not page.exception
    assert not page.error, page.error[0].value
    notes = [shown(info.value) for info in page.info]
    assert "Ignored 1 column this model does not use: comment." in notes
    assert "Not in the file, so every case is answered without them: fbs." in notes
    assert not any(note.startswith("Matched by") for note in notes)
    assert any(note.startswith("Not recorded: ") and "Resting blood pressure" in note
               for note in notes)  # row 1's "?": the model reads that it was not recorded


def test_one_json_case_shows_the_single_case_view(page, heart_card):
    case = dict(zip(HEADER.split(","), CASES[0].split(","), strict=True))
    upload(page, "case.json", json.dumps(case).encode(), "application/json")

    assert not page.exception
    assert not page.error
    assert not page.dataframe  # no table of cases for one case
    assert "Result" in subheaders(page)
    [verdict] = verdicts(page)
    assert verdict.removeprefix("uncertain: ") in heart_card.class_names or " or " in verdict
    [bars] = probability_bars(page)
    assert [text.rsplit(" ", 2)[0] for text in bars] == [f"P({n})" for n in heart_card.class_names]
    threshold = f"{heart_card.threshold:.2f}"
    assert f"heart disease if P(heart disease) ≥ {threshold}" in rendered_text(page)
    assert list(page.table[0].value.columns) == ["Field", "Value", "Deviation (SD)"]


def test_the_form_asks_for_a_model_before_showing_any_fields(page, heart_card, ckd_card):
    """No model preselected (it was CKD, the registry's first): the form's fields follow
    the model the user picks."""
    page.radio[0].set_value(records.FORM).run()

    assert not page.exception
    assert page.selectbox(key="records_model_form").value is None
    assert not page.number_input and not page.button
    assert any(info.value.startswith("Choose a model") for info in page.info)
    assert "Case-record models" in subheaders(page)  # the models to choose from
    page.selectbox(key="records_model_form").set_value("heart-disease").run()
    assert [n.label for n in page.number_input][:1] == ["Age (years)"]


def test_form_entry_gives_a_prediction(page, heart_card):
    page.radio[0].set_value(records.FORM).run()
    page.selectbox[0].set_value("heart-disease").run()
    assert not page.exception
    labels = [number.label for number in page.number_input]
    assert labels[:2] == ["Age (years)", "Resting blood pressure (mm Hg)"]
    assert page.number_input[0].min == 18 and page.number_input[0].max == 110
    assert not page.metric and not verdicts(page)  # nothing before the form is submitted

    values = dict(zip(HEADER.split(","), CASES[2].split(","), strict=True))
    for number in page.number_input:
        name = number.key.rsplit("_", 1)[1]
        if name != "chol":  # left empty: imputed
            number.set_value(float(values[name]))
    for category in page.selectbox[1:]:
        category.set_value(values[category.key.rsplit("_", 1)[1]])
    page.button[0].click().run()

    assert not page.exception
    assert not page.error
    assert verdicts(page) == ["heart disease"]
    assert any(info.value.startswith("Not recorded: ") and "Serum cholesterol"
               in info.value for info in page.info)
    assert len(charts(page)) == 1
    assert "About the model" in subheaders(page)


def test_a_near_threshold_case_shows_its_uncertain_prediction_set(page, heart_card):
    """Made-up findings whose P(heart disease) lies just below the decision threshold."""
    case = dict(zip(HEADER.split(","), NEAR_THRESHOLD.split(","), strict=True))
    upload(page, "case.json", json.dumps(case).encode(), "application/json")

    assert not page.exception
    assert not page.error
    assert verdicts(page) == ["uncertain: no heart disease or heart disease"]
    assert any(warning.value.startswith("**Low confidence.** The 90% prediction set holds "
                                        "no heart disease and heart disease")
               for warning in page.warning)


def test_an_empty_form_gets_the_minimum_fields_message_and_no_prediction(page, ckd_card):
    page.radio[0].set_value(records.FORM).run()
    page.selectbox[0].set_value("ckd").run()
    page.button[0].click().run()

    assert not page.exception
    assert not page.metric  # no prediction
    (error,) = page.error
    # a one-patient form: no "Row 1" in its message
    assert shown(error.value).startswith("Too few findings to answer: 24 of 24 fields are "
                                         "missing")


def test_form_follows_the_chosen_models_schema(page, ckd_card):
    page.radio[0].set_value(records.FORM).run()
    page.selectbox[0].set_value("ckd").run()

    assert not page.exception
    labels = [number.label for number in page.number_input]
    assert "Haemoglobin (g/dl)" in labels and "Urine specific gravity" in labels
    assert len(page.number_input) + len(page.selectbox) - 1 == 24
    assert ckd_card["intended_use"] in [markdown.value for markdown in page.markdown]


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("cases.csv", csv_bytes("430" + CASES[0][2:]), [AGE_430]),
    ("cases.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
     ["cases.csv is not a text file (CSV or JSON)."]),
    ("cases.json", b"{not json", ["cases.json is not valid JSON (Expecting property name "
                                  "enclosed in double quotes, line 1)."]),
])
def test_bad_file_shows_one_clear_error_and_no_result(page, ckd_card, name, data, expected):
    upload(page, name, data)

    assert not page.exception
    assert [shown(error.value) for error in page.error] == expected
    assert not page.metric and not page.get("vega_lite_chart")


def test_columns_of_no_chosen_model_are_refused(page):
    page.selectbox[0].set_value("heart-disease").run()
    upload(page, "other.csv", b"patient,weight\nA,70\nB,81\n")

    assert not page.exception
    [error] = page.error
    assert shown(error.value).startswith("None of the columns this model reads is in the file "
                                  "(it reads age, sex, cp, trestbps, chol and 8 more).")
    assert not page.dataframe


def test_bad_rows_are_listed_and_the_others_still_run(page):
    upload(page, "cases.csv", csv_bytes(CASES[0], "430" + CASES[1][2:], CASES[2]))

    assert not page.exception
    [error] = page.error
    assert shown(error.value).startswith("**1 of 3 cases could not be predicted:**")
    assert "Row 2, Age (years): 430 is outside the plausible range 18 to 110 years." \
        in shown(error.value)
    table = page.dataframe[0].value
    assert table.set_index("Row").loc[2, "Prediction"] == "—"
    assert page.selectbox[1].options[0].startswith("Row 1:")
    assert len(page.selectbox[1].options) == 2


def test_unexpected_failure_shows_a_plain_message_not_a_traceback(page, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("internal detail that must not reach the browser")

    monkeypatch.setattr(RecordModel, "predict", broken)
    # Findings no other test uploads, so that no cached result answers for them.
    upload(page, "odd.csv", csv_bytes("71,1,1,135,199,0,1,128,0,1.1,2,1,3"))

    assert not page.exception
    assert [shown(error.value) for error in page.error] == [UNEXPECTED_ERROR]
    assert "internal detail" not in rendered_text(page)
    assert not page.metric


def test_page_without_record_models_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("DX_MODELS_DIR", str(tmp_path))  # an empty registry
    app = open_app(PAGE)

    assert not app.exception
    assert not app.error
    assert any(NOTICE in warning.value for warning in app.warning)
    assert [info.value for info in app.info] == [records.NO_MODELS]
    assert not app.file_uploader


# --- Helpers that need no Streamlit session -----------------------------------------------


@pytest.mark.parametrize(("low", "high", "step"), [
    (18, 110, 0.1), (1.0, 1.04, 0.0001), (500, 100_000, 100.0), (0, 3, 0.01)])
def test_form_step_follows_the_plausible_range(low, high, step):
    field = Field("x", "X", "numeric", range=(low, high))
    assert records.number_step(field) == pytest.approx(step)


def test_a_flood_of_bad_rows_is_summarised():
    from dxcore.records import CaseBatch, CaseResult

    batch = CaseBatch("m", [CaseResult(row, {}, error=f"Row {row}, bad.") for row in
                            range(1, 31)], [])
    lines = records.errors_markdown(batch).splitlines()
    assert lines[0] == "**30 of 30 cases could not be predicted:**"
    assert lines[1:3] == [r"- Row 1\, bad\.", r"- Row 2\, bad\."]  # escaped: they echo cells
    assert lines[-1] == "- and 10 more: see the Error column of the table."
    assert len(lines) == 22


def test_gene_profiles_are_matched_and_the_missed_targets_named(page, golub_card, dataset):
    from dxcore.datasets import golub

    card = golub_card
    dataset("golub")
    table, _ = golub.official_split("test")
    upload(page, "profiles.csv", table.head(2).to_csv(index=False).encode())

    assert not page.exception
    assert not page.error
    assert any("`leukemia-golub`" in info.value for info in page.info)  # matched by columns
    assert list(page.dataframe[0].value["Row"]) == [1, 2]
    assert_targets_warned(page, card)
    assert len(chart_rows(page)) == records.TOP_PROBES  # the top 20 of 7,129 probes


def test_gene_profiles_show_the_top_20_probes_and_records_every_field():
    from dxcore.records import CaseExplanation, FieldExplanation, Schema

    def explained(n: int) -> tuple[Schema, CaseExplanation]:
        names = [f"p{i}" for i in range(n)]
        schema = Schema.from_json({"fields": [{"names": names, "type": "numeric"}]})
        fields = [FieldExplanation(name, name, "", False, "1", 1.0 / (i + 1), 0.0, False)
                  for i, name in enumerate(names)]
        return schema, CaseExplanation(fields, "AML", 0.0)

    schema, explanation = explained(7129)
    assert [f.name for f in records.top_fields(schema, explanation)] == [
        f"p{i}" for i in range(records.TOP_PROBES)]
    assert not records.form_fits(schema)
    schema, explanation = explained(13)
    assert len(records.top_fields(schema, explanation)) == 13 and records.form_fits(schema)


def test_atypicality_in_plain_words():
    from dxcore.records import CaseResult

    unusual = records.atypicality_sentence(CaseResult(1, {}, atypicality=97.5))
    usual = records.atypicality_sentence(CaseResult(1, {}, atypicality=40.0))
    assert unusual.startswith("**Unlike the training cohort.**")
    assert "at percentile 98 of the training patients'" in unusual
    assert usual.startswith("**Within the training cohort's range:**")
    assert "at percentile 40 of" in usual
