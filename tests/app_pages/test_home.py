"""The home page: the notice, the shipped models with their test metrics, the task links."""

from dxui.common import NOTICE, targets_text
from dxui.navigation import TASK_PAGES


def test_home_lists_models_and_shows_notice(open_page, cxr_card):
    app = open_page(None)

    assert not app.exception
    assert not app.error
    assert any(NOTICE in warning.value for warning in app.warning)
    table = app.table[0].value
    row = table[table["ID"] == "cxr-pneumonia"]
    assert len(row) == 1
    assert row["Model"].iloc[0] == cxr_card["name"]
    metrics = row["Headline test metrics (95% CI)"].iloc[0]
    for value in cxr_card.headline().values():  # e.g. "0.961 (0.946-0.974)"
        assert value in metrics
    assert row["Targets"].iloc[0] == targets_text(cxr_card)


def test_home_links_to_the_chest_xray_page(open_page):
    app = open_page(None)

    assert "Open Chest X-ray" in [link.value for link in app.page_link]


def test_home_links_to_every_task_page(open_page):
    app = open_page(None)

    links = [link.value for link in app.page_link]
    assert links == [f"Open {page.title}" for page in TASK_PAGES]
    assert "Open ECG" in links
