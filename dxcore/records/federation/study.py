"""The heart-disease study across sites, every choice on the sites' training splits:

- issue 14: pooled centralised training (the upper reference: one network on all sites' rows,
  which a real federation cannot do) and FedAvg/FedProx, chosen on validation parts
  (:func:`select`);
- issue 25: the shipped missing-aware model: out-of-fold outputs by cross-fitting within the
  sites (:func:`cross_fit`), each site left out (:func:`leave_one_site_out`,
  :func:`new_site_check`), the choice of recipe (:func:`select_missing_aware`), the
  calibration from the sites' counts (:func:`calibrate`), and the non-inferiority rule
  (:func:`ship_rule`).

``scripts/federated_heart.py`` runs the steps; the recipe
(:mod:`dxcore.records.recipes.heart_disease`) trains and measures the shipped model; the tests
run them with tiny settings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from dxcore.calibration import calibrated_probabilities
from dxcore.conformal import DEFAULT_COVERAGE, ConformalSets
from dxcore.metrics import bootstrap_intervals
from dxcore.records import site_counts, training
from dxcore.records.atypicality import atypicality as atypicality_percentile
from dxcore.records.atypicality import reconstruction_error
from dxcore.records.federation import training as federated
from dxcore.records.missingness import group_names, missing_groups
from dxcore.records.network import DEVIATION, LOGITS
from dxcore.records.preprocessing import encode, recorded_values
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
    model = federated.build_network(statistics, settings, schema)
    federated.LocalTrainer(model, settings, federated.field_dropout(
        schema, statistics, settings)).fit(x, y, epochs, 0.0, seed)
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


NON_INFERIORITY_MARGIN = 0.02


def ship_rule(table: dict, federated_name: str, today: str = "cleveland-only (shipped)"
              ) -> bool:
    """Issue 25's rule (non-inferiority, as multi-site models are judged): a model trained
    across sites ships when its Cleveland test AUC is at least the Cleveland-only model's
    less :data:`NON_INFERIORITY_MARGIN` and its mean AUC over the other sites is higher."""
    before, new = table[today], table[federated_name]
    others = [s for s in SITE_NAMES if s != "cleveland"]
    return bool(new["cleveland"]["value"] >= before["cleveland"]["value"]
                - NON_INFERIORITY_MARGIN
                and np.mean([new[s]["value"] for s in others])
                > np.mean([before[s]["value"] for s in others]))


# --- The model trained with the sites' missingness (issue 25) ------------------------------


# What a clinic without an exercise laboratory, fluoroscopy or a thallium scan records
# (issue 25's "triage-level form"): the selection also scores the cases with only these.
TRIAGE_FIELDS = ("age", "sex", "cp", "trestbps", "chol", "fbs", "restecg")


@dataclass
class Held:
    """One site's held-out cases: labels, parsed values (NaN where missing), and per kept
    round the global network's logits and reconstruction errors on them (``triage``: its
    logits on the same cases with only :data:`TRIAGE_FIELDS` recorded)."""

    site: str
    labels: np.ndarray
    values: pd.DataFrame
    outputs: dict[int, tuple[np.ndarray, np.ndarray]]
    triage: dict[int, np.ndarray] | None = None

    @property
    def missing(self) -> np.ndarray:
        return self.values.isna().sum(axis=1).to_numpy()


def _outputs_after(strategy, settings: training.Settings, rounds, x: np.ndarray) -> dict:
    out = {}
    recorded = recorded_values(x, strategy.schema)
    for r in rounds:
        network = federated.final_network(strategy, settings, r)
        result = network(x, training=False)
        out[r] = (np.asarray(result[LOGITS]),
                  reconstruction_error(np.asarray(result[DEVIATION]), recorded))
    return out


def cross_fit(plan: federated.Plan, schema: Schema, settings: training.Settings,
              data: str | Path | None = None, seed: int = 0, rounds=None,
              names: tuple[str, ...] = SITE_NAMES) -> dict[str, Held]:
    """Out-of-fold outputs of every site's training cases: :data:`federated.FOLDS`
    federated runs, each with one fold of every site held out (the choice of recipe, and
    the calibration, are made on these; no test case is read)."""
    rounds = tuple(rounds or (plan.rounds,))
    parts: dict[str, list[Held]] = {site: [] for site in names}
    for fold in range(federated.FOLDS):
        sites = [federated.SiteClient(site, schema, settings, data, "final", seed, fold=fold)
                 for site in names]
        strategy = federated.make_strategy(plan, schema, settings, len(sites), seed + fold,
                                           evaluate=False)
        federated.run_in_process(sites, strategy, max(rounds))
        for s in sites:
            x = encode(s.held, schema, strategy.statistics.fill)
            triage = s.held.copy()
            triage[[n for n in schema.names if n not in TRIAGE_FIELDS]] = np.nan
            x_triage = encode(triage, schema, strategy.statistics.fill)
            parts[s.site].append(Held(
                s.site, np.asarray(s.y_held), s.held,
                _outputs_after(strategy, settings, rounds, x),
                {r: out[0] for r, out in _outputs_after(strategy, settings, rounds,
                                                        x_triage).items()}))
    return {site: _joined(site, held) for site, held in parts.items()}


def _joined(site: str, parts: list[Held]) -> Held:
    rounds = parts[0].outputs
    return Held(site, np.concatenate([p.labels for p in parts]),
                pd.concat([p.values for p in parts]),
                {r: tuple(np.concatenate([p.outputs[r][k] for p in parts]) for k in (0, 1))
                 for r in rounds},
                {r: np.concatenate([p.triage[r] for p in parts]) for r in rounds})


def leave_one_site_out(plan: federated.Plan, schema: Schema, settings: training.Settings,
                       data: str | Path | None = None, seed: int = 0, rounds=None
                       ) -> dict[str, tuple[Held, object]]:
    """Each site as a hospital the federation never saw: trained across the other sites,
    scored on its whole training split; with the guard the other sites' counts give."""
    rounds = tuple(rounds or (plan.rounds,))
    out = {}
    for new_site in SITE_NAMES:
        sites = [federated.SiteClient(site, schema, settings, data, "final", seed)
                 for site in SITE_NAMES if site != new_site]
        strategy = federated.make_strategy(plan, schema, settings, len(sites), seed,
                                           evaluate=False)
        federated.run_in_process(sites, strategy, max(rounds))
        table, labels, _, _ = federated.site_split(new_site, data)
        values = training.dataset_values(table, schema)[0]
        x = encode(values, schema, strategy.statistics.fill)
        out[new_site] = (Held(new_site, np.asarray(labels), values,
                              _outputs_after(strategy, settings, rounds, x)),
                         site_counts.guard_from_statistics(strategy.statistics, schema))
    return out


def answered_share(guard, values: pd.DataFrame, schema: Schema) -> float:
    """The share of cases the guard's field checks let through (atypicality aside)."""
    labels = {f.name: f.title for f in schema.fields}
    rows = [{k: (None if pd.isna(v) else v) for k, v in row.items()}
            for row in values.to_dict("records")]
    return float(np.mean([guard.refusal(row, labels) is None for row in rows]))


def select_missing_aware(schema: Schema, settings: training.Settings,
                         data: str | Path | None = None, dropouts=(0.0, 0.15, 0.3),
                         rounds=(10, 20, 30), local_epochs: int = 5, seed: int = 0,
                         progress=print) -> dict:
    """Every candidate (field dropout x rounds of FedAvg) scored at each site by its
    cross-validated AUC, the same with only the triage findings (:data:`TRIAGE_FIELDS`), and
    its AUC as a site left out of training; the chosen one has the highest mean of these
    nine AUCs (each site counts the same; a clinic without the exercise and imaging tests,
    and a hospital the federation never saw, count as much as the sites' own patients). No
    test case is read."""
    rows = []
    for dropout in dropouts:
        tuned = dataclasses.replace(settings, field_dropout=dropout)
        plan = federated.Plan("fedavg", max(rounds), local_epochs)
        folds = cross_fit(plan, schema, tuned, data, seed, rounds)
        alone = leave_one_site_out(plan, schema, tuned, data, seed, rounds)
        for r in rounds:
            row = {"field_dropout": dropout, "rounds": r, "local_epochs": local_epochs,
                   "cv_auc": {s: _auc(h.labels, h.outputs[r][0]) for s, h in folds.items()},
                   "triage_cv_auc": {s: _auc(h.labels, h.triage[r]) for s, h in folds.items()},
                   "left_out_auc": {s: _auc(h.labels, h.outputs[r][0])
                                    for s, (h, _) in alone.items()},
                   "left_out_answered": {s: round(answered_share(g, h.values, schema), 4)
                                         for s, (h, g) in alone.items()}}
            row["score"] = float(np.mean([*row["cv_auc"].values(),
                                          *row["triage_cv_auc"].values(),
                                          *row["left_out_auc"].values()]))
            rows.append(row)
            progress(row)
    return {"candidates": rows, "chosen": max(rows, key=lambda row: row["score"])}


def _auc(labels: np.ndarray, logits: np.ndarray) -> float:
    return round(float(roc_auc_score(labels, federated.positive_score(logits))), 4)


GROUP_EDGES = [1, 3]  # missing fields: 0-1 (all tests done), 2-3, 4 or more
COVERAGES = (0.9, 0.95)


@dataclass
class Calibration:
    """What the sites' out-of-fold counts give the card: temperature, threshold, conformal
    floors (all cases, and per missingness group) and the atypicality reference."""

    temperature: float
    threshold: float
    conformal: ConformalSets
    atypicality_quantiles: list[float]


def calibrate(held: dict[str, Held], after_round: int, class_names: list[str]) -> Calibration:
    """Each site computes counts and sums on its own out-of-fold outputs
    (:mod:`dxcore.records.site_counts`); they are pooled here as the server would."""
    logits = {s: h.outputs[after_round][0] for s, h in held.items()}
    temperature = site_counts.pooled_temperature(
        [site_counts.nll_by_temperature(logits[s], h.labels) for s, h in held.items()])
    probabilities = {s: calibrated_probabilities(logits[s], temperature) for s in held}
    threshold = site_counts.pooled_youden(
        [site_counts.counts_above(probabilities[s][:, 1], h.labels) for s, h in held.items()])
    names = group_names(GROUP_EDGES)

    def floors(select) -> dict[str, dict[str, float]]:
        out = {}
        for coverage in COVERAGES:
            out[f"{coverage:g}"] = {}
            for k, name in enumerate(class_names):
                counts = [site_counts.histogram(
                    1 - probabilities[s][(h.labels == k) & select(h), k]) for s, h in held.items()]
                out[f"{coverage:g}"][name] = round(
                    1 - site_counts.quantile_from_counts(counts, coverage), 6)
        return out

    def in_group(group: str):
        return lambda h: np.array(missing_groups(h.values, GROUP_EDGES)) == group

    sets = ConformalSets(list(class_names), floors(lambda h: np.ones(len(h.labels), bool)),
                         DEFAULT_COVERAGE, {g: floors(in_group(g)) for g in names},
                         {"by": "missing fields", "edges": GROUP_EDGES})
    reference = site_counts.error_quantiles(
        [site_counts.histogram(h.outputs[after_round][1], site_counts.ERROR_EDGES)
         for h in held.values()])
    return Calibration(temperature, threshold, sets, reference)


def new_site_check(plan: federated.Plan, schema: Schema, settings: training.Settings,
                   class_names: list[str], data: str | Path | None = None, seed: int = 0
                   ) -> dict[str, dict]:
    """Each site as a hospital the federation never saw, with everything (network,
    calibration, guard) made from the other sites alone: its training split's answered
    share, AUC and the coverage of the 90% sets on the answered cases. What the kept-back
    site will meet, measured on training data only."""
    out = {}
    for new_site in SITE_NAMES:
        others = tuple(s for s in SITE_NAMES if s != new_site)
        calibration = calibrate(cross_fit(plan, schema, settings, data, seed, names=others),
                                plan.rounds, class_names)
        sites = [federated.SiteClient(s, schema, settings, data, "final", seed) for s in others]
        strategy = federated.make_strategy(plan, schema, settings, len(sites), seed,
                                           evaluate=False)
        federated.run_in_process(sites, strategy, plan.rounds)
        guard = site_counts.guard_from_statistics(strategy.statistics, schema)
        table, labels, _, _ = federated.site_split(new_site, data)
        values = training.dataset_values(table, schema)[0]
        logits, errors = _outputs_after(strategy, settings, (plan.rounds,), encode(
            values, schema, strategy.statistics.fill))[plan.rounds]
        out[new_site] = new_site_figures(calibration, guard, schema, class_names, values,
                                         np.asarray(labels), logits, errors)
    return out


def new_site_figures(calibration: Calibration, guard, schema: Schema, class_names: list[str],
                     values: pd.DataFrame, labels: np.ndarray, logits: np.ndarray,
                     errors: np.ndarray) -> dict:
    """Answered share (field checks and atypicality), AUC over all cases, and the
    coverage and width of the 90% sets on the answered ones."""
    field_names = {f.name: f.title for f in schema.fields}
    rows = [{k: (None if pd.isna(v) else v) for k, v in row.items()}
            for row in values.to_dict("records")]
    atypicality = atypicality_percentile(errors, calibration.atypicality_quantiles)
    answered = np.array([guard.refusal(row, field_names) is None
                         and guard.atypical_refusal(float(a), "") is None
                         for row, a in zip(rows, atypicality, strict=True)])
    probabilities = calibrated_probabilities(logits, calibration.temperature)
    decisions = np.where(probabilities[:, 1] >= calibration.threshold, class_names[1],
                         class_names[0])
    groups = missing_groups(values, GROUP_EDGES)
    sets = calibration.conformal.sets(probabilities, decisions, groups=groups)
    truth = np.asarray(class_names)[labels]
    covered = np.array([t in s for t, s in zip(truth, sets, strict=True)])
    return {"cases": int(len(labels)), "answered": round(float(answered.mean()), 4),
            "refused_atypical": int(sum(guard.atypical_refusal(float(a), "") is not None
                                        for a in atypicality)),
            "auc": _auc(labels, logits),
            "coverage_90": round(float(covered[answered].mean()), 4),
            "both_classes_share": round(float(np.mean([len(s) > 1 for s in sets])), 4)}
