"""Central differential privacy around the robust strategy (dxcore.records.federation.privacy):
one round's arithmetic on hand-made updates (screening before clipping, equal weights, the
noise's scale), and whole runs on the small synthetic sites of test_federated, where the
robust strategy's pooled statistics, left-out sites and failures must work as without DP."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays

from dxcore.errors import DxError
from dxcore.records.federation import privacy, study
from dxcore.records.federation import training as federated
from dxcore.records.recipes.heart_disease import SCHEMA
from tests.records import test_federated
from tests.records.test_federated import PLAN, TINY, DropsOut, SendsHuge, _clients

# test_federated's fixtures: its synthetic site files, and eager local steps
sites, eager = test_federated.sites, test_federated.eager

DP = federated.Plan("fedavg", rounds=2, local_epochs=1, noise_multiplier=0.5,
                    clipping_norm=1.0)


def _round(updates: dict[str, list[float]], noise: float, clip: float = 1.0,
           failures: list | None = None):
    """One aggregate_fit of the wrapped strategy from global weights 0, each site sending
    ``updates[site]`` with very different case counts."""
    strategy = federated.make_strategy(federated.Plan(noise_multiplier=noise,
                                                      clipping_norm=clip), SCHEMA, TINY, 3)
    start = [np.zeros(len(next(iter(updates.values()))))]
    strategy.strategy.current = strategy.current_round_params = start
    results = [(SimpleNamespace(cid=site), FitRes(
        Status(Code.OK, ""), ndarrays_to_parameters([np.array(update)]), 10 ** k,
        {"site": site})) for k, (site, update) in enumerate(updates.items())]
    parameters, metrics = strategy.aggregate_fit(1, results, failures or [])
    return strategy, parameters_to_ndarrays(parameters)[0], metrics


def test_updates_are_screened_raw_then_clipped_and_averaged_with_equal_weights():
    strategy, average, metrics = _round({"cleveland": [3.0, 4.0], "hungary": [0.3, 0.4],
                                         "switzerland": [3e5, 4e5]}, noise=0.0)
    # the huge update is left out as without DP (clipped, it would have passed unnoticed)
    assert [site for _, site, _ in strategy.rejected] == ["switzerland"]
    # cleveland's (norm 5) clipped to norm 1; equal weights despite 1 vs 10 cases
    assert average == pytest.approx([(0.6 + 0.3) / 2, (0.8 + 0.4) / 2])
    assert metrics["sites"] == 2 and strategy.sites_per_round == [2]
    assert np.array_equal(strategy.current[0], average)  # what is saved is the DP average


def test_a_failed_site_leaves_the_round_to_the_others():
    _, average, _ = _round({"cleveland": [0.3, 0.4], "hungary": [0.1, 0.2]}, noise=0.0,
                           failures=[ConnectionError("site went away")])
    assert average == pytest.approx([0.2, 0.3])


def test_the_noise_is_scaled_by_the_updates_averaged():
    """Both sites send the global weights back unchanged (an update of norm 0, which
    Flower's own clipping would divide by)."""
    np.random.seed(0)
    _, average, _ = _round({"cleveland": [0.0] * 20000, "hungary": [0.0] * 20000},
                           noise=1.0, clip=1.0)
    # 2 updates averaged (of 3 sites expected): sd 1.0 x 1.0 / 2, not / 3
    assert np.std(average) == pytest.approx(0.5, abs=0.01)


def test_a_private_run_pools_the_statistics_and_validates_as_without_dp(sites):
    plain = federated.run_in_process(_clients(sites), federated.make_strategy(
        PLAN, SCHEMA, TINY, 3), PLAN.rounds)
    private = federated.run_in_process(_clients(sites), federated.make_strategy(
        DP, SCHEMA, TINY, 3), DP.rounds)
    assert isinstance(private, privacy.CentralPrivacy)
    assert private.statistics == plain.statistics
    assert [set(v) for v in private.validation] == [set(federated.SITES)] * 2
    assert private.sites_per_round == [3, 3] and not private.left_out
    weights = federated.get_weights(federated.final_network(private, TINY))
    assert all(np.array_equal(w, c) for w, c in zip(weights, private.current, strict=True))
    assert not all(np.allclose(p, q) for p, q in zip(plain.current, private.current,
                                                     strict=True))


@pytest.mark.parametrize(("site_class", "per_round", "rejected"),
                         [(DropsOut, [3, 2], []), (SendsHuge, [2, 2], ["switzerland"] * 2)])
def test_faults_are_handled_as_without_dp(sites, site_class, per_round, rejected):
    broken = "switzerland" if site_class is SendsHuge else "hungary"
    strategy = federated.run_in_process(_clients(sites, site_class, broken),
                                        federated.make_strategy(DP, SCHEMA, TINY, 3),
                                        DP.rounds)
    assert strategy.sites_per_round == per_round
    assert [site for _, site, _ in strategy.rejected] == rejected
    assert all(np.all(np.isfinite(w)) for w in strategy.current)


def test_both_settings_are_needed():
    with pytest.raises(DxError, match="both a noise multiplier and a clipping norm"):
        federated.make_strategy(federated.Plan(noise_multiplier=1.0), SCHEMA, TINY, 3)
    with pytest.raises(DxError, match="clipping norm more than 0"):
        federated.make_strategy(federated.Plan(noise_multiplier=1.0, clipping_norm=0.0),
                                SCHEMA, TINY, 3)


def test_the_privacy_cost_is_measured_on_validation_with_the_median_update_norm(sites):
    result = study.privacy_cost(PLAN, [1.0], SCHEMA, TINY, sites,
                                          progress=lambda row: None)
    plain, private = result["rows"]
    assert plain["noise_multiplier"] is None and plain["mean_auc_cost"] == 0.0
    assert private["noise_multiplier"] == 1.0
    assert private["clipping_norm"] == result["clipping_norm"] == result[
        "update_norms_without_dp"]["median"]
    assert private["mean_auc_cost"] == pytest.approx(plain["mean_auc"] - private["mean_auc"])
    assert list(private["validation_auc"]) == list(federated.SITES)
