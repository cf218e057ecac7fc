"""Which prior a site's answers are adapted to: the batch's own estimate, the prevalence an
administrator set, the audit trail's recent answers, else the training prior."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from dxcore.audit import AuditLog
from dxcore.errors import DxError
from dxcore.site_prior import (
    MIN_AUDIT_ANSWERS,
    MIN_BATCH,
    audit_prior,
    configured_prior,
    site_prior,
    standing_prior,
)


@pytest.fixture
def prevalences(tmp_path, monkeypatch):
    """Write the administrator's file (``$DX_SITE_PRIORS`` points at it)."""
    path = tmp_path / "site_priors.json"
    monkeypatch.setenv("DX_SITE_PRIORS", str(path))

    def write(content) -> None:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return write


def answers(card, shift, count: int, pneumonia: float, rng) -> list[dict]:
    """Audit entries of ``count`` distinct inputs whose probabilities are drawn from the
    calibration cases with a share ``pneumonia`` of pneumonia cases, newest last."""
    labels = shift.calibration_labels
    chosen = np.concatenate([
        rng.choice(np.flatnonzero(labels == 1), round(count * pneumonia)),
        rng.choice(np.flatnonzero(labels == 0), count - round(count * pneumonia))])
    now = datetime.now(UTC)
    return [{"time": (now - timedelta(minutes=count - k)).isoformat(), "model": card.id,
             "weights_sha256": card["weights_sha256"], "input_sha256": f"{k:064x}",
             "output": [{"prediction": "x", "probabilities": dict(zip(
                 card.class_names, shift.calibration_probabilities[i].round(6).tolist(),
                 strict=True))}]}
            for k, i in enumerate(rng.permutation(chosen))]


def test_an_administrator_prevalence_fills_the_other_classes(cxr_model, prevalences):
    prevalences({"cxr-pneumonia": {"PNEUMONIA": 0.4}, "other-model": {"x": 0.5}})
    prior = configured_prior(cxr_model.card, cxr_model.label_shift.prior)
    assert prior.source == "configured" and prior.adapts
    assert prior.shares == pytest.approx({"NORMAL": 0.6, "PNEUMONIA": 0.4})
    assert standing_prior(cxr_model) == prior


@pytest.mark.parametrize("content, said", [
    ("{not json", "cannot be read"),
    ([0.4], "not a JSON object"),
    ({"cxr-pneumonia": 0.4}, "not a set of class shares"),
    ({"cxr-pneumonia": {"COVID": 0.4}}, "'COVID', not a class of this model"),
    ({"cxr-pneumonia": {"PNEUMONIA": 1.2}}, "not a number between 0 and 1"),
    ({"cxr-pneumonia": {"PNEUMONIA": True}}, "not a number between 0 and 1"),
    ({"cxr-pneumonia": {"PNEUMONIA": 0.5, "NORMAL": 0.4}}, "they must add up to 1"),
])
def test_a_prevalence_file_that_cannot_be_used_is_one_clear_error(cxr_model, prevalences,
                                                                   content, said):
    prevalences(content)
    with pytest.raises(DxError, match=said):
        configured_prior(cxr_model.card, cxr_model.label_shift.prior)


def test_no_file_or_off_means_no_administrator_prevalence(cxr_model, monkeypatch, tmp_path):
    monkeypatch.setenv("DX_SITE_PRIORS", str(tmp_path / "absent.json"))
    assert configured_prior(cxr_model.card, cxr_model.label_shift.prior) is None
    monkeypatch.setenv("DX_SITE_PRIORS", "off")
    assert configured_prior(cxr_model.card, cxr_model.label_shift.prior) is None


def test_the_audit_trail_estimate_needs_enough_recent_distinct_answers(cxr_model):
    card, shift = cxr_model.card, cxr_model.label_shift
    rng = np.random.default_rng(0)
    entries = answers(card, shift, 400, 0.4, rng)
    prior = audit_prior(card, shift, entries)
    assert prior.source == "audit" and prior.answers == 400
    assert prior.shares["PNEUMONIA"] == pytest.approx(0.4, abs=0.06)
    low, high = prior.ci95["PNEUMONIA"]
    assert low < prior.shares["PNEUMONIA"] < high
    # the same inputs again, answers of other weights and old answers do not count
    assert audit_prior(card, shift, entries[:MIN_AUDIT_ANSWERS - 1] * 3) is None
    others = [{**e, "weights_sha256": "0" * 64} for e in entries]
    assert audit_prior(card, shift, others) is None
    later = datetime.now(UTC) + timedelta(days=365)
    assert audit_prior(card, shift, entries, now=later) is None


def test_the_audit_trail_estimate_reads_the_models_own_probabilities(cxr_model):
    """An adapted answer logs its adapted probabilities and the model's own; the estimate
    reads the latter, so that adapting does not feed back into the prior."""
    card, shift = cxr_model.card, cxr_model.label_shift
    entries = answers(card, shift, 200, 0.5, np.random.default_rng(1))
    adapted = [{**e, "output": [{**e["output"][0],
                                 "unadapted_probabilities": e["output"][0]["probabilities"],
                                 "probabilities": {"NORMAL": 0.999, "PNEUMONIA": 0.001}}]}
               for e in entries]
    assert audit_prior(card, shift, adapted).shares == audit_prior(card, shift, entries).shares


def test_standing_prior_order(cxr_model, prevalences, monkeypatch, tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    monkeypatch.setenv("DX_AUDIT_LOG", str(log.path))  # the file prevalences writes: none yet
    assert standing_prior(cxr_model).source == "training"  # nothing known: unchanged answers
    for entry in answers(cxr_model.card, cxr_model.label_shift, MIN_AUDIT_ANSWERS, 0.5,
                         np.random.default_rng(2)):
        log.append_entry({k: v for k, v in entry.items() if k != "time"})
    assert standing_prior(cxr_model).source == "audit"
    prevalences({"cxr-pneumonia": {"PNEUMONIA": 0.3}})
    assert standing_prior(cxr_model).source == "configured"


def test_a_batch_of_enough_answers_is_its_own_prior(cxr_model, monkeypatch):
    monkeypatch.setenv("DX_SITE_PRIORS", "off")
    shift = cxr_model.label_shift
    few = shift.calibration_probabilities[:MIN_BATCH - 1]
    assert site_prior(cxr_model, few).source == "training"
    assert site_prior(cxr_model, shift.calibration_probabilities[:MIN_BATCH]).source == "batch"
