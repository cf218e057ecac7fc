"""Every page in the navigation (dxui/navigation.py) opens under app.py without an exception
and shows its heading: a page added to PAGES is covered here with no new test."""

from __future__ import annotations

import pytest

from dxui.common import NOTICE
from dxui.navigation import PAGES
from tests.app_pages.conftest import open_app


@pytest.mark.parametrize("page", PAGES, ids=[page.title for page in PAGES])
def test_every_page_opens_with_its_heading(page):
    app = open_app(page.path)

    assert not app.exception
    assert [title.value for title in app.title] == [page.heading]
    assert any(NOTICE in warning.value for warning in app.warning)


def test_the_models_page_is_one_entry_and_every_task_page_links_to_it(cxr_card):
    from dxui.navigation import MODELS, TASK_PAGES

    assert [page.path for page in PAGES].count(MODELS.path) == 1
    assert MODELS not in TASK_PAGES  # the home page's task cards stay tasks
    app = open_app("app_pages/chest_xray.py")
    [link] = [link for link in app.page_link if link.proto.page == MODELS.path
              or "model card in full" in link.value]
    assert link.value == "The model card in full, with its test report"
