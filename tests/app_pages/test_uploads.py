"""A file of a type a page does not read gets a visible message on the page (dxui.uploads),
not only the uploader's red icon, and nothing is analysed."""

from __future__ import annotations

import pytest

from tests.app_pages.conftest import open_app, shown


@pytest.mark.parametrize("page, multiple", [("app_pages/chest_xray.py", False),
                                            ("app_pages/ecg.py", True),
                                            ("app_pages/records.py", False)])
def test_a_file_of_another_type_is_refused_with_a_message(page, multiple, cxr_card, ecg_card,
                                                          heart_card):
    app = open_app(page)
    upload = ("notes.txt", b"not a medical file", "text/plain")
    app.file_uploader[0].set_value([upload] if multiple else upload)
    app.run()
    assert not app.exception
    [error] = [shown(e.value) for e in app.error if "cannot be read here" in e.value]
    assert error.startswith("notes.txt cannot be read here: this page reads ")
    assert "It was not analysed." in error
    assert not app.metric  # no prediction
