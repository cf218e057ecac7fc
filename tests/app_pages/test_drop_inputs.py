"""Inputs as clinics export them, dropped on the home page (issue 27): an ECG CSV without a
time column gets its sampling rate asked right in the drop zone and is read with it on the
worklist and the patient view; an Excel workbook is routed as a table, never opened as a
ZIP; a table whose columns match no model is offered the Case records page's mapping."""

from __future__ import annotations

import io
import re

import pandas as pd
from streamlit.testing.v1 import AppTest

from dxui.navigation import RECORDS
from tests.app_pages.conftest import drop, open_app, routed, shown
from tests.app_pages.test_ecg import csv_bytes
from tests.drops import HEART_CASES
from tests.helpers import real_ecg
from tests.workbooks import workbook_of


def waiting(app: AppTest) -> list[str]:
    return [shown(w.value) for w in app.warning if "is read once its" in w.value]


def test_an_ecg_csv_gets_its_sampling_rate_in_the_drop_zone(home, mitdb_root):
    strip = csv_bytes(real_ecg(mitdb_root, seconds=20.0, fs=250), fs=None)
    drop(home, {"strip.csv": strip})
    assert not home.exception and not home.error
    assert routed(home) == [("strip.csv", "ecg-beats")]
    [rate] = home.number_input
    assert rate.label == "Sampling rate (Hz) of strip.csv" and rate.value is None
    assert (rate.min, rate.max) == (100.0, 20_000.0)  # the record's own checks
    assert waiting(home) == ["strip.csv is read once its sampling rate (hz) is entered above."]

    rate.set_value(250.0).run()
    assert not home.exception and not waiting(home)
    home.button[0].click().run()  # the worklist
    assert not home.exception and not home.error, [e.value for e in home.error]
    [row] = home.dataframe[0].value.to_dict("records")
    assert row["Case"] == "strip.csv"
    assert re.match(r"\d+ beats: N \d+", row["Prediction"]), row["Prediction"]
    assert home.number_input[0].value == 250.0  # asked here too, as answered

    home.switch_page("app_pages/patient.py").run()
    assert not home.exception and not home.error
    summary = {metric.label: metric.value for metric in home.metric}
    assert summary["Duration"] == "20.0 s"  # read at 250 Hz, not at any other rate


def test_an_ecg_csv_with_a_time_column_is_asked_nothing(home, mitdb_root):
    drop(home, {"timed.csv": csv_bytes(real_ecg(mitdb_root, seconds=20.0, fs=250), fs=250)})
    assert routed(home) == [("timed.csv", "ecg-beats")]
    assert not home.number_input and not waiting(home)


def test_a_workbook_is_routed_as_a_table_not_opened_as_a_zip(home):
    xlsx = workbook_of(pd.read_csv(io.BytesIO(HEART_CASES), dtype=str))
    drop(home, {"cases.xlsx": xlsx})
    assert not home.exception
    assert not home.error, [e.value for e in home.error]  # no "[Content_Types].xml ..."
    assert routed(home) == [("cases.xlsx", "heart-disease")]
    assert home.button[0].label == "Open as a worklist (3 cases from 1 input)"


def test_an_old_xls_says_to_save_it_as_xlsx_or_csv(home):
    from tests.test_workbook import ole2

    drop(home, {"old.xls": ole2("Workbook")})
    [error] = home.error
    assert "Excel 97-2003 workbook (.xls)" in shown(error.value)
    assert "Save it as an Excel Workbook (.xlsx) or as CSV" in shown(error.value)


def test_a_table_of_unknown_columns_is_offered_the_mapping(home, heart_card):
    french = b"\xc3\xa2ge,sexe,chol\n63,1,233\n"
    drop(home, {"francais.csv": french})
    assert any("match no case-record model" in shown(e.value) for e in home.error)
    [mapping] = [b for b in home.button if b.label == "Map the columns of francais.csv"]
    mapping.click().run()
    assert not home.exception
    # The Case records page opens with the table, at its mapping step.
    assert home.title[0].value == RECORDS.heading
    assert any("francais.csv" in shown(info.value) for info in home.info)
    assert home.selectbox(key="records_mapping_model").value is None


def test_the_ecg_page_asks_the_rate_within_the_same_bounds(ecg_card, mitdb_root):
    page = open_app("app_pages/ecg.py")
    [rate] = page.number_input
    assert (rate.min, rate.max) == (100.0, 20_000.0)
    page.file_uploader[0].set_value([("strip.csv", csv_bytes(
        real_ecg(mitdb_root, seconds=20.0, fs=500), fs=None), "text/csv")]).run()
    assert "enter the sampling rate" in shown(page.error[0].value)
    rate.set_value(500.0).run()
    assert not page.exception and not page.error
    assert {m.label: m.value for m in page.metric}["Duration"] == "20.0 s"
