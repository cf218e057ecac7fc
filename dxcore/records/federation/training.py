"""Federated training of the ``heart-disease`` network across the three UCI sites with Flower.

Each site keeps its rows. What leaves a site is (1) once, a summary of its training part:
per field the number of recorded values, their sum and sum of squares (numeric) or the count
of each category (categorical); and (2) each round, its locally trained weights. The server
pools the summaries into the fill values of the imputation and the standardisation of the
network's input (:func:`pool_summaries`), then runs FedAvg or FedProx (McMahan et al. 2017;
Li et al. 2020) with :class:`RobustStrategy`, which leaves out a site's update that is not
finite or far larger than the round's others.

Site quirks: Switzerland codes an unrecorded cholesterol as 0 (:data:`SITES`), read here as
"not recorded". A field a site never recorded adds nothing to the pooled statistics (its
count is 0), so it cannot pull the others' fill values or scales.

The same :class:`SiteClient` and strategy run as separate processes over gRPC
(:mod:`dxcore.records.federation.nodes`, ``python -m dxcore federate heart-disease``) or in
one process (:func:`run_in_process`, Flower's ``Server`` with in-process client proxies:
what the tests and the selection script use, as Ray's simulation engine takes longer to
start than these tests may run).

Example:
    >>> import pandas as pd
    >>> schema = Schema.from_json({"fields": [
    ...     {"name": "age", "label": "Age", "type": "numeric", "missing_allowed": True},
    ...     {"name": "chol", "label": "Cholesterol", "type": "numeric", "missing_allowed": True}]})
    >>> site = pd.DataFrame({"age": [40.0, 60.0], "chol": [None, None]})  # chol never recorded
    >>> other = pd.DataFrame({"age": [50.0, 50.0], "chol": [200.0, 300.0]})
    >>> pooled = pool_summaries([summarise(site, schema), summarise(other, schema)], schema)
    >>> pooled.fill
    {'age': 50.0, 'chol': 250.0}
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from flwr.client import NumPyClient
from flwr.common import (
    EvaluateRes,
    FitRes,
    GetPropertiesIns,
    GetPropertiesRes,
    Parameters,
    Scalar,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.server import Server, SimpleClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import FedAvg, FedProx, Strategy
from flwr.supercore import telemetry as flower_telemetry
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from dxcore.datasets import data_dir, require
from dxcore.datasets.heart_disease import COLUMNS
from dxcore.errors import DxError
from dxcore.records import training
from dxcore.records.federation import privacy
from dxcore.records.missingness import FieldDropout
from dxcore.records.network import DEVIATION, LOGITS, record_autoencoder
from dxcore.records.preprocessing import encode, indicator_columns, indicator_fields
from dxcore.records.schema import Schema

log = logging.getLogger(__name__)
# Flower sends usage events to its developers' server unless this is "0" (read when an
# event is sent); work with patient data contacts no other host.
flower_telemetry.FLWR_TELEMETRY_ENABLED = "0"
VALIDATION_SEED = 1  # the validation part carved from each site's training split
VALIDATION_SIZE = 0.25
FOLDS = 5  # cross-fitting: out-of-fold predictions of every training case
# An update (site weights less global weights) longer than this many times the round's
# median update is left out: a site sending huge weights cannot drag the model away.
MAX_UPDATE_RATIO = 10.0
COMPILE_STEPS = True  # tf.function for the local steps (tracing pays off over many steps)


@dataclass(frozen=True)
class Site:
    """One centre of the UCI study, its file, and the fields it codes "not recorded" as 0."""

    name: str
    label: str
    file: str
    zero_means_missing: tuple[str, ...] = ()


SITES = {site.name: site for site in (
    Site("cleveland", "Cleveland Clinic Foundation", "processed.cleveland.data"),
    Site("hungary", "Hungarian Institute of Cardiology, Budapest", "processed.hungarian.data"),
    Site("switzerland", "University Hospitals of Zurich and Basel",
         "processed.switzerland.data", zero_means_missing=("chol",)),
)}


def site_named(name: str) -> Site:
    if name not in SITES:
        raise DxError(f"Unknown site '{name}'; the sites are {', '.join(SITES)}.")
    return SITES[name]


def load_site(name: str, data: str | Path | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """One site's findings as read (text cells) and labels 1 = disease (num > 0); the
    site's zero-coded fields read as missing. A file that is not a UCI heart-disease file
    (wrong number of columns, labels outside 0-4) is refused with a clear message."""
    site = site_named(name)
    path = require(data_dir(data) / "heart_disease" / site.file, f"UCI heart disease ({name})")
    try:
        table = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        raise DxError(f"The {name} site's file {site.file} cannot be read as CSV.") from None
    if table.shape[1] != len(COLUMNS) + 1:
        raise DxError(f"The {name} site's file {site.file} has {table.shape[1]} columns; a "
                      f"UCI heart-disease file has {len(COLUMNS) + 1} (13 findings and num).")
    table.columns = [*COLUMNS, "num"]
    labels = pd.to_numeric(table.pop("num"), errors="coerce")
    if not labels.isin([0, 1, 2, 3, 4]).all():
        raise DxError(f"The {name} site's file {site.file} has a diagnosis (num) other than "
                      "0-4 in some rows.")
    for column in site.zero_means_missing:
        table.loc[pd.to_numeric(table[column], errors="coerce") == 0, column] = "?"
    return table, (labels > 0).to_numpy(int)


def site_split(name: str, data: str | Path | None = None) -> tuple:
    """The site's train and test parts: the recipe's stratified 25% test split with its
    fixed seed (for Cleveland exactly the shipped model's split)."""
    return training.stratified_test_split(*load_site(name, data))


def validation_split(table: pd.DataFrame, labels: np.ndarray) -> tuple:
    """A training split's fitting and validation parts (stratified 25%, fixed seed): every
    choice of the federated recipe is made on the validation parts."""
    fit, held, y_fit, y_held = train_test_split(table, labels, test_size=VALIDATION_SIZE,
                                                stratify=labels, random_state=VALIDATION_SEED)
    return fit, y_fit, held, y_held


def fold_split(table: pd.DataFrame, labels: np.ndarray, fold: int) -> tuple:
    """A training split less its fold ``fold`` of :data:`FOLDS` (stratified, fixed seed), and
    that fold: each case is held out once, for out-of-fold predictions."""
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=VALIDATION_SEED)
    fit_index, held_index = list(folds.split(table, labels))[fold]
    labels = np.asarray(labels)
    return (table.iloc[fit_index], labels[fit_index], table.iloc[held_index],
            labels[held_index])


# --- Pooled statistics from per-site summaries -----------------------------------------


def summarise(values: pd.DataFrame, schema: Schema) -> dict:
    """What a site shares about its cases: counts, sums and sums of squares per numeric
    field, counts per category; never a row."""
    numeric = {}
    for f in schema.numeric:
        recorded = values[f.name].dropna().astype(float)
        numeric[f.name] = {"n": int(len(recorded)), "sum": float(recorded.sum()),
                           "sumsq": float((recorded ** 2).sum())}
    categorical = {f.name: {code: int((values[f.name].astype(str) == code).sum())
                            for code in f.categories} for f in schema.categorical}
    return {"cases": int(len(values)), "numeric": numeric, "categorical": categorical}


@dataclass
class Statistics:
    """The pooled fill values and the input standardisation (one mean and variance per
    encoded column, over the recorded values only)."""

    fill: dict[str, float | str]
    mean: list[float]
    variance: list[float]
    recorded: dict[str, int] = field(default_factory=dict)
    cases: int = 0  # over all sites

    @property
    def always_recorded(self) -> tuple[str, ...]:
        """The fields every site recorded for every case (never missing in training)."""
        return tuple(name for name, n in self.recorded.items() if n == self.cases)

    def as_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Statistics:
        return cls(**json.loads(text))


def pool_summaries(summaries: list[dict], schema: Schema) -> Statistics:
    """Fill values (mean of the recorded values; most frequent category) and
    standardisation pooled over the sites' summaries; a site that never recorded a field
    adds nothing to it."""
    fill, mean, variance, recorded = {}, [], [], {}
    for f in schema.numeric:
        n = sum(s["numeric"][f.name]["n"] for s in summaries)
        if n == 0:
            raise DxError(f"No site recorded {f.title}: the model cannot learn from it.")
        total = sum(s["numeric"][f.name]["sum"] for s in summaries)
        squares = sum(s["numeric"][f.name]["sumsq"] for s in summaries)
        fill[f.name], recorded[f.name] = total / n, n
        mean.append(total / n)
        variance.append(max(squares / n - (total / n) ** 2, training.MIN_VARIANCE))
    for f in schema.categorical:
        counts = np.array([sum(s["categorical"][f.name][c] for s in summaries)
                           for c in f.categories], float)
        if counts.sum() == 0:
            raise DxError(f"No site recorded {f.title}: the model cannot learn from it.")
        share = counts / counts.sum()
        fill[f.name], recorded[f.name] = list(f.categories)[int(np.argmax(counts))], int(
            counts.sum())
        mean.extend(share.tolist())
        variance.extend(np.maximum(share * (1 - share), training.MIN_VARIANCE).tolist())
    cases = sum(s["cases"] for s in summaries)
    for name in indicator_fields(schema):  # each indicator: the pooled share not recorded
        unrecorded = 1 - recorded[name] / cases
        mean.append(unrecorded)
        variance.append(max(unrecorded * (1 - unrecorded), training.MIN_VARIANCE))
    return Statistics(fill, mean, variance, recorded, cases)


# --- The network and its local training --------------------------------------------------


def build_network(statistics: Statistics, settings: training.Settings,
                  schema: Schema) -> keras.Model:
    return record_autoencoder(np.array(statistics.mean), np.array(statistics.variance),
                              settings.hidden, settings.code, settings.input_dropout,
                              settings.head_dropout, settings.l2,
                              missing_columns=(indicator_columns(schema)
                                               if schema.missing_indicators else None))


def field_dropout(schema: Schema, statistics: Statistics, settings: training.Settings
                  ) -> FieldDropout | None:
    """The training augmentation of a schema with missing-value indicators: every field but
    those all sites recorded for every case may be hidden."""
    if not (schema.missing_indicators and settings.field_dropout > 0):
        return None
    return FieldDropout.for_schema(schema, statistics.fill, settings.field_dropout,
                                   statistics.always_recorded)


def get_weights(model: keras.Model) -> list[np.ndarray]:
    """The weights a site sends: the trainable ones (the standardisation is pooled once)."""
    return [np.asarray(v) for v in model.trainable_variables]


def set_weights(model: keras.Model, weights: list[np.ndarray]) -> None:
    for variable, value in zip(model.trainable_variables, weights, strict=True):
        variable.assign(value)


class LocalTrainer:
    """Minibatch training of one network, with FedProx's proximal term
    ``mu / 2 * ||w - w_global||^2`` (``mu`` = 0 is plain FedAvg's local step)."""

    def __init__(self, model: keras.Model, settings: training.Settings,
                 augment: FieldDropout | None = None):
        self.model, self.settings, self.augment = model, settings, augment
        self.optimizer = keras.optimizers.AdamW(settings.learning_rate)
        self.anchor = [tf.Variable(v, trainable=False) for v in model.trainable_variables]
        self.mu = tf.Variable(0.0, trainable=False)
        self._step = (tf.function(self._train_step, reduce_retracing=True) if COMPILE_STEPS
                      else self._train_step)
        self.cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def _train_step(self, x, y):
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            out = self.model(x, training=True)
            loss = (self.cross_entropy(y, out[LOGITS])
                    + self.settings.reconstruction_weight * tf.reduce_mean(
                        tf.square(out[DEVIATION]))
                    + tf.add_n(self.model.losses))
            proximal = tf.add_n([tf.reduce_sum(tf.square(v - a))
                                 for v, a in zip(variables, self.anchor, strict=True)])
            loss += self.mu / 2 * proximal
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables,
                                           strict=True))
        return loss

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int, mu: float, seed: int) -> float:
        """``epochs`` passes over (x, y) from the current weights; the mean last-epoch loss."""
        for anchor, variable in zip(self.anchor, self.model.trainable_variables, strict=True):
            anchor.assign(variable)
        self.mu.assign(mu)
        rng = np.random.default_rng(seed)
        losses = [0.0]
        for _ in range(epochs):
            order = rng.permutation(len(y))
            losses = [float(self._step(tf.constant(self._augmented(x[batch], rng)),
                                       tf.constant(y[batch])))
                      for batch in np.array_split(order, max(1, len(y) //
                                                             self.settings.batch_size))]
        return float(np.mean(losses))


    def _augmented(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return x if self.augment is None else self.augment(x, rng)


def logits_of(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model(x, training=False)[LOGITS])


def positive_score(logits: np.ndarray) -> np.ndarray:
    """The log-odds of disease (what the AUC ranks)."""
    return logits[:, 1] - logits[:, 0]


# --- The site's Flower client ------------------------------------------------------------


class SiteClient(NumPyClient):
    """One site: reads only its own file, shares its summary, trains and validates locally.

    ``stage`` "select" trains on the fitting part of the site's training split and reports
    the AUC on its validation part; "final" trains on the whole training split. A file that
    cannot be read is reported in the summary (``error``), so the server leaves the site out
    with that message instead of stopping.
    """

    def __init__(self, site: str, schema: Schema, settings: training.Settings,
                 data: str | Path | None = None, stage: str = "select", seed: int = 0,
                 fold: int | None = None):
        self.site, self.schema, self.settings, self.seed = site, schema, settings, seed
        self.error = None
        try:
            train_table, y_train, _, _ = site_split(site, data)
        except DxError as error:
            self.error = str(error)
            return
        if fold is not None:  # cross-fitting: fold ``fold`` of the training split held out
            fit, y_fit, held, y_held = fold_split(train_table, y_train, fold)
        elif stage == "select":
            fit, y_fit, held, y_held = validation_split(train_table, y_train)
        else:
            fit, y_fit, held, y_held = train_table, y_train, None, None
        self.values = training.dataset_values(fit, schema)[0]
        self.y = np.asarray(y_fit)
        self.held = None if held is None else training.dataset_values(held, schema)[0]
        self.y_held = y_held
        self.model: keras.Model | None = None
        self.x = self.x_held = None

    def get_properties(self, config: dict[str, Scalar]) -> dict[str, Scalar]:
        if self.error:
            return {"site": self.site, "error": self.error}
        return {"site": self.site, "summary": json.dumps(summarise(self.values, self.schema))}

    def _ready(self, config: dict[str, Scalar]) -> None:
        if self.model is not None:
            return
        if self.error:
            raise DxError(self.error)
        statistics = Statistics.from_json(str(config["statistics"]))
        keras.utils.set_random_seed(self.seed)
        self.model = build_network(statistics, self.settings, self.schema)
        self.trainer = LocalTrainer(self.model, self.settings,
                                    field_dropout(self.schema, statistics, self.settings))
        self.x = encode(self.values, self.schema, statistics.fill)
        if self.held is not None:
            self.x_held = encode(self.held, self.schema, statistics.fill)

    def fit(self, parameters, config):
        self._ready(config)
        set_weights(self.model, parameters)
        loss = self.trainer.fit(self.x, self.y, int(config["local_epochs"]),
                                float(config.get("proximal_mu", 0.0)),
                                self.seed + int(config["server_round"]))
        return get_weights(self.model), len(self.y), {"site": self.site, "loss": loss}

    def evaluate(self, parameters, config):
        self._ready(config)
        if self.x_held is None:
            return 0.0, 0, {"site": self.site}
        set_weights(self.model, parameters)
        score = positive_score(logits_of(self.model, self.x_held))
        auc = float(roc_auc_score(self.y_held, score))
        return 1.0 - auc, len(self.y_held), {"site": self.site, "auc": auc}


# --- The server's strategy ---------------------------------------------------------------


def update_norms(results: list[np.ndarray | list], reference: list[np.ndarray]) -> np.ndarray:
    """The L2 norm of each site's update (its weights less the round's global weights);
    inf where a weight is not finite."""
    norms = []
    for weights in results:
        if not all(np.all(np.isfinite(w)) for w in weights):
            norms.append(np.inf)
            continue
        norms.append(float(np.sqrt(sum(np.sum((np.asarray(w, np.float64) - r) ** 2)
                                       for w, r in zip(weights, reference, strict=True)))))
    return np.array(norms)


def robust_strategy(base: type[FedAvg]) -> type[FedAvg]:
    """``base`` (FedAvg or FedProx) that (1) pools the sites' summaries before round 1 into
    the statistics every site then uses, leaving out a site whose summary carries an error,
    and (2) leaves out of each round a site whose update is not finite or longer than
    :data:`MAX_UPDATE_RATIO` times the round's median update."""

    class Robust(base):
        def __init__(self, *, schema: Schema, settings: training.Settings, sites: int,
                     local_epochs: int, seed: int = 0, join_timeout: float = 120.0,
                     **options):
            self.schema, self.settings, self.seed = schema, settings, seed
            self.expected_sites, self.join_timeout = sites, join_timeout
            self.local_epochs = local_epochs
            self.statistics: Statistics | None = None
            self.left_out: dict[str, str] = {}   # site -> why it takes no part
            self.site_of: dict[str, str] = {}    # client id -> site
            self.rejected: list[tuple[int, str, str]] = []  # (round, site, why)
            self.sites_per_round: list[int] = []  # how many updates each round averaged
            self.update_norms: list[dict[str, float]] = []  # per round: site -> update norm
            self.current: list[np.ndarray] | None = None
            self.validation: list[dict[str, float]] = []  # per round: site -> AUC
            self.history: list[list[np.ndarray]] = []  # the global weights after each round
            super().__init__(min_fit_clients=1, min_evaluate_clients=1,
                             min_available_clients=1, accept_failures=True,
                             on_fit_config_fn=self._config, on_evaluate_config_fn=self._config,
                             fit_metrics_aggregation_fn=_site_metrics,
                             evaluate_metrics_aggregation_fn=_site_metrics, **options)

        def _config(self, server_round: int) -> dict[str, Scalar]:
            config = {"server_round": server_round, "local_epochs": self.local_epochs,
                      "statistics": self.statistics.as_json()}
            if hasattr(self, "proximal_mu"):
                config["proximal_mu"] = self.proximal_mu
            return config

        def initialize_parameters(self, client_manager) -> Parameters:
            client_manager.wait_for(self.expected_sites, timeout=int(self.join_timeout))
            if not client_manager.num_available():
                raise DxError(f"No site joined the federated run within "
                              f"{self.join_timeout:.0f} s.")
            summaries = []
            for cid, proxy in sorted(client_manager.all().items()):
                try:
                    reply = proxy.get_properties(GetPropertiesIns({}), timeout=self.join_timeout,
                                                 group_id=0).properties
                except Exception as error:  # a site that drops out before round 1
                    self.left_out[cid] = f"no summary ({type(error).__name__})"
                    continue
                site = str(reply.get("site", cid))
                self.site_of[cid] = site
                if "error" in reply:
                    self.left_out[site] = str(reply["error"])
                    continue
                summaries.append(json.loads(str(reply["summary"])))
            if not summaries:
                raise DxError("No site sent a usable summary: "
                              + "; ".join(f"{k}: {v}" for k, v in self.left_out.items()))
            self.statistics = pool_summaries(summaries, self.schema)
            keras.utils.set_random_seed(self.seed)
            self.current = get_weights(build_network(self.statistics, self.settings,
                                                     self.schema))
            return ndarrays_to_parameters(self.current)

        def _taking_part(self, instructions: list) -> list:
            return [(proxy, ins) for proxy, ins in instructions
                    if self.site_of.get(proxy.cid) not in self.left_out
                    and proxy.cid not in self.left_out]

        def configure_fit(self, server_round, parameters, client_manager):
            return self._taking_part(super().configure_fit(server_round, parameters,
                                                           client_manager))

        def configure_evaluate(self, server_round, parameters, client_manager):
            return self._taking_part(super().configure_evaluate(server_round, parameters,
                                                                client_manager))

        def aggregate_fit(self, server_round, results, failures):
            return self.average(server_round, self.screen(server_round, results, failures))

        def screen(self, server_round, results, failures) -> list:
            """The round's results less those left out (not finite, or too long an update);
            records the sites' update norms and how many updates the round keeps."""
            for failure in failures:
                log.warning("round %d: a site failed (%s); the round goes on without it",
                            server_round, type(failure).__name__)
            weights = [parameters_to_ndarrays(res.parameters) for _, res in results]
            norms = update_norms(weights, self.current)
            finite = norms[np.isfinite(norms)]
            limit = MAX_UPDATE_RATIO * float(np.median(finite)) if len(finite) else 0.0
            kept = []
            for (proxy, res), norm in zip(results, norms, strict=True):
                site = str(res.metrics.get("site", proxy.cid))
                if not np.isfinite(norm):
                    self.rejected.append((server_round, site, "weights not finite"))
                elif len(finite) > 1 and norm > limit:
                    self.rejected.append((server_round, site,
                                          f"update {norm:.3g} > {MAX_UPDATE_RATIO:g} x median"))
                else:
                    kept.append((proxy, res))
                    continue
                log.warning("round %d: %s left out: %s", server_round, site,
                            self.rejected[-1][2])
            self.update_norms.append({str(res.metrics.get("site", proxy.cid)): float(norm)
                                      for (proxy, res), norm in zip(results, norms,
                                                                    strict=True)})
            self.sites_per_round.append(len(kept))
            return kept

        def average(self, server_round, kept) -> tuple:
            """The base strategy's average of the kept results, which becomes the global
            weights the next round's updates are measured from."""
            parameters, metrics = super().aggregate_fit(server_round, kept, [])
            if parameters is not None:
                self.current = parameters_to_ndarrays(parameters)
            self.history.append(self.current)
            return parameters, {**metrics, "sites": len(kept)}

        def aggregate_evaluate(self, server_round, results, failures):
            self.validation.append({str(res.metrics["site"]): float(res.metrics["auc"])
                                    for _, res in results if "auc" in res.metrics})
            return super().aggregate_evaluate(server_round, results, failures)

    Robust.__name__ = Robust.__qualname__ = f"Robust{base.__name__}"
    return Robust


def _site_metrics(metrics: list[tuple[int, dict]]) -> dict[str, Scalar]:
    """Each site's metrics under its name (``hungary_auc``); the per-site AUCs are what
    selection compares."""
    return {f"{m['site']}_{key}": value for _, m in metrics for key, value in m.items()
            if key != "site"}


STRATEGIES = {"fedavg": FedAvg, "fedprox": FedProx}


@dataclass(frozen=True)
class Plan:
    """A federated run: strategy, rounds, local epochs per round, FedProx's mu, and optional
    central differential privacy (:mod:`dxcore.records.federation.privacy`): each site's
    update clipped to ``clipping_norm``, Gaussian noise of ``noise_multiplier`` times it
    added to the average."""

    strategy: str = "fedavg"
    rounds: int = 20
    local_epochs: int = 5
    mu: float = 0.0
    noise_multiplier: float | None = None
    clipping_norm: float | None = None

    def describe(self) -> str:
        mu = f", mu {self.mu:g}" if self.strategy == "fedprox" else ""
        privacy = (f", central DP (noise {self.noise_multiplier:g} x clip "
                   f"{self.clipping_norm:g})" if self.noise_multiplier is not None else "")
        return (f"{self.strategy}: {self.rounds} rounds of {self.local_epochs} local "
                f"epochs{mu}{privacy}")


def make_strategy(plan: Plan, schema: Schema, settings: training.Settings, sites: int,
                  seed: int = 0, evaluate: bool = True, join_timeout: float = 120.0) -> Strategy:
    """The plan's robust strategy; wrapped in Flower's central DP when the plan asks for it
    (the wrapper hands every attribute of the robust strategy through)."""
    if plan.strategy not in STRATEGIES:
        raise DxError(f"Unknown strategy '{plan.strategy}'; use {' or '.join(STRATEGIES)}.")
    options = {"proximal_mu": plan.mu} if plan.strategy == "fedprox" else {}
    strategy = robust_strategy(STRATEGIES[plan.strategy])(
        schema=schema, settings=settings, sites=sites, local_epochs=plan.local_epochs,
        seed=seed, join_timeout=join_timeout, fraction_evaluate=1.0 if evaluate else 0.0,
        **options)
    if plan.noise_multiplier is None and plan.clipping_norm is None:
        return strategy
    return privacy.central_privacy(strategy, plan.noise_multiplier,
                                             plan.clipping_norm, sites)


# --- In-process engine: Flower's Server with client proxies that call the client -----------


class LocalProxy(ClientProxy):
    """A ClientProxy that calls its client in this process (no network)."""

    def __init__(self, cid: str, client: NumPyClient):
        super().__init__(cid)
        self.client = client.to_client()

    def get_properties(self, ins, timeout, group_id) -> GetPropertiesRes:
        return self.client.get_properties(ins)

    def get_parameters(self, ins, timeout, group_id):
        return self.client.get_parameters(ins)

    def fit(self, ins, timeout, group_id) -> FitRes:
        return self.client.fit(ins)

    def evaluate(self, ins, timeout, group_id) -> EvaluateRes:
        return self.client.evaluate(ins)

    def reconnect(self, ins, timeout, group_id):
        from flwr.common import DisconnectRes

        return DisconnectRes(reason="")


def run_in_process(clients: list[NumPyClient], strategy: FedAvg, rounds: int) -> FedAvg:
    """``rounds`` of federated training with Flower's ``Server`` and these clients in this
    process; returns the strategy (its ``current`` weights, ``statistics``, ``validation``
    per round, ``left_out`` and ``rejected`` sites)."""
    manager = SimpleClientManager()
    for k, client in enumerate(clients):
        manager.register(LocalProxy(f"site-{k}", client))
    server = Server(client_manager=manager, strategy=strategy)
    server.set_max_workers(1)  # one site after another: reproducible, and 2 CPU cores
    server.fit(num_rounds=rounds, timeout=None)
    return strategy


def final_network(strategy: FedAvg, settings: training.Settings,
                  after_round: int | None = None) -> keras.Model:
    """The global model the strategy holds (or held after round ``after_round``): the
    pooled standardisation and its weights."""
    model = build_network(strategy.statistics, settings, strategy.schema)
    set_weights(model, strategy.current if after_round is None
                else strategy.history[after_round - 1])
    return model

