"""The worklist's table and case picker as a reader sees them (issue 27): probabilities as
the case view writes them, no "None" in empty cells, no Markdown escapes in the picker."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dxui.worklist import COLUMNS, HIDDEN, row_label, shown_table


def table() -> pd.DataFrame:
    rows = [["232", "ecg-beats", "1780 beats: N 735, V 10", np.nan, "3 beats uncertain",
             "accepted", np.nan, "a" * 64, "agreed"],
            ["cases.csv row 2", "heart-disease", "absent", 0.99962, "absent", "accepted",
             41.25, "b" * 64, "overridden to heart disease"],
            ["x.png", "cxr-pneumonia", "no answer", np.nan, "", "refused: not an X-ray",
             np.nan, "c" * 64, "—"]]
    return pd.DataFrame([[*row, 0, 0, False, False, True, ""] for row in rows],
                        columns=COLUMNS + HIDDEN)


def test_probabilities_read_as_in_the_case_view_and_empty_cells_as_a_dash():
    shown = shown_table(table())
    assert shown.columns.tolist() == COLUMNS
    assert shown["Probability"].tolist() == ["—", "> 0.99", "—"]
    assert shown["Atypicality"].tolist() == ["—", "41.2", "—"]
    assert shown["Prediction set"].tolist() == ["3 beats uncertain", "absent", "—"]
    assert shown["Sign-off"].tolist() == ["agreed", "overridden to heart disease", "—"]
    assert not shown.isna().any().any()
    assert "None" not in shown.to_string()


def test_the_case_picker_shows_its_labels_without_markdown_escapes():
    labels = [row_label(table(), index) for index in range(3)]
    assert labels == ["232: 1780 beats: N 735, V 10", "cases.csv row 2: absent (> 0.99)",
                      "x.png: no answer"]
    assert not any("\\" in label for label in labels)
