"""The federated heart-disease study: choosing each recipe on validation, then measuring
(a) the shipped Cleveland-only model, (b) pooled centralised training and (c) each federated
strategy on every site's test split (AUC with bootstrap 95% CI). ``scripts/federated_heart.py``
runs it; the tests run it with tiny settings.

(b) is the upper reference: one network trained on all sites' rows together, which a real
federation cannot do. It uses the same pooled statistics and the same local training code as
the federated runs, so the comparison is about where the rows are, not the preprocessing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import roc_auc_score

from dxcore.metrics import bootstrap_intervals
from dxcore.records import federated, training
from dxcore.records.evaluation import split_predictions
from dxcore.records.preprocessing import encode
from dxcore.records.schema import Schema

SITE_NAMES = tuple(federated.SITES)


def clients(schema: Schema, settings: training.Settings, stage: str,
            data: str | Path | None = None, seed: int = 0) -> list[federated.SiteClient]:
    return [federated.SiteClient(site, schema, settings, data, stage, seed)
            for site in SITE_NAMES]


def train_federated(plan: federated.Plan, schema: Schema, settings: training.Settings,
                    stage: str, data: str | Path | None = None, seed: int = 0):
    """A federated run in one process; returns (global network, strategy)."""
    strategy = federated.make_strategy(plan, schema, settings, len(SITE_NAMES), seed,
                                       evaluate=stage == "select")
    federated.run_in_process(clients(schema, settings, stage, data, seed), strategy,
                             plan.rounds)
    return federated.final_network(strategy, settings), strategy


def train_pooled(epochs: int, schema: Schema, settings: training.Settings, stage: str,
                 data: str | Path | None = None, seed: int = 0):
    """One network on all sites' rows (the centralised reference); returns (network,
    statistics, {site: validation AUC} for stage "select")."""
    sites = clients(schema, settings, stage, data, seed)
    statistics = federated.pool_summaries(
        [federated.summarise(s.values, schema) for s in sites], schema)
    x = np.concatenate([encode(s.values, schema, statistics.fill) for s in sites])
    y = np.concatenate([s.y for s in sites])
    keras.utils.set_random_seed(seed)
    model = federated.build_network(statistics, settings)
    federated.LocalTrainer(model, settings).fit(x, y, epochs, 0.0, seed)
    validation = {}
    if stage == "select":
        for s in sites:
            score = federated.positive_score(federated.logits_of(
                model, encode(s.held, schema, statistics.fill)))
            validation[s.site] = float(roc_auc_score(s.y_held, score))
    return model, statistics, validation


def mean_auc(by_site: dict[str, float]) -> float:
    """The selection criterion: the unweighted mean of the sites' validation AUCs (each
    site counts the same, as the goal is stated per site)."""
    return float(np.mean([by_site[s] for s in SITE_NAMES]))


def select(schema: Schema, settings: training.Settings, data: str | Path | None = None,
           pooled_epochs=(50, 100), local_epochs=(5,), mus=(0.1, 1.0), rounds: int = 20,
           checkpoints=(10, 20), seed: int = 0, progress=print) -> dict:
    """Every candidate's per-site validation AUCs and the chosen one per recipe (highest
    :func:`mean_auc`); no test case is read. ``progress`` gets each row when it is done."""
    rows = []
    for epochs in pooled_epochs:
        _, _, validation = train_pooled(epochs, schema, settings, "select", data, seed)
        rows.append({"recipe": "pooled", "epochs": epochs, "validation_auc": validation})
        progress(rows[-1])
    plans = [federated.Plan("fedavg", rounds, e) for e in local_epochs] + [
        federated.Plan("fedprox", rounds, e, mu) for e in local_epochs for mu in mus]
    for plan in plans:
        _, strategy = train_federated(plan, schema, settings, "select", data, seed)
        for r in checkpoints:
            rows.append({"recipe": plan.strategy, **dataclasses.asdict(
                dataclasses.replace(plan, rounds=r)), "validation_auc": strategy.validation[r - 1]})
            progress(rows[-1])
    for row in rows:
        row["mean_auc"] = mean_auc(row["validation_auc"])
    chosen = {}
    for row in rows:
        if row["recipe"] not in chosen or row["mean_auc"] > chosen[row["recipe"]]["mean_auc"]:
            chosen[row["recipe"]] = row
    return {"candidates": rows, "chosen": chosen}


def privacy_cost(plan: federated.Plan, noises: list[float], schema: Schema,
                 settings: training.Settings, data: str | Path | None = None,
                 clip: float | None = None, seed: int = 0, progress=print) -> dict:
    """What central differential privacy costs the plan: its final model's validation AUC
    per site and mean, without DP and with DP at each noise multiplier (no test case is
    read). The clipping norm is ``clip``, else the median update norm of the run without DP
    (about half the updates are clipped); the sites' update norms of that run are kept to
    show it. ``progress`` gets each row when it is done."""
    _, plain = train_federated(plan, schema, settings, "select", data, seed)
    norms = np.array([n for by_site in plain.update_norms for n in by_site.values()])
    norms = norms[np.isfinite(norms)]
    clip_from = "given" if clip is not None else "median update norm of the run without DP"
    clip = float(np.median(norms)) if clip is None else clip
    rows = [{"noise_multiplier": None, "clipping_norm": None,
             "validation_auc": _by_site(plain.validation[-1])}]
    progress(rows[-1])
    for noise in noises:
        private = dataclasses.replace(plan, noise_multiplier=noise, clipping_norm=clip)
        _, strategy = train_federated(private, schema, settings, "select", data, seed)
        rows.append({"noise_multiplier": noise, "clipping_norm": clip,
                     "noise_sd_per_weight": noise * clip / len(SITE_NAMES),
                     "validation_auc": _by_site(strategy.validation[-1])})
        progress(rows[-1])
    for row in rows:
        row["mean_auc"] = mean_auc(row["validation_auc"])
        row["mean_auc_cost"] = rows[0]["mean_auc"] - row["mean_auc"]
    return {"plan": dataclasses.asdict(plan), "seed": seed, "clipping_norm": clip,
            "clipping_norm_from": clip_from,
            "update_norms_without_dp": {"median": float(np.median(norms)),
                                        "quartiles": np.percentile(norms, [25, 75]).tolist(),
                                        "max": float(norms.max())},
            "rows": rows}


def _by_site(auc: dict[str, float]) -> dict[str, float]:
    return {site: auc[site] for site in SITE_NAMES if site in auc}


def auc_with_ci(labels: np.ndarray, score: np.ndarray, resamples: int = 2000) -> dict:
    """AUC and its percentile bootstrap 95% CI over cases (resamples with one class only
    are skipped)."""
    labels = np.asarray(labels)
    ci = bootstrap_intervals(lambda i: {"auc": float(roc_auc_score(labels[i], score[i]))},
                             len(labels), resamples)["auc"]
    return {"value": float(roc_auc_score(labels, score)), "ci95": ci,
            "n": int(len(labels)), "positives": int(labels.sum())}


def test_scores(schema: Schema, data: str | Path | None = None) -> dict:
    """Each site's test values and labels (the site quirks applied, implausible cells
    missing as in training)."""
    out = {}
    for site in SITE_NAMES:
        _, _, table, labels = federated.site_split(site, data)
        out[site] = (table, training.dataset_values(table, schema)[0], np.asarray(labels))
    return out


def measure(shipped, candidates: dict, schema: Schema, data: str | Path | None = None,
            resamples: int = 2000) -> dict:
    """Per recipe and site, the test AUC with CI: the shipped model through its own card
    (its imputation and standardisation), each candidate (network, statistics) with the
    pooled statistics."""
    sites = test_scores(schema, data)
    table = {"cleveland-only (shipped)": {}}
    for site, (raw, _, labels) in sites.items():
        cases = split_predictions(shipped, raw, labels, f"{site} test split")
        table["cleveland-only (shipped)"][site] = auc_with_ci(
            labels, federated.positive_score(cases.logits), resamples)
    for name, (model, statistics) in candidates.items():
        table[name] = {site: auc_with_ci(labels, federated.positive_score(
            federated.logits_of(model, encode(values, schema, statistics.fill))), resamples)
            for site, (_, values, labels) in sites.items()}
    return table


def ship_rule(table: dict, federated_name: str) -> bool:
    """Issue 14's rule: at least today's AUC on Cleveland's test split and higher on each
    other site."""
    today, new = table["cleveland-only (shipped)"], table[federated_name]
    return (new["cleveland"]["value"] >= today["cleveland"]["value"]
            and all(new[s]["value"] > today[s]["value"] for s in SITE_NAMES
                    if s != "cleveland"))
