"""Choose leukemia-golub's recipe across expression datasets, never on Golub's test patients
(issue 15).

Each candidate is cross-validated (stratified K-fold, repeated, fixed seed) on the six sets
of ``microarray/`` (alon, khan, shipp, singh, sorlie, west) and on Golub's 38 training
patients (the 34 test patients are never read). All preprocessing is fitted inside each
outer fold, and every hyperparameter by an inner stratified 3-fold CV of the outer fold's
training part (scored by AUC; ties go to the strongest regularisation, listed first).

Figures per fold: AUC (binary sets: of the positive class's score; khan's 4 and sorlie's 5
classes: the macro mean of the one-vs-rest AUCs of each class's score) and error (share of
the held-out fold wrongly classified; multi-class: argmax). The table gives their mean and
SD over folds x repeats per dataset, and the mean over the 7 datasets.

Ranking rule, fixed before running: highest mean AUC over the 7 datasets; a mean AUC within
0.002 of the best counts as a tie, broken by the lower mean error, then by the simpler model
(the order of ``CANDIDATES``).

Candidates: Golub's standard preprocessing (:mod:`dxcore.records.expression`) and then
nearest shrunken centroids (Tibshirani et al. 2002: sklearn ``NearestCentroid`` with
``shrink_threshold``), L2 and L1 penalised logistic regression, the elastic net (Zou &
Hastie 2005) and a linear SVM, each linear model after per-probe standardisation; and
today's supervised autoencoder with today's preprocessing (floor, ceiling and log10 for raw
intensities, nothing for the logged sets; per-probe standardisation in the network), with
fewer repeats because each fit takes seconds.

Run (the defaults: every linear candidate, 2 repeats; on two idle cores about half an hour,
estimated from unloaded per-set times; the autoencoder far longer)::

    nice -n 19 python scripts/golub_selection.py --out runs/golub_selection.json
    nice -n 19 python scripts/golub_selection.py --only ae --repeats 1 --out runs/ae.json
    python scripts/golub_selection.py --table runs/golub_selection.json runs/ae.json

What issue 15's run measured, and what it cut: ``docs/golub-selection.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RepeatedStratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dxcore.datasets import data_dir, golub  # noqa: E402
from dxcore.records.expression import (  # noqa: E402
    clipped_log10,
    linear_candidate,
    macro_auc,
)

SEED = 0
FOLDS = 5
SETS = ("alon", "khan", "shipp", "singh", "sorlie", "west")
LOG_SCALED = {"khan", "sorlie", "west"}  # values already logged (negatives, range < 20)
# The positive class of the binary sets (AUC of its score; error is symmetric anyway).
POSITIVE = {"alon": "t", "shipp": "FL", "singh": "Tumor", "west": "positive",
            "golub": "AML"}
CANDIDATES = ("nsc", "lr_l2", "lr_l1", "enet", "svm", "ae")
LABELS = {"nsc": "nearest shrunken centroids", "lr_l2": "logistic regression, L2",
          "lr_l1": "logistic regression, L1", "enet": "elastic net (logistic)",
          "svm": "linear SVM", "ae": "supervised autoencoder (today's)"}


def load(name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Arrays, integer labels and whether the values are already logged. ``golub`` is the
    38 training patients only."""
    if name == "golub":
        table, y = golub.official_split("train")
        return table.to_numpy(float), y, False
    frame = pd.read_csv(data_dir() / "microarray" / f"{name}.csv.gz")
    labels = frame.pop("label").astype(str)
    classes = sorted(labels.unique())
    if name in POSITIVE:  # negative class 0, positive 1
        classes = [c for c in classes if c != POSITIVE[name]] + [POSITIVE[name]]
    y = labels.map({c: i for i, c in enumerate(classes)}).to_numpy()
    return frame.to_numpy(float), y, name in LOG_SCALED


def ae_scores(x_fit, y_fit, x_held, log_scaled: bool, seed: int) -> np.ndarray:
    """Today's supervised autoencoder (leukemia-golub's settings), logits of ``x_held``."""
    from dxcore.records.network import LOGITS
    from dxcore.records.recipes.leukemia_golub import SETTINGS as s
    from dxcore.records.training import fit_network

    def prep(x):
        return (x if log_scaled else clipped_log10(x)).astype("float32")
    x_fit, x_held = prep(x_fit), prep(x_held)
    net = fit_network(x_fit, y_fit, s, seed, classes=int(y_fit.max()) + 1)
    return np.asarray(net(x_held, training=False)[LOGITS])


def run_one(candidate: str, dataset: str, repeats: int) -> dict:
    x, y, log_scaled = load(dataset)
    folds = RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=repeats, random_state=SEED)
    aucs, errors, chosen = [], [], []
    for k, (fit, held) in enumerate(folds.split(x, y)):
        if candidate == "ae":
            scores = ae_scores(x[fit], y[fit], x[held], log_scaled, SEED + k)
        else:
            model = linear_candidate(candidate, log_scaled, SEED + k).fit(x[fit], y[fit])
            scores = model.decision_function(x[held])
            chosen.append(model.best_params_)
        predicted = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        aucs.append(macro_auc(y[held], scores))
        errors.append(float(np.mean(predicted != y[held])))
    return {"candidate": candidate, "dataset": dataset, "repeats": repeats, "folds": FOLDS,
            "auc": aucs, "error": errors, "chosen": chosen}


def table(results: list[dict]) -> str:
    """Markdown table: AUC and error (mean ± SD over folds) per dataset, and the means."""
    datasets = [*SETS, "golub"]
    by = {(r["candidate"], r["dataset"]): r for r in results}
    names = [c for c in CANDIDATES if any(key[0] == c for key in by)]
    head = "| candidate | " + " | ".join(f"{d}{' (38 train)' if d == 'golub' else ''}"
                                         for d in datasets) + " | mean AUC | mean error |"
    lines = [head, "|" + "---|" * (len(datasets) + 3)]
    summary = {}
    for c in names:
        cells, mean_auc, mean_err = [], [], []
        for d in datasets:
            r = by.get((c, d))
            if r is None:
                cells.append("n/a")
                continue
            a, e = np.array(r["auc"]), np.array(r["error"])
            mean_auc.append(a.mean())
            mean_err.append(e.mean())
            cells.append(f"{a.mean():.3f} ± {a.std():.3f} / {e.mean():.3f} ± {e.std():.3f}")
        complete = len(mean_auc) == len(datasets)
        summary[c] = (np.mean(mean_auc), np.mean(mean_err), complete)
        done = "" if complete else f" ({len(mean_auc)} of {len(datasets)} sets)"
        lines.append(f"| {LABELS[c]} | " + " | ".join(cells) +
                     f" | {np.mean(mean_auc):.4f}{done} | {np.mean(mean_err):.4f}{done} |")
    lines.append("")
    repeats = {c: sorted({r["repeats"] for r in results if r["candidate"] == c}) for c in names}
    lines.append(f"Cells: AUC mean ± SD / error mean ± SD over the folds of {FOLDS}-fold CV x "
                 "repeats; repeats: " + ", ".join(
                     f"{c} {'/'.join(map(str, repeats[c]))}" for c in names) + ".")
    ranked = rank(summary)
    if ranked:
        lines.append("Ranking (rule in the script's docstring): " + " > ".join(
            LABELS[c] for c in ranked) + f". Winner: {LABELS[ranked[0]]}.")
    return "\n".join(lines)


def rank(summary: dict[str, tuple[float, float, bool]]) -> list[str]:
    """Candidates by the ranking rule; only those measured on all 7 datasets."""
    complete = {c: v for c, v in summary.items() if v[2]}
    if not complete:
        return []
    best = max(v[0] for v in complete.values())
    tied = [c for c in CANDIDATES if c in complete and complete[c][0] >= best - 0.002]
    tied.sort(key=lambda c: (complete[c][1], CANDIDATES.index(c)))
    rest = sorted((c for c in complete if c not in tied), key=lambda c: -complete[c][0])
    return tied + rest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=CANDIDATES, default=None)
    parser.add_argument("--datasets", nargs="+", choices=[*SETS, "golub"],
                        default=[*SETS, "golub"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, help="JSON file of every fold's figures")
    parser.add_argument("--table", nargs="+", type=Path, metavar="JSON",
                        help="print the table of earlier runs and exit")
    args = parser.parse_args()
    if args.table:
        print(table([r for path in args.table for r in json.loads(path.read_text())]))
        return 0
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    results = []
    for candidate in args.only or [c for c in CANDIDATES if c != "ae"]:
        for dataset in args.datasets:
            started = time.time()
            results.append(run_one(candidate, dataset, args.repeats))
            r = results[-1]
            print(f"{candidate:6} {dataset:7} AUC {np.mean(r['auc']):.4f} error "
                  f"{np.mean(r['error']):.4f} ({time.time() - started:.0f} s)", flush=True)
            if args.out:  # after each pair: a long run interrupted keeps what it did
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(results))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
