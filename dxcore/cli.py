"""``python -m dxcore``: list, train, evaluate, run and report the shipped models.

Also: case-file templates of record models, and the dashboard's audit trail. A modality may
bring commands of its own (``commands`` of :class:`dxcore.registry.Modality`: the case
records' ``federate``); they are added when the command asked for is none of these, so
that the others never import a modality they do not use.

Every failure a user can cause prints one plain sentence and sets the exit status; no
traceback reaches the terminal. ``predict --json`` prints one JSON object per input line.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dxcore.errors import DxError

if TYPE_CHECKING:
    from dxcore.cards import ModelCard
    from dxcore.contract import DxModel, Result
    from dxcore.formats import FileFormat

# Terminal escape sequences (CSI such as "\x1b[2J", OSC such as a window title, the 8-bit
# CSI "\x9b", two-character ones) and every other C0 and C1 control character: text from a
# file (a lead name, a column, a case id, a DICOM field) must not clear the screen, move
# the cursor or start a fake line of output.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]"
                              r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    r"""``text`` with escape sequences removed and other control characters shown as "?".

    >>> terminal_safe("\x1b[2J\x1b[H FAKE\nRESULT\x9b1m")
    ' FAKE?RESULT'
    """
    return _CONTROL_CHARACTER.sub("?", _ESCAPE_SEQUENCE.sub("", text))


def _say(*lines: str, error: bool = False) -> None:
    """Every line the command writes, each made :func:`terminal_safe`: the one place
    where output reaches the terminal (stdout, or stderr for notes and errors)."""
    for line in lines:
        print(terminal_safe(line), file=sys.stderr if error else sys.stdout, flush=True)


MODELS_TABLE_HEADER = ("model", "task", "test AUC", "test accuracy", "sensitivity",
                       "specificity", "targets")


def models_markdown(cards: list[ModelCard]) -> str:
    """The README's models table, every figure read from the cards (``python -m dxcore
    models --markdown``): one row per model, its test metrics as the pages show them (value
    and 95% CI; "—" for one it does not report) and each of its targets, met or missed. The
    README holds this output between marker comments, and a test fails when the two differ,
    so the README cannot drift from the cards again."""
    from dxcore.cards import metric_label

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    def measured(card: ModelCard, name: str) -> str:
        return card.metric_text(name) or "—"

    lines = ["| " + " | ".join(MODELS_TABLE_HEADER) + " |",
             "|" + "---|" * len(MODELS_TABLE_HEADER)]
    for card in cards:
        metrics = card.get("test_metrics") or {}
        accuracy = measured(card, "accuracy")
        wrong, count = metrics.get("misclassified"), metrics.get("n")
        if isinstance(wrong, dict) and isinstance(count, dict):
            accuracy += f", {wrong['value']:,} of {count['value']:,} wrong"
        targets = "; ".join(
            f"{metric_label(check.metric)} {'>=' if check.direction == 'at_least' else '<='} "
            f"{check.bound:g} {'met' if check.met else '**missed**'}"
            for check in card.target_checks()) or "none stated"
        auc = measured(card, "auc")
        at_sites = [name for name in metrics if name.startswith("auc_at_")]
        if at_sites:  # a model trained across sites: its AUC at each of them too
            auc += "; " + "; ".join(f"{metric_label(name).removeprefix('AUC ')} "
                                    f"{measured(card, name)}" for name in at_sites)
        row = [f"`{card.id}`", card["task"], auc, accuracy,
               measured(card, "sensitivity"), measured(card, "specificity"), targets]
        lines.append("| " + " | ".join(cell(text) for text in row) + " |")
    return "\n".join(lines)


def _models(args: argparse.Namespace) -> int:
    from dxcore.registry import list_cards

    cards = list_cards()
    if args.markdown:
        _say(*models_markdown(cards).splitlines())
        return 0
    if args.json:
        for card in cards:
            _say(json.dumps({"id": card.id, "modality": card["modality"],
                              "task": card["task"], "test_metrics": card.headline(),
                              "targets_missed": [c.describe() for c in card.unmet_targets()]}))
        return 0
    for card in cards:
        metrics = ", ".join(f"{k} {v}" for k, v in card.headline().items())
        _say(f"{card.id:16} {card['modality']:8} {card['task']}", f"{'':26}test: {metrics}")
        for check in card.unmet_targets():
            _say(f"{'':26}BELOW TARGET: {check.describe()}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from dxcore.card_writing import earlier_test_evaluations, training_software, write_card
    from dxcore.evaluation import (
        evaluate_and_store,
        fit_domain_guard,
        fit_label_shift,
        fit_population_guard,
        fit_prediction_sets,
    )
    from dxcore.paths import models_dir
    from dxcore.registry import get_model, recipe_for

    out_dir = Path(args.out) if args.out else models_dir() / args.model_id
    options = {} if args.epochs is None else {"epochs": args.epochs}  # else the recipe's
    recipe = recipe_for(args.model_id)
    if args.recipe:
        if args.recipe not in getattr(recipe, "RECIPES", {}):
            raise DxError(f"The model '{args.model_id}' has no recipe named '{args.recipe}'; "
                          f"it has: {', '.join(getattr(recipe, 'RECIPES', {})) or 'one'}.")
        options["recipe"] = args.recipe
    earlier = earlier_test_evaluations(args.model_id, out_dir)
    fields = recipe.train(out_dir, data=args.data, seed=args.seed, **options)
    # The model's own licence: none stated (the repository has none); the card's format
    # version and checksums are stamped by write_card. The test split's measurements so far
    # stay counted, whatever the recipe.
    card = write_card({"licence": None, **fields, "software": training_software(),
                       "targets": recipe.TARGETS, "test_evaluations": earlier}, out_dir)
    _say(f"Trained {card.id} in {fields['training']['seconds']} s; weights in {out_dir}.")
    if not args.out:
        if hasattr(recipe, "fit_domain_guard") and card.domain_guard is None:
            fit_domain_guard(card.id, args.data)  # unless the recipe's train fitted it
        if hasattr(recipe, "fit_population_guard"):
            fit_population_guard(card.id, args.data)
        if card.conformal is None:  # unless the recipe's train calibrated them
            fit_prediction_sets(card.id, args.data)
        if get_model(card.id).adaptable:
            fit_label_shift(card.id, args.data)
        card, _ = evaluate_and_store(card.id, "python -m dxcore train: the new model's "
                                     "measurement", args.data)
        _say("Test metrics:", *json.dumps(card.headline(), indent=2).splitlines())
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from dxcore.evaluation import (
        fit_domain_guard,
        fit_label_shift,
        fit_population_guard,
        fit_prediction_sets,
    )
    from dxcore.registry import get_model, recipe_for

    recipe = recipe_for(args.model_id)
    if args.population and not hasattr(recipe, "fit_population_guard"):
        raise DxError(f"The model '{args.model_id}' has no population guard to fit.")
    only = args.population or args.label_shift  # one part alone; else every part
    if not only:
        if hasattr(recipe, "fit_domain_guard"):
            guard = fit_domain_guard(args.model_id, args.data).domain_guard
            _say(f"domain guard: {json.dumps(guard)[:300]}")
        card = fit_prediction_sets(args.model_id, args.data)
        for level, floors in card.conformal["min_probability"].items():
            shown = ", ".join(f"{name} {p:.3f}" for name, p in floors.items())
            _say(f"coverage {level}: a class is in the set from P = {shown}")
    if hasattr(recipe, "fit_population_guard") and (args.population or not only):
        card = fit_population_guard(args.model_id, args.data)
        figures = card["validation_metrics"]["population_guard"]
        _say(f"population guard: C {card.population['image_guard']['penalty_c']:g}, "
             f"threshold {card.population['image_guard']['threshold']:.4f}")
        _say(*_share_lines({name: entry for name, entry in figures.items()
                            if isinstance(entry, dict) and "ci95" in entry}))
    if get_model(args.model_id).adaptable and (args.label_shift or not only):
        shift = fit_label_shift(args.model_id, args.data).label_shift
        prior = ", ".join(f"{name} {p:.3f}" for name, p in shift["training_prior"].items())
        bias = ", ".join(f"{name} {b:+.3f}" for name, b in shift["bias"].items())
        _say(f"label shift: training prior {prior}; bias-corrected temperature "
             f"{shift['temperature']:.3f}, biases {bias}; {shift['fitted_on']}")
    return 0


def _compile(args: argparse.Namespace) -> int:
    from dxcore.evaluation import compile_for_inference

    card = compile_for_inference(args.model_id)
    entry = card.compiled
    _say(f"{card.id}: {entry['file']} written beside its card; largest output difference "
         f"from Keras {entry['max_abs_difference']:.2e} on {entry['checked_on']}.")
    return 0


def _guard_report(args: argparse.Namespace, guard: str) -> dict | None:
    """The recipe's measurement of its ``guard`` ("domain" or "population": its
    ``evaluate_<guard>``), stored in the card under ``<guard>_guard`` with ``--store``;
    None when it was printed as JSON."""
    from dxcore.evaluation import store_test_metrics
    from dxcore.registry import get_card, get_model, recipe_for

    recipe = recipe_for(args.model_id)
    if not hasattr(recipe, f"evaluate_{guard}"):
        raise DxError(f"The model '{args.model_id}' has no {guard} guard to measure.")
    report = getattr(recipe, f"evaluate_{guard}")(get_model(args.model_id), args.data)
    if args.store:
        store_test_metrics(get_card(args.model_id), {f"{guard}_guard": report},
                           args.purpose or f"python -m dxcore evaluate --{guard} --store")
    if args.json:
        _say(json.dumps({"model": args.model_id, f"{guard}_guard": report}))
        return None
    return report


def _evaluate_domain(args: argparse.Namespace) -> int:
    """``evaluate --domain``: the recipe's domain-guard measurement."""
    report = _guard_report(args, "domain")
    if report is not None:
        _say(*_share_lines({"test inputs accepted": report["test_accepted"], **{
            f"out-of-domain refused: {source}": entry
            for source, entry in report.get("out_of_domain_refused", {}).items()}}))
        for code, count in report.get("test_refused_by_code", {}).items():
            _say(f"{'test cases refused: ' + code:40} {count}")
    return 0


def _evaluate_population(args: argparse.Namespace) -> int:
    """``evaluate --population``: the recipe's population-guard measurement (the HELD-OUT
    adults and the test split, once)."""
    report = _guard_report(args, "population")
    if report is not None:
        adults, test = report["held_out_adults_refused"], report["test_answered"]
        _say(*_share_lines({"held-out adult films refused": adults,
                            "test images answered": test}))
        for code, count in test["refused_by_code"].items():
            _say(f"{'test images refused: ' + code:40} {count}")
    return 0


def _share_lines(entries: dict[str, dict]) -> list[str]:
    """One line per share (:func:`dxcore.metrics.share`): its value, 95% CI and n."""
    lines = []
    for name, entry in entries.items():
        low, high = entry["ci95"]
        lines.append(f"{name:40} {entry['value']:.4f}  (95% CI {low:.4f}-{high:.4f}, "
                     f"n {entry['n']})")
    return lines


def _evaluate(args: argparse.Namespace) -> int:
    from dxcore.evaluation import evaluate, evaluate_and_store
    from dxcore.registry import recipe_for

    if args.domain:
        return _evaluate_domain(args)
    if args.population:
        return _evaluate_population(args)
    if args.store:
        _, metrics = evaluate_and_store(
            args.model_id, args.purpose or "python -m dxcore evaluate --store", args.data)
    else:
        metrics = evaluate(args.model_id, args.data)
    recipe = recipe_for(args.model_id)
    if args.json:
        _say(json.dumps({"model": args.model_id, "test_metrics": metrics}))
    elif hasattr(recipe, "table"):  # a recipe whose metrics need their own layout
        _say(*recipe.table(metrics).splitlines())
    else:
        for name, metric in metrics.items():
            if not isinstance(metric, dict) or "value" not in metric:
                continue  # a table (prediction sets): see --json
            ci = metric.get("ci95")
            value = metric["value"]
            text = f"{value:.4f}" if isinstance(value, float) else str(value)
            _say(f"{name:12} {text}" + (f"  (95% CI {ci[0]:.4f}-{ci[1]:.4f})" if ci else ""))
    for level, report in metrics.get("prediction_sets", {}).items():
        coverage, shared = report["coverage"], report["non_singleton_share"]
        _say(f"prediction sets at {level}: coverage {coverage['value']:.3f} (95% CI "
              f"{coverage['ci95'][0]:.3f}-{coverage['ci95'][1]:.3f}), more than one class "
              f"in {shared['value']:.1%}")
    return 0


def predict_inputs(paths: list[str], model: DxModel) -> Iterator[tuple[str, Any]]:
    """``(input name, source or DxError)`` for every input the arguments name: a file as
    itself; a folder as the files in it and its subfolders, in name order, less the files
    another one of them is read with (a WFDB record's .dat and .atr come with its .hea: the
    companions its modality's formats name); a ZIP as its files, read in memory
    (:func:`dxcore.intake.expand_zip`) and grouped into records and cases as a drop is."""
    from dxcore.intake import expand_zip, group_files, is_zip

    formats = _formats_of(model)
    for argument in paths:
        path = Path(argument)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            companions = _companions(files, formats)
            yield from ((str(file), str(file)) for file in files if file not in companions)
        elif path.is_file() and path.suffix.lower() == ".zip":
            try:
                data = path.read_bytes()
                if not is_zip(data):
                    raise DxError(f"{argument} is not a ZIP file that can be opened.")
                inner, refused = expand_zip(str(path), data)
            except (DxError, OSError) as error:
                yield argument, error if isinstance(error, DxError) else \
                    DxError(f"The file {argument} cannot be opened.")
                continue
            intake = group_files(inner, cards=[model.card])
            for case in intake.cases:
                yield case.name, case.files
            yield from [*refused, *intake.problems]
        else:
            yield argument, argument


def _formats_of(model: DxModel) -> list[FileFormat]:
    """The formats of the model's modality, in the order their sniffers are asked."""
    from dxcore.registry import modality

    return sorted(modality(model.modality).formats, key=lambda file_format: file_format.order)


def _companions(files: list[Path], formats: list[FileFormat]) -> set[Path]:
    """The files of a folder read with another of them: the members of the groups their
    first bytes pair as a drop's (:func:`dxcore.formats.pair_files`)."""
    from dxcore.formats import HEAD_BYTES, grouping, pair_files

    if not grouping(formats):
        return set()  # no file is read with another: none need be opened here
    heads = {str(file): _head(file, HEAD_BYTES) for file in files}
    return {Path(member) for members in pair_files(heads, formats).values()
            for member in members}


def _head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a file (none when it cannot be read: it is then reported
    when it is predicted)."""
    try:
        with path.open("rb") as file:
            return file.read(size)
    except OSError:
        return b""


def _modality_options(model: DxModel, args: argparse.Namespace) -> dict[str, Any]:
    """The reader options the model's modality reads from the files the arguments name
    (``predict_options`` of its ``commands`` module: a record model's ``--mapping``)."""
    from importlib import import_module

    from dxcore.registry import modality

    named = modality(model.modality).commands
    read = getattr(import_module(named), "predict_options", None) if named else None
    return read(model, args) if read is not None else {}


def _predict(args: argparse.Namespace) -> int:
    """Every model the same way: each file through the contract, one JSON object per image,
    record or table row; a file that cannot be read gets its error and the others still
    run. Inputs go through the network in batches (``predict_many``) of
    :data:`dxcore.intake.CHUNK`."""
    from itertools import islice

    from tqdm import tqdm

    from dxcore.explain import get_explainer
    from dxcore.intake import CHUNK
    from dxcore.registry import get_model

    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        raise DxError(f"--out names the file {args.out}; give a folder for the overlays "
                      "(it is created if missing).")
    model = get_model(args.model_id).load()  # verify and load once, before the loop
    if args.explain:
        get_explainer(model.modality, args.explain)  # an unknown method fails once, here
    options = {name: value for name, value in (("fs", args.fs), ("lead", args.lead))
               if value is not None}
    options.update(_modality_options(model, args))
    if args.mapping and "mapping" not in options:
        raise DxError(f"--mapping maps a table's columns; the model '{args.model_id}' reads "
                      "no table.")
    if args.adapt and model.label_shift is None:
        raise DxError(f"The model '{args.model_id}' has no label-shift calibration, so its "
                      f"answers cannot be adapted (python -m dxcore calibrate {args.model_id} "
                      "--label-shift fits it).")
    failures = 0
    held: list[tuple[str, Result | DxError]] = []  # --adapt: every answer, then the prior
    several = len(args.files) > 1 or not Path(args.files[0]).is_file()
    progress = tqdm(desc="Predicting", unit="input", disable=not several)
    inputs = predict_inputs(args.files, model)
    while chunk := list(islice(inputs, CHUNK)):
        readable = [(name, source) for name, source in chunk if not isinstance(source, DxError)]
        answers = dict(zip([name for name, _ in readable],
                           model.predict_many([source for _, source in readable], **options),
                           strict=True))
        for name, source in chunk:
            answer = source if isinstance(source, DxError) else answers[name]
            if args.adapt:
                held.append((name, answer))
            else:
                failures += _print_answer(args, model, name, answer)
        progress.update(len(chunk))
    progress.close()
    if args.adapt:
        failures += _print_adapted(args, model, held)
    return 1 if failures else 0


def _print_adapted(args: argparse.Namespace, model: DxModel,
                   answers: list[tuple[str, Result | DxError]]) -> int:
    """``--adapt``: the site prior first (estimated from the answers when they are enough,
    :func:`dxcore.site_prior.site_prior`), then each answer adapted to it."""
    import numpy as np

    from dxcore.site_prior import site_prior

    results = [answer for _, answer in answers if not isinstance(answer, DxError)]
    prior = site_prior(model, np.concatenate([r.probabilities for r in results])
                       if results else None)
    training = model.label_shift.prior
    if args.json:
        _say(json.dumps({"model": model.card.id, "site_prior": prior.as_json(),
                         "training_prior": {k: round(v, 4) for k, v in training.items()}}))
    else:
        name = model.card.positive_class
        _say(f"site prior: {prior.describe(name, model.card.class_label(name), training)}")
    return sum(_print_answer(args, model, name, answer if isinstance(answer, DxError)
                             else model.adapt(answer, prior)) for name, answer in answers)


def _refuse_existing(out: str) -> Path:
    path = Path(out)
    if path.exists():
        raise DxError(f"--out names {out}, which already exists; it is not overwritten. "
                      "Choose another name.")
    if not path.parent.is_dir():
        raise DxError(f"--out names {out}, but the folder {path.parent} does not exist.")
    return path


def _files_of(path: Path, model: DxModel) -> dict[str, bytes]:
    """An input file as ``{file name: bytes}``, as a report holds it: a file of a format
    that groups files with the companions it names beside it (a WFDB header with its .dat
    and .atr; ``100`` names ``100.hea``)."""
    from dxcore.contract import read_path
    from dxcore.formats import grouping, leading_format

    formats = _formats_of(model)
    if not path.exists():  # a record named without its extension
        named = [path.with_suffix(f".{extension}") for file_format in grouping(formats)
                 for extension in file_format.extensions if extension]
        path = next((candidate for candidate in named if candidate.is_file()), path)
    data = read_path(path)
    file_format = leading_format(path.name, data, formats)
    members = sorted(file_format.companions(path.name, data)) if file_format else []
    return {path.name: data, **{name: read_path(path.parent / name) for name in members
                                if (path.parent / name).is_file()}}


def _report(args: argparse.Namespace) -> int:
    """``report``: a PDF of the cases the files hold (a summary page first when there is
    more than one)."""
    from dxcore.pdf_report import case_report, cases_for, worklist_report
    from dxcore.registry import get_model

    out = _refuse_existing(args.out)
    model = get_model(args.model_id).load()
    cases = []
    for name, source in predict_inputs(args.files, model):  # the inputs predict reads
        try:
            if isinstance(source, DxError):
                raise source
            files = source if isinstance(source, dict) else _files_of(Path(source), model)
            cases += cases_for(model, files, explain=not args.no_explain)
        except DxError as error:  # a file that cannot even be opened
            _say(f"{name}: {error}", error=True)
    refused = sum(case.error is not None for case in cases)
    pdf = worklist_report(cases) if len(cases) > 1 else case_report(cases)
    out.write_bytes(pdf)
    _say(f"Wrote {out}: {len(cases)} case{'s' if len(cases) != 1 else ''} "
         f"({refused} without an answer).")
    return 0


def _template(args: argparse.Namespace) -> int:
    from dxcore.registry import get_card
    from dxcore.templates import blank_cases_csv, field_guide_csv

    card = get_card(args.model_id)
    _write_or_print(blank_cases_csv(card) if args.blank else field_guide_csv(card), args.out)
    return 0


def _write_or_print(text: str, out: str | None, what: str = "") -> None:
    """``text`` into the new file ``out`` (never overwritten), or on stdout without one."""
    if out:
        _refuse_existing(out).write_text(text)
        _say(f"Wrote {what}{' to ' if what else ''}{out}.")
    else:
        _say(*text.splitlines())


def _audit_log(args: argparse.Namespace) -> Path:
    from dxcore.audit import ENV, configured_path

    if args.log:
        return Path(args.log)
    path = configured_path()
    if path is None:
        raise DxError(f"The audit trail is off (${ENV}=off): name the log with --log PATH.")
    return path


def _audit_verify(args: argparse.Namespace) -> int:
    from dxcore.audit import verify

    path = _audit_log(args)
    found = verify(path)
    for problem in found.problems:
        _say(f"{path}: {problem}")
    if found.ok:
        _say(f"{path}: {found.entries} entries, the chain is intact; head hash {found.head} "
             "(note it: removing the last entries leaves a shorter chain that is intact).")
        return 0
    _say(f"{path}: {found.entries} entries, {len(found.problems)} problem(s): the log has "
         "been tampered with or damaged.")
    return 1


def _audit_export(args: argparse.Namespace) -> int:
    from dxcore.audit import export_csv, read_entries

    entries = read_entries(_audit_log(args))
    text = (export_csv(entries) if args.format == "csv" else
            "".join(json.dumps(entry) + "\n" for entry in entries))
    _write_or_print(text, args.out, f"{len(entries)} entries")
    return 0


def _audit_sign(args: argparse.Namespace) -> int:
    """``audit sign``: a clinician's sign-off of an answer entry, appended to the trail."""
    from dxcore.audit import AuditLog
    from dxcore.signoff import AGREE, OVERRIDE, Answer, Signer, SignOff, find_entry, sign_off

    path = _audit_log(args)
    if not path.exists():
        raise DxError(f"There is no audit log at {path}.")
    answer = Answer.of(find_entry(path, args.entry))
    entry = sign_off(AuditLog(path), answer, AGREE if args.agree else OVERRIDE,
                     Signer(args.by, authenticated=False), override_class=args.override,
                     reason=args.reason, row=args.row)
    signed = SignOff.of(entry)
    row = "" if signed.row is None else f", row {signed.row}"
    _say(f"{path}: answer {answer.hash[:16]}{row} {signed.status_text()} by "
         f"{signed.signer.described}; sign-off entry {entry['hash']}.")
    return 0


def _print_answer(args: argparse.Namespace, model: DxModel, name: str,
                  answer: Result | DxError) -> int:
    """One input's lines (JSON or text), its notes on stderr; how many lines were errors."""
    try:
        if isinstance(answer, DxError):
            raise answer
        explanations = model.explain_all(answer, args.explain) if args.explain else {}
    except DxError as error:
        # An error that needs an option says which one, as the command line spells it.
        hint = f" (--{error.facts['needs']} HZ)" if "needs" in error.facts else ""
        lines, text, notes = [error.as_json()], [f"{error}{hint}"], []
    else:
        if args.out:
            for explanation in explanations.values():
                explanation.save(Path(args.out), Path(name).stem)
        lines, notes = answer.as_json(explanations), answer.notes
        text = answer.text() + [f"    {sentence}" for e in explanations.values()
                                for sentence in e.text()]
    for note in notes:  # on stderr: stdout stays one JSON object per line
        _say(f"{name}: {note}", error=True)
    if args.json:
        for line in lines:
            # allow_nan=False: NaN is not JSON; a non-finite figure is a bug to see
            _say(json.dumps({"input": name, **line}, allow_nan=False))
    else:
        for line in text:
            _say(f"{name}: {line}")
    return sum("error" in line for line in lines)


def build_parser() -> argparse.ArgumentParser:
    from dxcore.intake import MIN_BATCH

    parser = argparse.ArgumentParser(prog="python -m dxcore", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    models = commands.add_parser("models", help="list the shipped models and their test metrics")
    shown = models.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="one JSON object per model")
    shown.add_argument("--markdown", action="store_true",
                       help="the README's models table (the README holds this output)")
    models.set_defaults(run=_models)

    train = commands.add_parser("train", help="retrain a shipped model from its dataset")
    train.add_argument("model_id")
    train.add_argument("--data", help="datasets folder (default: $DX_DATA_DIR or ../shared/data)")
    train.add_argument("--epochs", type=int, help="default: the recipe's own")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="write here instead of replacing the shipped model")
    train.add_argument("--recipe", help="a named variant of the model's recipe, where it has "
                                        "several (default: the shipped model's)")
    train.set_defaults(run=_train)

    calibrate = commands.add_parser(
        "calibrate", help="fit a model's prediction sets on its recipe's calibration cases, "
                          "its domain and population guards where it has them, and, where "
                          "its answers can be adapted to a site's prevalence, its label-shift "
                          "calibration, on training data (never the test split), and write "
                          "them into its card")
    calibrate.add_argument("model_id")
    calibrate.add_argument("--data")
    calibrate.add_argument("--population", action="store_true",
                           help="fit only the population guard (an image model trained on "
                                "children: adults' films refused), on the training images and "
                                "the FIT adult patients")
    calibrate.add_argument("--label-shift", action="store_true",
                           help="fit only the label-shift calibration that adapts answers to "
                                "a site's prevalence (the guards and the prediction sets left "
                                "as they are)")
    calibrate.set_defaults(run=_calibrate)

    compile_ = commands.add_parser(
        "compile", help="export a model's network for inference without TensorFlow (LiteRT), "
                        "checked against Keras, and name it in its card")
    compile_.add_argument("model_id")
    compile_.set_defaults(run=_compile)

    evaluate = commands.add_parser("evaluate", help="measure a model on its official test split")
    evaluate.add_argument("model_id")
    evaluate.add_argument("--data")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--store", action="store_true",
                          help="write the metrics into the card, and the test report (ROC, "
                               "reliability, confusion matrix, failures) beside it")
    evaluate.add_argument("--purpose", metavar="TEXT",
                          help="with --store: why this test measurement is made (recorded "
                               "in the card's test_evaluations)")
    guards = evaluate.add_mutually_exclusive_group()
    guards.add_argument("--domain", action="store_true",
                        help="measure the domain guard instead: test images accepted, "
                             "out-of-domain images refused")
    guards.add_argument("--population", action="store_true",
                        help="measure the population guard instead, once: the HELD-OUT "
                             "adult films refused, the test images answered")
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser("predict", help="run a model on files")
    predict.add_argument("model_id")
    predict.add_argument("files", nargs="+", metavar="FILE",
                         help="files, folders (read with their subfolders) or ZIP files "
                              "(read in memory) of: images; for ECG models, WFDB records "
                              "(name without extension or .hea), EDF files or CSV files; "
                              "for record models, CSV, JSON or Excel (.xlsx) files of cases "
                              "(one per row or object)")
    predict.add_argument("--fs", type=float, metavar="HZ",
                         help="ECG: sampling rate of CSV files without a time column")
    predict.add_argument("--mapping", metavar="FILE",
                         help="record models: a column mapping saved on the Case records "
                              "page (JSON: {\"model\": id, \"columns\": {column: field}}), "
                              "for tables whose headers are not the model's fields")
    predict.add_argument("--lead", metavar="NAME",
                         help="ECG: the lead to analyse (default MLII, else lead II, else "
                              "another limb lead, else the first)")
    predict.add_argument("--explain", metavar="METHOD",
                         help="also explain each prediction: image models gradcam++, "
                              "scorecam or smoothgrad; ECG models gradcam or saliency (the "
                              "beats not called N); record models ig (integrated gradients "
                              "per field)")
    predict.add_argument("--out", help="with --explain, save each image overlay as a PNG here")
    predict.add_argument("--json", action="store_true", help="one JSON object per input")
    predict.add_argument("--adapt", action="store_true",
                         help="adapt the answers to the site's prevalence: estimated from "
                              f"these inputs when they are at least {MIN_BATCH} answers, else the "
                              "site's set or audit-trail prevalence (docs/label-shift.md); "
                              "a first line gives it. Every input is read before any answer "
                              "is printed")
    predict.set_defaults(run=_predict)

    report = commands.add_parser(
        "report", help="write a PDF report of a model's answers on files (one page per "
                       "case; a summary page first for several)")
    report.add_argument("model_id")
    report.add_argument("files", nargs="+", metavar="FILE_OR_FOLDER",
                        help="as for predict; a folder stands for every file in it")
    report.add_argument("--out", required=True, help="the PDF to write (never overwritten)")
    report.add_argument("--no-explain", action="store_true",
                        help="leave the saliency maps and field attributions out (faster)")
    report.set_defaults(run=_report)

    template = commands.add_parser(
        "template", help="a record model's case-file template as CSV: one row per column "
                         "(unit, allowed values, may be empty), or with --blank the header "
                         "row to fill in")
    template.add_argument("model_id")
    template.add_argument("--blank", action="store_true")
    template.add_argument("--out", help="write here (never overwritten) instead of stdout")
    template.set_defaults(run=_template)

    audit = commands.add_parser("audit", help="check, export or sign off in the dashboard's "
                                              "audit trail (log: $DX_AUDIT_LOG or --log)")
    actions = audit.add_subparsers(dest="action", required=True)
    verify = actions.add_parser("verify", help="check the hash chain: find edited, removed "
                                               "or reordered entries")
    verify.set_defaults(run=_audit_verify)
    export = actions.add_parser("export", help="print or write every entry")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--out", help="write here (never overwritten) instead of stdout")
    export.set_defaults(run=_audit_export)
    sign = actions.add_parser(
        "sign", help="record a clinician's sign-off of an answer: agree, or override it to "
                     "another class with a reason (a later sign-off supersedes an earlier "
                     "one; both stay in the trail)")
    sign.add_argument("entry", metavar="ENTRY", help="the answer entry's hash, or its first "
                                                     "8 or more hex digits")
    decided = sign.add_mutually_exclusive_group(required=True)
    decided.add_argument("--agree", action="store_true", help="agree with the model's answer")
    decided.add_argument("--override", metavar="CLASS",
                         help="override the answer to this class of the model")
    sign.add_argument("--reason", metavar="TEXT",
                      help="why (required with --override); never name the patient or write "
                           "an identifier")
    sign.add_argument("--by", metavar="NAME", required=True,
                      help="who signs off (recorded as unauthenticated: the command line has "
                           "no sign-on)")
    sign.add_argument("--row", type=int, metavar="N",
                      help="for an answer of a case table: the row signed off")
    sign.set_defaults(run=_audit_sign)
    for action in (verify, export, sign):
        action.add_argument("--log", metavar="PATH", help="default: $DX_AUDIT_LOG, else "
                            "~/.local/state/dx-dashboard/audit.jsonl")

    return parser


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(action for action in parser._actions
                if isinstance(action, argparse._SubParsersAction))


def _add_modality_commands(parser: argparse.ArgumentParser) -> None:
    """The commands every registered modality brings (``commands`` of its registration),
    added to ``parser``'s."""
    from importlib import import_module

    from dxcore.registry import modalities

    for modality in modalities().values():
        if modality.commands:
            import_module(modality.commands).add_commands(_subcommands(parser), _say)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    asked = next((argument for argument in argv if not argument.startswith("-")), None)
    if asked not in _subcommands(parser).choices:  # a modality's, or help on every command
        _add_modality_commands(parser)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except DxError as error:
        _say(f"Error: {error}", error=True)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the promise is: never a traceback in the terminal
        _say(f"Unexpected error ({type(error).__name__}): {error}", error=True)
        return 2
