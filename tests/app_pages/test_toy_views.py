"""A modality's answers show on the shared pages with no shared file knowing it: the toy
plug-in of ``tests/toy_modality.py`` (UCR ECG200 beats, trained in seconds) registers its
file format and names its views module, ``tests/toy_views.py``, in its registration. Its
files are dropped on the home page's drop zone as a user drops them, recognised by the
toy's sniffer and routed to its model, and then shown by the worklist (its rows and the
case picked), the patient view and the Models page (its card, test report and failure
gallery) through its views.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dxcore.cards import read_card
from dxcore.contract import batched_outputs
from dxcore.evaluation import store_test_report
from dxcore.predictions import Predictions
from dxcore.registry import get_model
from dxcore.reports import build_report
from dxui.models import failure_caption
from dxui.navigation import MODELS, PATIENT
from dxui.patient import ANYWAY
from tests import toy_modality as toy
from tests.app_pages.conftest import drop, open_app, routed, shown, verdicts


@pytest.fixture(scope="module")
def toy_models_with_report(toy_models_dir: Path, ecg200_test_beats, tmp_path_factory) -> Path:
    """A models folder holding a copy of the toy model alone, with a test report of
    ECG200_TEST stored beside its card (its failed cases named "beat N"); made once for the
    module (no page writes to it)."""
    models = tmp_path_factory.mktemp("toy-dashboard")
    folder = models / toy.MODEL_ID
    shutil.copytree(toy_models_dir / toy.MODEL_ID, folder)
    card = read_card(folder / "card.json")
    beats, labels = ecg200_test_beats
    model = get_model(toy.MODEL_ID, models)
    logits = batched_outputs(model.network, toy.znormalise(beats), model.batch_size)["logits"]
    cases = Predictions([f"beat {number}" for number in range(1, len(beats) + 1)], labels,
                        logits, f"ECG200_TEST, {len(beats)} beats")
    store_test_report(card, build_report(cases, card))
    return models


@pytest.fixture
def toy_dashboard(toy_models_with_report: Path, monkeypatch) -> Path:
    """The dashboard's models folder (``DX_MODELS_DIR``): the toy model and its test report."""
    monkeypatch.setenv("DX_MODELS_DIR", str(toy_models_with_report))
    return toy_models_with_report


def predictions(name: str, data: bytes) -> list[str]:
    """Each beat's prediction by the toy model, the file read as any upload is."""
    return [str(decision) for decision in get_model(toy.MODEL_ID).predict({name: data}).decisions]


def dropped_home(inputs: dict[str, bytes]) -> AppTest:
    """The home page with ``inputs`` dropped on its drop zone."""
    return drop(open_app(None), inputs)


def test_the_worklist_gives_each_toy_beat_a_row_and_opens_the_beat_picked(toy_dashboard,
                                                                          ecg200_test_beats):
    beats = toy.beats_text(ecg200_test_beats[0][:3])
    app = dropped_home({"beats.txt": beats})

    assert not app.exception and not app.error
    assert routed(app) == [("beats.txt", toy.MODEL_ID)]  # by the toy's own sniffer
    assert app.button[0].label == "Open as a worklist (3 cases from 1 input)"
    app.button[0].click().run()

    assert not app.exception and not app.error
    table = app.dataframe[0].value  # the worklist table
    assert list(table["Case"]) == ["beats.txt beat 1", "beats.txt beat 2", "beats.txt beat 3"]
    assert set(table["Model"]) == {toy.MODEL_ID}
    assert list(table["Prediction"]) == predictions("beats.txt", beats)

    app.selectbox(key="worklist_case").set_value(1).run()

    assert not app.exception
    assert f"**Beats: beats.txt beat 2 — read by {toy.MODEL_ID}**" in [
        shown(markdown.value) for markdown in app.markdown]
    assert verdicts(app) == [predictions("beats.txt", beats)[1]]


def test_the_patient_view_shows_each_toy_input_with_its_beats(toy_dashboard, ecg200_test_beats):
    beats = ecg200_test_beats[0]
    inputs = {"a.txt": toy.beats_text(beats[:2]), "b.txt": toy.beats_text(beats[2:3])}
    app = dropped_home(inputs)

    assert routed(app) == [("a.txt", toy.MODEL_ID), ("b.txt", toy.MODEL_ID)]
    # Three beats are three rows, as a case table's: a batch, not offered as one patient.
    assert "Open as one patient" not in [button.label for button in app.button]
    app.switch_page(PATIENT.path).run()  # the session's drop, opened on request
    assert any("more than one patient" in warning.value for warning in app.warning)
    assert app.checkbox(key="patient_anyway").label == ANYWAY
    app.checkbox(key="patient_anyway").check().run()

    assert not app.exception and not app.error
    assert [shown(header.value) for header in app.header] == ["Patient: a.txt · b.txt"]
    summary = app.dataframe[0].value  # the summary
    assert list(summary["Input"]) == ["a.txt beat 1", "a.txt beat 2", "b.txt beat 1"]
    assert [shown(subheader.value) for subheader in app.subheader
            if "read by" in subheader.value] == [
        f"Beats: a.txt — read by {toy.MODEL_ID}", f"Beats: b.txt — read by {toy.MODEL_ID}"]
    assert verdicts(app) == [prediction for name, data in inputs.items()
                             for prediction in predictions(name, data)]


def test_the_models_page_shows_the_toy_card_report_and_failed_beats(toy_dashboard):
    report = json.loads((toy_dashboard / toy.MODEL_ID / "test_report.json").read_text())
    app = open_app(MODELS.path)

    assert not app.exception and not app.error
    [models] = [table.value for table in app.table if "ID" in table.value.columns]
    assert list(models["ID"]) == [toy.MODEL_ID]
    assert report["failures"], "the toy model decides some ECG200 test beats wrong"
    failures = next(t.value for t in app.table if "P(decided)" in t.value.columns)
    assert list(failures["Case"]) == [f["case_id"] for f in report["failures"]]
    # the ROC curve, the reliability diagram, then one chart per failed beat
    assert len(app.get("vega_lite_chart")) == 2 + len(report["failures"])
    captions = [caption.value for caption in app.caption]
    assert all(failure_caption(f) in captions for f in report["failures"])
