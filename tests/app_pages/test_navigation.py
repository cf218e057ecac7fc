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
