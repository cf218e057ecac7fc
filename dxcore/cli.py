"""``python -m dxcore``: list, train, evaluate and run the shipped models.

Every failure a user can cause prints one plain sentence and sets the exit status; no
traceback reaches the terminal. ``predict --json`` prints one JSON object per input line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter off

from dxcore.errors import DxError  # noqa: E402


def _models(args: argparse.Namespace) -> int:
    from dxcore.registry import list_cards

    cards = list_cards()
    if args.json:
        for card in cards:
            print(json.dumps({"id": card.id, "modality": card["modality"],
                              "task": card["task"], "test_metrics": card.headline(),
                              "targets_missed": [c.describe() for c in card.unmet_targets()]}))
        return 0
    for card in cards:
        metrics = ", ".join(f"{k} {v}" for k, v in card.headline().items())
        print(f"{card.id:16} {card['modality']:8} {card['task']}\n{'':26}test: {metrics}")
        for check in card.unmet_targets():
            print(f"{'':26}BELOW TARGET: {check.describe()}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from dxcore.cards import write_card
    from dxcore.evaluation import evaluate, store_test_metrics
    from dxcore.recipes import recipe_for
    from dxcore.registry import get_model, models_dir

    out_dir = Path(args.out) if args.out else models_dir() / args.model_id
    options = {} if args.epochs is None else {"epochs": args.epochs}  # else the recipe's
    recipe = recipe_for(args.model_id)
    fields = recipe.train(out_dir, data=args.data, seed=args.seed, **options)
    card = write_card({**fields, "targets": recipe.TARGETS}, out_dir)
    print(f"Trained {card.id} in {fields['training']['seconds']} s; weights in {out_dir}.")
    if not args.out:
        get_model.cache_clear()
        card = store_test_metrics(card, evaluate(card.id, args.data))
        print("Test metrics:", json.dumps(card.headline(), indent=2))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from dxcore.evaluation import evaluate, store_test_metrics
    from dxcore.recipes import recipe_for
    from dxcore.registry import get_card

    metrics = evaluate(args.model_id, args.data)
    if args.store:
        store_test_metrics(get_card(args.model_id), metrics)
    recipe = recipe_for(args.model_id)
    if args.json:
        print(json.dumps({"model": args.model_id, "test_metrics": metrics}))
    elif hasattr(recipe, "table"):  # a recipe whose metrics need their own layout
        print(recipe.table(metrics))
    else:
        for name, metric in metrics.items():
            ci = metric.get("ci95")
            value = metric["value"]
            text = f"{value:.4f}" if isinstance(value, float) else str(value)
            print(f"{name:12} {text}" + (f"  (95% CI {ci[0]:.4f}-{ci[1]:.4f})" if ci else ""))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from dxcore.predict import predict_file, predict_record
    from dxcore.registry import get_model

    model = get_model(args.model_id)
    modality = model.card["modality"]
    if modality == "ecg" and args.explain:
        raise DxError("--explain is for image models; an ECG beat's saliency is shown on "
                      "the ECG page (dxcore.ecg.beat_saliency).")
    if modality == "record":
        return _predict_cases(model, args)
    ecg = modality == "ecg"
    model.load()  # verify and load once, before the per-file loop
    failures = 0
    files = tqdm(args.files, desc="Predicting", unit="file", disable=len(args.files) < 2)
    for path in files:
        if ecg:
            result = predict_record(model, path, fs=args.fs, lead=args.lead)
        else:
            result = predict_file(model, path, explain=args.explain, out_dir=args.out)
        failures += "error" in result
        if args.json:
            print(json.dumps(result), flush=True)
        elif "error" in result:
            print(f"{path}: {result['error']}")
        elif ecg:
            summary = result["summary"]
            counts = ", ".join(f"{k} {v}" for k, v in summary["beats_per_class"].items())
            print(f"{path}: {summary['beats']} beats ({counts}); mean heart rate "
                  f"{summary['mean_heart_rate_bpm']} bpm; ectopic burden "
                  f"{summary['ectopic_burden_percent']}%; longest V run "
                  f"{summary['longest_v_run']}")
        else:
            probabilities = ", ".join(f"{k} {v:.3f}" for k, v in result["probabilities"].items())
            print(f"{path}: {result['prediction']} ({probabilities})")
    return 1 if failures else 0


def _predict_cases(model, args: argparse.Namespace) -> int:
    """Record models: each file is a CSV or JSON table of cases; one line per row."""
    from dxcore.predict import predict_cases_file

    if args.explain not in (None, "ig"):
        raise DxError("Record models are explained with integrated gradients: --explain ig.")
    model.load()
    failures = 0
    for path in args.files:
        results, notes = predict_cases_file(model, path, explain=args.explain == "ig")
        for note in notes:  # on stderr: stdout stays one JSON object per row
            print(f"{path}: {note}", file=sys.stderr)
        for result in results:
            failures += "error" in result
            where = f"{path} row {result['row']}" if "row" in result else str(path)
            if args.json:
                print(json.dumps(result), flush=True)
            elif "error" in result:
                print(f"{where}: {result['error']}")
            else:
                probabilities = ", ".join(f"{k} {v:.3f}"
                                          for k, v in result["probabilities"].items())
                print(f"{where}: {result['prediction']} ({probabilities}); atypicality "
                      f"{result['atypicality']:.0f}th percentile of the training cohort")
                for sentence in result.get("explanation", {}).get("sentences", []):
                    print(f"    {sentence}")
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dxcore", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    models = commands.add_parser("models", help="list the shipped models and their test metrics")
    models.add_argument("--json", action="store_true", help="one JSON object per model")
    models.set_defaults(run=_models)

    train = commands.add_parser("train", help="retrain a shipped model from its dataset")
    train.add_argument("model_id")
    train.add_argument("--data", help="datasets folder (default: $DX_DATA_DIR or ../shared/data)")
    train.add_argument("--epochs", type=int, help="default: the recipe's own")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="write here instead of replacing the shipped model")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="measure a model on its official test split")
    evaluate.add_argument("model_id")
    evaluate.add_argument("--data")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--store", action="store_true", help="write the metrics into the card")
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser("predict", help="run a model on files")
    predict.add_argument("model_id")
    predict.add_argument("files", nargs="+", metavar="FILE",
                         help="images; for ECG models, WFDB records (name without extension "
                              "or .hea) or CSV files; for record models, CSV or JSON files of "
                              "cases (one per row or object)")
    predict.add_argument("--fs", type=float, metavar="HZ",
                         help="ECG: sampling rate of CSV files without a time column")
    predict.add_argument("--lead", metavar="NAME", help="ECG: the lead to analyse (default MLII)")
    predict.add_argument("--explain", metavar="METHOD",
                         help="also compute a saliency map: gradcam++, scorecam or smoothgrad; "
                              "record models: ig (integrated gradients per field)")
    predict.add_argument("--out", help="with --explain, save each overlay as a PNG here")
    predict.add_argument("--json", action="store_true", help="one JSON object per input")
    predict.set_defaults(run=_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except DxError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the promise is: never a traceback in the terminal
        print(f"Unexpected error ({type(error).__name__}): {error}", file=sys.stderr)
        return 2
