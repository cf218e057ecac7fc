"""Fixtures for the page tests: the app under ``streamlit.testing.v1.AppTest``.

The pages run models from the registry (``saved_models/``, or ``$DX_MODELS_DIR`` when set):
the chest X-ray page ``cxr-pneumonia``, the ECG page ``ecg-beats``, the case-record page
``heart-disease``, ``ckd`` and ``leukemia-golub``. Tests skip when the model they need is
not installed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"
# The first run imports TensorFlow and loads the model: far slower than AppTest's 3 s default.
TIMEOUT = 90


def open_app(page: str | None = None) -> AppTest:
    """The app run once, switched to ``page`` and run again (``None``: the default page)."""
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page is not None:
        app.switch_page(page).run()
    return app


# The cards of the models the pages run (each skips, through the root ``shipped_model``
# fixture, when its model is not installed).
@pytest.fixture(scope="session")
def cxr_card(cxr_model):
    return cxr_model.card


@pytest.fixture(scope="session")
def ecg_card(ecg_model):
    return ecg_model.card


@pytest.fixture(scope="session")
def heart_card(heart_model):
    return heart_model.card


@pytest.fixture(scope="session")
def ckd_card(shipped_model):
    return shipped_model("ckd").card


@pytest.fixture(scope="session")
def golub_card(golub_model):
    return golub_model.card


@pytest.fixture
def open_page(cxr_card) -> Callable[[str | None], AppTest]:
    """``open_page("app_pages/chest_xray.py")``: :func:`open_app`, once the chest X-ray
    model is known to be there."""
    return open_app


def shown(markdown: str) -> str:
    """The text a Markdown body shows: pages escape the text of uploads and the messages
    that echo them (``dxui.common.plain``), and CommonMark shows ``\\*`` as ``*``."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def assert_targets_warned(app: AppTest, card) -> None:
    """One warning naming each target the card's model misses, or none when it meets them."""
    from dxcore.cards import metric_label
    from dxui.common import BELOW_TARGETS

    warnings = [warning.value for warning in app.warning if BELOW_TARGETS in warning.value]
    unmet = card.unmet_targets()
    assert len(warnings) == (1 if unmet else 0)
    for check in unmet:
        assert check.describe(metric_label(check.metric)) in warnings[0]


def chart_frames(chart) -> list:
    """The data frames a Vega-Lite chart element carries (sent beside its spec, as Arrow)."""
    return [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets]


def is_probability_chart(chart) -> bool:
    """Whether a chart is the shared renderer's probability bars (dxui.results)."""
    return any("Decided" in frame.columns for frame in chart_frames(chart))


def probability_bars(app: AppTest) -> list[list[str]]:
    """Each probability chart's bar labels (``P(NORMAL) = 0.13``), in page order."""
    return [list(next(f for f in chart_frames(chart) if "Decided" in f.columns)["Class"])
            for chart in app.get("vega_lite_chart") if is_probability_chart(chart)]


def other_charts(app: AppTest) -> list:
    """The page's charts other than the probability bars, in page order."""
    return [chart for chart in app.get("vega_lite_chart") if not is_probability_chart(chart)]


def verdicts(app: AppTest) -> list[str]:
    """Each verdict's prediction as shown (``dxui.results.verdict_markdown``), in page
    order."""
    from dxui.results import VERDICT

    lead = f":gray[{VERDICT}]\n\n### "
    return [shown(markdown.value.removeprefix(lead)) for markdown in app.markdown
            if markdown.value.startswith(lead)]


# --- The home page's drop zone (tests of the drop, the worklist, the patient view) --------


@pytest.fixture
def home(cxr_card, ecg_card, heart_card) -> AppTest:
    return open_app(None)


def drop(app: AppTest, files: dict[str, bytes]) -> AppTest:
    app.file_uploader[0].set_value([(name, data, "application/octet-stream")
                                    for name, data in files.items()]).run()
    return app


def routed(app: AppTest) -> list[tuple[str, str]]:
    table = app.dataframe[0].value
    return list(zip(table["Case"], table["Model"], strict=True))
