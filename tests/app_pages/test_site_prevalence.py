"""Answers adapted to the site's prevalence on the pages: a worklist of training images
says its estimated prevalence and shows adapted rows (the unadapted ones on request); the
chest X-ray page says which prevalence a single upload was adapted to."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from dxcore.wording import probability_text
from dxui import worklist
from tests.app_pages.conftest import open_app, shown
from tests.app_pages.test_chest_xray import rendered_text, upload

pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")


@pytest.fixture(scope="module")
def training_images(dataset) -> dict[str, bytes]:
    """20 images of the official train folder (14 pneumonia, 6 normal), read in place."""
    train = dataset("chest_xray") / "train"
    return {path.name: path.read_bytes()
            for name, count in (("PNEUMONIA", 14), ("NORMAL", 6))
            for path in sorted((train / name).glob("*.jpeg"))[:count]}


def drop(app: AppTest, files: dict[str, bytes]) -> AppTest:
    app.file_uploader[0].set_value([(name, data, "image/jpeg") for name, data in files.items()])
    return app.run()


def test_a_worklist_shows_its_prevalence_and_adapted_rows(cxr_card, training_images):
    app = drop(open_app("app_pages/worklist.py"), training_images)
    assert not app.exception and not app.error
    [said] = [shown(info.value) for info in app.info if "This worklist" in info.value]
    assert "This worklist: about " in said and "% pneumonia (95% interval " in said
    assert "estimated from these 20 answers" in said
    assert "the model was trained on 74%" in said

    _, run = app.session_state[worklist.RUNS]
    prior = run.priors["cxr-pneumonia"]
    assert prior.source == "batch" and prior.answers == 20
    table = app.dataframe[0].value
    adapted = [outcome.result for outcome in run.adapted]
    assert table["Probability"].tolist() == [  # as every page writes a probability
        probability_text(float(r.rule.shown_probability(r.probabilities, r.decisions)[0]))
        for r in adapted]

    app.toggle(key="worklist_unadapted").set_value(True).run()
    unadapted = app.dataframe[0].value
    assert unadapted["Probability"].tolist() == [
        probability_text(float(o.result.rule.shown_probability(o.result.probabilities,
                                                               o.result.decisions)[0]))
        for o in run.outcomes]
    assert unadapted["Probability"].tolist() != table["Probability"].tolist()


def test_a_single_upload_says_which_prevalence_it_was_adapted_to(cxr_card, training_images,
                                                                monkeypatch, tmp_path):
    image = next(iter(training_images.values()))
    page = upload(open_app("app_pages/chest_xray.py"), "chest.jpeg", image, "image/jpeg")
    assert not page.exception
    text = shown(rendered_text(page))
    assert "Site prevalence:" in text and "the model's training prior" in text
    assert "answers as the model gives them" in text

    prevalences = tmp_path / "site_priors.json"
    prevalences.write_text(json.dumps({"cxr-pneumonia": {"PNEUMONIA": 0.4}}))
    monkeypatch.setenv("DX_SITE_PRIORS", str(prevalences))
    page = upload(open_app("app_pages/chest_xray.py"), "chest.jpeg", image, "image/jpeg")
    assert not page.exception
    text = shown(rendered_text(page))
    assert "40% pneumonia, set for this site by its administrator" in text
    assert "adapted to the site's prevalence" in text
