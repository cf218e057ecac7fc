"""Federated heart-disease training (dxcore.records.federation.training): pooled statistics from
summaries, site quirks, and the faults a federation meets (a site that drops out mid-round,
a corrupt site file, a site sending NaN or huge weights).

The runs use Flower's Server and strategies with in-process client proxies, tiny networks,
one local epoch and two rounds, on small synthetic sites in the UCI file format (no real
patient rows are needed to test the mechanics)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dxcore.errors import DxError
from dxcore.records import training
from dxcore.records.federation import study
from dxcore.records.federation import training as federated
from dxcore.records.recipes.heart_disease import SCHEMA

TINY = training.Settings(hidden=4, code=2, epochs=1, batch_size=32)
PLAN = federated.Plan("fedavg", rounds=2, local_epochs=1)


def _site_rows(rng: np.random.Generator, n: int, zero_chol: bool = False,
               angiography: bool = False) -> str:
    """UCI-format rows whose disease follows the exercise findings, as at a real site;
    slope, ca and thal only with ``angiography`` (missing otherwise, as outside Cleveland)."""
    lines = []
    for _ in range(n):
        sick = rng.random() < 0.5
        chol = 0 if zero_chol else int(rng.normal(240 + 15 * sick, 40))
        values = [int(rng.integers(35, 75)), int(rng.integers(0, 2)),
                  int(4 if sick else rng.integers(1, 4)), int(rng.normal(130, 15)), chol,
                  int(rng.integers(0, 2)), int(rng.integers(0, 3)),
                  int(rng.normal(150 - 20 * sick, 15)), int(sick and rng.random() < 0.7),
                  round(float(abs(rng.normal(0.5 + sick, 0.8))), 1),
                  *((int(rng.integers(1, 4)), int(rng.integers(0, 4)),
                     int(rng.choice([3, 6, 7]))) if angiography else ("?", "?", "?")),
                  int(rng.integers(1, 5)) if sick else 0]
        lines.append(",".join(str(v) for v in values))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """A data folder with three small synthetic sites; Switzerland codes chol as 0."""
    root = tmp_path_factory.mktemp("data")
    folder = root / "heart_disease"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, site in federated.SITES.items():
        (folder / site.file).write_text(_site_rows(
            rng, 48, zero_chol=name == "switzerland", angiography=name == "cleveland"))
    return root


@pytest.fixture(autouse=True)
def eager(monkeypatch):
    """Local steps run eagerly here: tracing them costs more than two tiny rounds."""
    monkeypatch.setattr(federated, "COMPILE_STEPS", False)


def _clients(data, cls=federated.SiteClient, broken: str | None = None):
    return [(cls if site == broken else federated.SiteClient)(site, SCHEMA, TINY, data)
            for site in federated.SITES]


def _run(clients, plan=PLAN):
    strategy = federated.make_strategy(plan, SCHEMA, TINY, len(clients))
    return federated.run_in_process(clients, strategy, plan.rounds)


def _finite(strategy) -> bool:
    return all(np.all(np.isfinite(w)) for w in strategy.current)


def test_a_site_that_never_recorded_a_field_does_not_move_its_fill_value():
    recorded = pd.DataFrame({f.name: [1.0, 1.0] if f.type == "numeric"
                             else [next(iter(f.categories))] * 2 for f in SCHEMA.fields})
    recorded["chol"] = [200.0, 300.0]
    recorded["thal"] = ["7", "7"]
    silent = pd.DataFrame({name: [None] * 50 for name in SCHEMA.names})
    silent["age"] = [60.0] * 50
    both = federated.pool_summaries([federated.summarise(recorded, SCHEMA),
                                     federated.summarise(silent, SCHEMA)], SCHEMA)
    assert both.fill["chol"] == 250.0 and both.fill["thal"] == "7"
    chol = [f.name for f in SCHEMA.numeric].index("chol")  # numeric columns come first
    assert both.mean[chol] == 250.0 and both.variance[chol] == 2500.0
    assert both.recorded["chol"] == 2 and both.recorded["age"] == 52
    assert both.fill["age"] == pytest.approx((2 + 50 * 60) / 52)


def test_a_summary_holds_counts_and_sums_only():
    values = pd.DataFrame({"age": [40.0, 50.0], "sex": ["1", "0"]})
    schema = SCHEMA.from_json({"fields": [f.as_json() for f in SCHEMA.fields
                                          if f.name in ("age", "sex")]})
    summary = federated.summarise(values, schema)
    assert summary == {"cases": 2, "numeric": {"age": {"n": 2, "sum": 90.0, "sumsq": 4100.0}},
                       "categorical": {"sex": {"0": 1, "1": 1}}}


def test_zero_cholesterol_is_not_recorded_only_where_the_site_codes_it_so(sites):
    swiss, _ = federated.load_site("switzerland", sites)
    assert (swiss["chol"] == "?").all()
    cleveland, _ = federated.load_site("cleveland", sites)
    assert not (cleveland["chol"] == "?").any()


def test_fedavg_trains_across_the_three_sites(sites):
    strategy = _run(_clients(sites))
    assert _finite(strategy) and not strategy.left_out and not strategy.rejected
    assert len(strategy.validation) == 2 and set(strategy.validation[-1]) == set(
        federated.SITES)
    # the statistics came from all three sites' summaries; Switzerland added no cholesterol
    fit_parts = [federated.SiteClient(s, SCHEMA, TINY, sites) for s in federated.SITES]
    assert strategy.statistics.recorded["chol"] == sum(
        int(c.values["chol"].notna().sum()) for c in fit_parts[:2])


def test_fedprox_keeps_a_site_near_the_global_weights(sites):
    client = federated.SiteClient("cleveland", SCHEMA, TINY, sites)
    strategy = federated.make_strategy(PLAN, SCHEMA, TINY, 1)
    federated.run_in_process([client], strategy, 1)
    config = strategy._config(1)
    start = federated.get_weights(client.model)
    drift = {}
    for mu in (0.0, 100.0):
        weights, _, _ = client.fit(start, {**config, "proximal_mu": mu, "local_epochs": 3})
        drift[mu] = federated.update_norms([weights], start)[0]
    assert drift[100.0] < drift[0.0]


class DropsOut(federated.SiteClient):
    """A site whose connection fails in the middle of round 2."""

    def fit(self, parameters, config):
        if int(config["server_round"]) == 2:
            raise ConnectionError("site went away")
        return super().fit(parameters, config)


def test_a_site_dropping_out_mid_round_leaves_the_round_to_the_others(sites):
    strategy = _run(_clients(sites, DropsOut, broken="hungary"))
    assert _finite(strategy)
    assert strategy.sites_per_round == [3, 2]


def test_a_corrupt_site_file_is_left_out_with_its_reason(sites, tmp_path):
    (tmp_path / "heart_disease").mkdir()
    for site in federated.SITES.values():
        source = sites / "heart_disease" / site.file
        (tmp_path / "heart_disease" / site.file).write_bytes(source.read_bytes())
    (tmp_path / "heart_disease" / "processed.hungarian.data").write_text("a;b\n\x00\x01;2\n")
    strategy = _run([federated.SiteClient(s, SCHEMA, TINY, tmp_path) for s in federated.SITES])
    assert set(strategy.left_out) == {"hungary"}
    assert "columns" in strategy.left_out["hungary"]
    assert strategy.sites_per_round == [2, 2] and _finite(strategy)


class SendsNaN(federated.SiteClient):
    def fit(self, parameters, config):
        weights, n, metrics = super().fit(parameters, config)
        return [np.full_like(w, np.nan) for w in weights], n, metrics


class SendsHuge(federated.SiteClient):
    def fit(self, parameters, config):
        weights, n, metrics = super().fit(parameters, config)
        return [w * 1e6 for w in weights], n, metrics


@pytest.mark.parametrize("attacker", [SendsNaN, SendsHuge])
def test_nan_or_huge_weights_are_left_out_of_the_aggregate(sites, attacker):
    strategy = _run(_clients(sites, attacker, broken="switzerland"))
    assert _finite(strategy)
    assert [site for _, site, _ in strategy.rejected] == ["switzerland", "switzerland"]
    assert strategy.sites_per_round == [2, 2]
    assert max(np.abs(w).max() for w in strategy.current) < 100


def test_no_usable_site_stops_with_a_clear_message(tmp_path):
    with pytest.raises(DxError, match="No site sent a usable summary.*not found"):
        _run([federated.SiteClient("cleveland", SCHEMA, TINY, tmp_path)])


def test_the_ship_rule_is_non_inferiority_at_cleveland_and_better_elsewhere():
    def table(new):
        auc = {"cleveland-only (shipped)": (0.93, 0.80, 0.60), "fedavg": new}
        auc = {k: dict(zip(federated.SITES, v, strict=True)) for k, v in auc.items()}
        return {k: {s: {"value": v} for s, v in sites.items()} for k, sites in auc.items()}

    assert study.ship_rule(table((0.93, 0.85, 0.70)), "fedavg")
    assert study.ship_rule(table((0.91, 0.85, 0.70)), "fedavg")  # within 0.02
    assert not study.ship_rule(table((0.90, 0.85, 0.70)), "fedavg")
    assert study.ship_rule(table((0.95, 0.75, 0.66)), "fedavg")  # mean 0.705 > 0.70
    assert not study.ship_rule(table((0.95, 0.75, 0.65)), "fedavg")


def test_a_run_that_no_site_joins_stops_with_a_clear_message():
    strategy = federated.make_strategy(PLAN, SCHEMA, TINY, 3, join_timeout=0)
    with pytest.raises(DxError, match="No site joined the federated run within 0 s"):
        federated.run_in_process([], strategy, 1)


# --- issue 25: the missing-aware model's cross-fitting, calibration and new-site check -------


def test_cross_fitting_holds_out_every_training_case_once_and_calibrates_from_counts(sites):
    import dataclasses

    tiny = dataclasses.replace(TINY, field_dropout=0.2)
    held = study.cross_fit(PLAN, SCHEMA, tiny, sites, rounds=(1, 2))
    for site, h in held.items():
        train_table, labels, _, _ = federated.site_split(site, sites)
        assert len(h.values) == len(train_table)  # each case once, out of fold
        assert sorted(h.labels) == sorted(labels)
        assert h.outputs[2][0].shape == (len(labels), 2) and h.triage[2].shape == (len(labels), 2)
        assert np.all(np.isfinite(h.outputs[2][1])) and np.all(h.outputs[2][1] >= 0)
    assert held["hungary"].missing.min() >= 3  # slope, ca and thal never recorded there
    calibration = study.calibrate(held, 2, ["no", "yes"])
    assert calibration.temperature > 0 and 0 <= calibration.threshold <= 1
    runtime = calibration.conformal.as_runtime()
    assert runtime["groups"]["rule"] == {"by": "missing fields", "edges": [1, 3]}
    assert set(runtime["groups"]["min_probability"]) == {"0-1 missing", "2-3 missing",
                                                         "4 or more missing"}
    assert len(calibration.atypicality_quantiles) == 101
    assert np.all(np.diff(calibration.atypicality_quantiles) >= 0)


def test_a_site_left_out_is_scored_by_a_model_and_guard_made_without_it(tmp_path):
    folder = tmp_path / "heart_disease"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for name, site in federated.SITES.items():  # two sites do angiography, as in the UCI data
        (folder / site.file).write_text(_site_rows(rng, 48, zero_chol=name == "switzerland",
                                                   angiography=name != "hungary"))
    left_out = study.leave_one_site_out(PLAN, SCHEMA, TINY, tmp_path)
    held, guard = left_out["switzerland"]
    assert len(held.labels) == len(federated.site_split("switzerland", tmp_path)[1])
    # Hungary never recorded slope, ca or thal: they cannot be essential
    assert not {"slope", "ca", "thal"} & set(guard.essential)
    assert {"age", "sex", "cp"} <= set(guard.essential)
    # both other sites recorded cholesterol for everyone, and training never hid it: a
    # patient without it was never seen, and this site never records it (0 in its file)
    assert "chol" in guard.essential
    assert study.answered_share(guard, held.values, SCHEMA) == 0.0
    recorded = held.values.assign(chol=240.0)
    assert study.answered_share(guard, recorded, SCHEMA) == 1.0
