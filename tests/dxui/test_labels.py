"""Readable class labels on the pages (dxui.results.class_text and the renderer) and gene
symbols beside probe ids (dxui.records.with_gene_symbols)."""

from __future__ import annotations

import pytest

from dxcore.records.explainers import CaseExplanation, FieldExplanation
from dxcore.templates import blank_cases_csv
from dxui import records, results


@pytest.fixture(scope="module")
def ckd_result(ckd_model):
    """One case of the ckd model: the training cohort's fill values in every column."""
    card = ckd_model.card
    header = blank_cases_csv(card).strip().split(",")
    row = ",".join(str(card.imputation[name]) for name in header)
    return ckd_model.predict({"case.csv": f"{','.join(header)}\n{row}\n".encode()})


def test_the_verdict_and_bars_name_the_classes_in_words_not_codes(ckd_result):
    labels = {"chronic kidney disease", "no chronic kidney disease"}
    verdict = results.verdict_label(ckd_result, 0)
    assert verdict in labels or verdict.startswith("uncertain: ")
    assert "ckd" not in verdict
    bars = results.probability_chart(ckd_result, 0).layer[0].data["Class"]
    assert sorted(label.split(")")[0] for label in bars) == [
        "P(chronic kidney disease", "P(no chronic kidney disease"]
    assert "**" + results.class_text(ckd_result, str(ckd_result.decisions[0])) + "**" in \
        results.decision_sentence(ckd_result, 0, "case")


def test_a_label_that_only_changes_case_keeps_the_code(cxr_model, test_xray_bytes):
    result = cxr_model.predict({"x.jpeg": test_xray_bytes})
    assert results.class_text(result, "PNEUMONIA") == "PNEUMONIA"


def test_probe_ids_get_their_gene_symbols(golub_model):
    field = FieldExplanation("S68616_at", "S68616_at expression", "", False, "1,200",
                             0.4, 1.0, False)
    other = FieldExplanation("AFFX-BioB-5_at", "AFFX-BioB-5_at expression", "", False, "3",
                             0.1, 0.0, False)
    shown = records.with_gene_symbols(golub_model.card, CaseExplanation([field, other], "AML", 0.5))
    assert [f.label for f in shown.fields] == ["S68616_at (SLC9A1) expression",
                                               "AFFX-BioB-5_at expression"]
