"""The Models page: every shipped model listed with its card in full, the targets a card
misses, and the test report drawn when one is stored beside the card (a copied model in a
temporary models folder; the shipped cards are never re-measured by a test)."""

from __future__ import annotations

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from dxcore.card_writing import write_card
from dxcore.cards import read_card
from dxcore.registry import list_cards
from dxui.models import NO_REPORT, ROC_X_TITLE, ROC_Y_TITLE
from tests.app_pages.conftest import (
    APP,
    TIMEOUT,
    assert_targets_warned,
    chart_frames,
    open_app,
)
from tests.app_pages.test_chest_xray import rendered_text

PAGE = "app_pages/models.py"


def pick(app: AppTest, model_id: str) -> AppTest:
    app.selectbox(key="models_choice").set_value(model_id).run()
    return app


@pytest.fixture
def page(cxr_card) -> AppTest:
    return open_app(PAGE)


@pytest.fixture
def stored_report_dir(tmp_path, heart_model, shipped_test_predictions, monkeypatch):
    """A models folder holding a copy of heart-disease with a test report of its real test
    split (built in memory, then stored beside the copied card)."""
    from dxcore.evaluation import store_test_report
    from dxcore.reports import build_report

    cases = shipped_test_predictions("heart-disease")
    folder = tmp_path / "heart-disease"
    shutil.copytree(heart_model.card.folder, folder)
    card = read_card(folder / "card.json")
    store_test_report(card, build_report(cases, card))
    monkeypatch.setenv("DX_MODELS_DIR", str(tmp_path))
    return tmp_path


def test_page_lists_every_shipped_model_and_shows_each_card(page):
    shipped = [card.id for card in list_cards()]

    assert not page.exception
    assert not page.error
    assert list(page.table[0].value["ID"]) == shipped
    assert page.selectbox(key="models_choice").options == [
        f"{card['name']} ({card.id})" for card in list_cards()]
    for model_id in shipped:
        pick(page, model_id)
        card = next(card for card in list_cards() if card.id == model_id)
        assert not page.exception and not page.error
        assert [header.value for header in page.header] == [card["name"]]
        text = rendered_text(page)
        assert card["training_data"]["split"][:60] in text
        assert card["training_data"]["references"][0][:40] in text
        assert f"Measurements made on the test split: {len(card['test_evaluations'])}" in text
        assert "Runtime decision rule" in [header.value for header in page.subheader]
        assert "Acceptance and refusal rates: not measured." in text or \
            "domain_guard" in card["test_metrics"]
        assert_targets_warned(page, card)


def test_the_ecg_card_reads_in_plain_clinical_words(page, ecg_card):
    """No script names or command-line flags, no "nan", thousands separated."""
    import re

    pick(page, "ecg-beats")
    text = rendered_text(page)
    assert not page.exception and not page.error
    assert not re.search(r"(?<![\w-])--[a-z]|scripts/|python -m|\bnan\b", text), \
        re.search(r".{60}((?<![\w-])--[a-z]|scripts/|python -m|\bnan\b).{60}", text)
    size = ecg_card["test_metrics"]["n"]["value"]
    assert f"{size:,}" in text


def test_a_missed_target_is_named_on_the_card(page, cxr_card):
    pick(page, "cxr-pneumonia")

    missed = cxr_card.unmet_targets()
    assert "**missed**: Accuracy 0.857 (target at least 0.88)" in rendered_text(page)
    assert "AUC 0.961 (target at least 0.97)" in rendered_text(page)
    assert [check.metric for check in missed] == ["auc", "accuracy"]


def test_the_roc_legend_shows_the_cards_test_auc_with_its_interval(page, cxr_card):
    """One AUC figure everywhere: the legend shows the card's AUC and CI, as the card, the
    pages and the README do, not the report's AUC (stored to four digits, 0.9615, it read
    0.962 beside the card's 0.961)."""
    pick(page, "cxr-pneumonia")

    assert not page.exception
    roc = next(chart for chart in page.get("vega_lite_chart")
               if any("False-positive rate" in frame.columns for frame in chart_frames(chart)))
    legend = {series for frame in chart_frames(roc) if "Class" in frame.columns
              for series in frame["Class"]}
    stated = cxr_card.metric_text("auc")
    assert legend == {f"PNEUMONIA: AUC {stated}"}
    assert stated == cxr_card.headline()["auc"]


def test_the_roc_axes_are_titled_by_what_they_measure_alone(page):
    """The chance diagonal once had a field of its own ("a"), which Vega-Lite added to the
    shared axis titles: the y axis read "a, Sensitivity"."""
    pick(page, "cxr-pneumonia")

    assert not page.exception
    roc = next(chart for chart in page.get("vega_lite_chart")
               if any("False-positive rate" in frame.columns for frame in chart_frames(chart)))
    layers = json.loads(roc.proto.spec)["layer"]
    titles = {(axis, layer["encoding"][axis]["field"], layer["encoding"][axis].get("title"))
              for layer in layers for axis in ("x", "y")}
    assert titles == {("x", "False-positive rate", ROC_X_TITLE),
                      ("y", "Sensitivity", ROC_Y_TITLE)}
    assert ROC_Y_TITLE == "Sensitivity (true positive rate)"


def test_without_a_stored_report_the_page_says_so_and_still_shows_the_card(
        tmp_path, cxr_card, monkeypatch):
    folder = tmp_path / "cxr-pneumonia"
    shutil.copytree(cxr_card.folder, folder)
    fields = json.loads((folder / "card.json").read_text())
    fields.pop("test_report", None)  # the shipped card's own report, set aside
    (folder / "test_report.json").unlink(missing_ok=True)
    write_card(fields, folder)
    monkeypatch.setenv("DX_MODELS_DIR", str(tmp_path))
    page = open_app(PAGE)
    pick(page, "cxr-pneumonia")

    assert NO_REPORT.format(id="cxr-pneumonia") in [info.value for info in page.info]
    assert not page.get("vega_lite_chart")
    assert cxr_card["intended_use"] in rendered_text(page)


def test_a_stored_report_draws_curves_confusion_matrix_and_failures(stored_report_dir):
    app = open_app(PAGE)
    card = read_card(stored_report_dir / "heart-disease" / "card.json")
    report = json.loads((stored_report_dir / "heart-disease" / "test_report.json").read_text())

    assert not app.exception
    assert not app.error
    assert [chart.proto.spec.count('"layer"') > 0 for chart in app.get("vega_lite_chart")] \
        == [True, True]  # the ROC curve and the reliability diagram
    confusion = next(t.value for t in app.table if "Decided heart disease" in t.value.columns)
    assert confusion.values.sum() == report["cases"] == 181  # the three sites' test splits
    failures = next(t.value for t in app.table if "P(decided)" in t.value.columns)
    assert list(failures["Case"]) == [f["case_id"] for f in report["failures"]]
    assert not any(value in ("1.00", "0.00") for value in failures["P(decided)"])
    [rows] = app.dataframe  # the failed cases' values, read from the dataset file
    assert len(rows.value) == len(report["failures"])
    assert "age" in rows.value.columns
    assert card["test_report"]["file"] == "test_report.json"


def test_a_changed_report_is_not_shown(stored_report_dir):
    path = stored_report_dir / "heart-disease" / "test_report.json"
    text = path.read_text()
    assert '"cases": 181' in text
    path.write_text(text.replace('"cases": 181', '"cases": 182'))
    app = open_app(PAGE)

    assert not app.exception
    assert any("checksum mismatch" in warning.value for warning in app.warning)
    assert not app.get("vega_lite_chart")


def test_a_link_from_a_task_page_picks_its_model(cxr_card):
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params["model"] = "heart-disease"
    app.run()
    app.switch_page(PAGE).run()

    assert not app.exception
    assert app.selectbox(key="models_choice").value == "heart-disease"
