"""Per-site performance (issue 14) on the Models page and the case-record page: a copy of
the heart-disease card with a per-site table (figures made up for the rendering, in the
shape ``scripts/federated_heart.py test`` stores) in a temporary models folder."""

from __future__ import annotations

import json
import shutil

import pytest

from dxcore.card_writing import write_card
from tests.app_pages.conftest import open_app
from tests.app_pages.test_chest_xray import rendered_text

SITES = ("cleveland", "hungary", "switzerland")
RECIPES = ("cleveland-only (shipped)", "pooled (centralised)", "fedavg", "fedprox")


@pytest.fixture
def site_card_dir(tmp_path, heart_model, monkeypatch):
    folder = tmp_path / "heart-disease"
    shutil.copytree(heart_model.card.folder, folder)
    fields = json.loads((folder / "card.json").read_text())
    fields["test_metrics"]["by_site"] = {
        "auc": {recipe: {site: {"value": 0.8 + 0.01 * r + 0.001 * s, "ci95": [0.7, 0.9],
                                "n": 30 + s, "positives": 10}
                         for s, site in enumerate(SITES)} for r, recipe in enumerate(RECIPES)},
        "date": "2026-12-01", "command": "python scripts/federated_heart.py test",
        "ship_rule_holds": {"fedavg": False, "fedprox": False},
        "note": "AUC on each site's test split"}
    write_card(fields, folder)
    monkeypatch.setenv("DX_MODELS_DIR", str(tmp_path))
    return tmp_path


def _site_table(app):
    [table] = [t.value for t in app.table if "Trained on" in t.value.columns]
    return table


def test_the_models_page_shows_the_auc_at_each_site(site_card_dir):
    app = open_app("app_pages/models.py")
    app.selectbox(key="models_choice").set_value("heart-disease").run()
    assert not app.exception and not app.error
    table = _site_table(app)
    assert list(table["Trained on"]) == list(RECIPES)
    assert list(table.columns[1:]) == ["Cleveland (30 cases)", "Hungary (31 cases)",
                                       "Switzerland (32 cases)"]
    assert table.iloc[2]["Hungary (31 cases)"] == "0.821 (0.700–0.900)"
    assert "python scripts/federated_heart.py test" in rendered_text(app)


def test_the_record_page_shows_the_chosen_models_performance_at_each_hospital(site_card_dir):
    app = open_app("app_pages/records.py")
    app.selectbox(key="records_model_upload").set_value("heart-disease").run()
    assert not app.exception and not app.error
    assert list(_site_table(app)["Trained on"]) == list(RECIPES)
    assert "Performance at each hospital" in rendered_text(app)
