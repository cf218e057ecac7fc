"""PDF reports (fpdf2): one page per case, and for a worklist a summary page before them.

A case page holds what a reader needs to judge one answer and match it to the patient: the
case's label (:mod:`dxcore.labels`: the file name, a DICOM's accession number or study ID, a
case table's ID column; an identifier, so every report says on its first page that it holds
identifiers and is clinical data), the input as the model saw it (a thumbnail, an ECG
strip, or the model's own fields of a case record: never other DICOM tags, header comments
or unused columns), the prediction with every class's probability (an ECG record: its beats
per class, summary figures, AF burden and rhythm episodes), the prediction set and the
decision rule, the saliency map with its colour bar, the domain guard's result, the model's
id, version and weights SHA-256, the card's test metrics with their 95% CIs and its
limitations, the input's SHA-256 (:func:`dxcore.audit.input_sha256`), the clinician's latest
sign-off in the audit trail (:func:`sign_off_line`), the time, the app version and the
research-prototype notice.

This module keeps the layout and the parts every model shares (the decision rule, the
sign-off, the model and its metrics, the summary table); what only a modality knows (its
input as the model saw it, its verdict, its domain guard's words, its explanation, and how
one input splits into cases) is drawn by the modality's :class:`Sections`, which it names
when it registers (``report`` of :class:`dxcore.registry.Modality`); a modality that names
none gets these defaults, which suit a classifier of one answer per input.

Example (needs the shipped weights)::

    from dxcore import get_model
    from dxcore.pdf_report import cases_for, case_report
    cases = cases_for(get_model("cxr-pneumonia").load(), {"x.png": png_bytes})
    open("report.pdf", "wb").write(case_report(cases))
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
from fpdf import FPDF
from PIL import Image

from dxcore.audit import input_sha256
from dxcore.errors import DxError
from dxcore.labels import input_labels, input_name
from dxcore.wording import is_refusal, probability_is, probability_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from dxcore.contract import DxModel, Result
    from dxcore.explain import Explanation
    from dxcore.labels import InputLabels

APP_VERSION = "0.13"
DISCLAIMER = ("Research prototype - not for clinical decisions. The models are trained and "
              "tested on public research datasets; their outputs have not been validated "
              "for patient care and must not guide diagnosis or treatment.")
IDENTIFIERS_NOTICE = ("This report holds identifiers (the case labels: file names, accession "
                      "numbers, case or patient IDs) and is clinical data: store, share and "
                      "dispose of it as patient records.")
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"  # DejaVu: Unicode (≥, –)


@cache
def app_version() -> str:
    """The app's version and, in a git checkout, its commit."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{APP_VERSION} (commit {commit})" if commit else APP_VERSION


@dataclass
class Case:
    """One case of a report: ``result`` item ``item`` of ``model`` on the input ``files``,
    with its explanation; or the ``error`` it got instead (a refusal, a bad row).
    ``label`` names the case for the reader (:func:`dxcore.labels.case_label`); by default
    the input's name."""

    model: DxModel
    files: dict[str, bytes]
    result: Result | None = None
    item: int = 0
    explanation: Explanation | None = None
    error: DxError | None = None
    row: int | None = None  # a case record's row in its table
    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or input_name(self.files)

    @property
    def card(self):
        return self.model.card

    @property
    def input_sha256(self) -> str:
        return input_sha256(self.files)


def cases_for(model: DxModel, files: dict[str, bytes], explain: bool = True,
              name: str | None = None, **options) -> list[Case]:
    """The cases of one input (an image, an ECG record, a table of cases: one per row),
    predicted and, with ``explain``, explained by the modality's default method; an input
    that cannot be read is one case holding its error. ``name``: the input's name for its
    labels (by default its file name, :func:`dxcore.labels.input_name`)."""
    try:
        result = model.predict(files, **options)
    except DxError as error:
        return [Case(model, files, error=error, label=name or "")]
    return cases_of(model, files, result, explain, name)


def cases_of(model: DxModel, files: dict[str, bytes], result: Result,
             explain: bool = True, name: str | None = None) -> list[Case]:
    """The cases of a result already predicted (a page's), explained and labelled as
    :func:`cases_for`; how one input splits into cases is its modality's
    (:meth:`Sections.cases`: a case table's rows, a row the model declined holding an
    :class:`OutOfDomain` error, so that the report calls it refused, as the pages do)."""
    from dxcore.explain import explainers_for

    method = explainers_for(model.modality)[0] if explain else None
    labels = input_labels(model, name or input_name(files), files)
    return sections_of(model).cases(model, files, result, method, labels)


def sections_of(model: DxModel) -> Sections:
    """The report sections of ``model``'s modality (its registered ``report``), else the
    defaults."""
    from dxcore.registry import modality

    named = modality(model.modality).report
    return import_module(named).SECTIONS if named else DEFAULT_SECTIONS


# --- Drawing ------------------------------------------------------------------------------


def figure_image(figure: Figure) -> Image.Image:
    """A matplotlib figure as an image for :meth:`Report.picture` (the figure closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return Image.open(io.BytesIO(buffer.getvalue()))


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A matplotlib figure of ``width`` x ``height`` inches, with its axes."""
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


class Report(FPDF):
    """A page layout with the notice in the footer of every page."""

    def __init__(self):
        super().__init__(format="A4")
        self.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font("Mono", "", str(FONT_DIR / "DejaVuSansMono.ttf"))
        self.set_auto_page_break(True, margin=18)
        self.set_margins(14, 12, 14)
        self.created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("DejaVu", "", 6.5)
        self.set_text_color(110)
        self.multi_cell(0, 3, align="L", text=f"{DISCLAIMER} Dx dashboard {app_version()} · "
                        f"report made {self.created} · page {self.page_no()}")
        self.set_text_color(0)

    def heading(self, text: str, size: float = 14) -> None:
        self.set_font("DejaVu", "B", size)
        self.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def line_of(self, text: str, size: float = 9, bold: bool = False) -> None:
        self.set_font("DejaVu", "B" if bold else "", size)
        self.multi_cell(0, size * 0.45, text, align="L", new_x="LMARGIN", new_y="NEXT")

    def mono(self, text: str) -> None:
        self.set_font("Mono", "", 7.5)
        self.multi_cell(0, 3.6, text, new_x="LMARGIN", new_y="NEXT")

    def notice(self) -> None:
        """The research-prototype notice, then the identifiers notice."""
        self.set_fill_color(255, 243, 205)
        self.set_font("DejaVu", "B", 8.5)
        self.multi_cell(0, 4.2, DISCLAIMER, fill=True, align="L", new_x="LMARGIN",
                        new_y="NEXT")
        self.multi_cell(0, 4.2, IDENTIFIERS_NOTICE, fill=True, align="L", new_x="LMARGIN",
                        new_y="NEXT")
        self.ln(2)

    def picture(self, image: Image.Image, width: float) -> None:
        if self.get_y() + width * image.height / image.width > self.h - 20:
            self.add_page()
        self.image(image, w=width)
        self.ln(1)


class Sections:
    """A modality's part of a report page. The defaults suit a classifier of one answer
    per input (an image, a file of beats); a modality overrides what it draws otherwise."""

    def cases(self, model: DxModel, files: dict[str, bytes], result: Result,
              method: str | None, labels: InputLabels) -> list[Case]:
        """The cases of one input's result, each explained by ``method`` (None: not
        explained): one case, its first item, by default."""
        items = self.explained(model, result)
        explained = model.explain_all(result, method, items) if method and items else {}
        return [Case(model, files, result, 0, next(iter(explained.values()), None),
                     label=labels.case())]

    def explained(self, model: DxModel, result: Result) -> list[int]:
        """The item a case's explanation is of (its own, by default)."""
        return [0]

    def input(self, pdf: Report, case: Case) -> None:
        """The input as the model saw it (a thumbnail, a strip, the fields read), above its
        SHA-256; nothing by default."""

    def verdict(self, case: Case) -> str:
        """The answer, in bold first: the decision, and the prediction set when it holds
        more than the decision."""
        result, item, card = case.result, case.item, case.card
        decided = str(result.decisions[item])
        text = f"Prediction: {card.class_label(decided)}"
        if result.uncertain(item):
            text += (" - uncertain: the prediction set holds "
                     + " and ".join(card.class_label(n) for n in result.set_of(item)))
        return text

    def prediction(self, pdf: Report, case: Case) -> None:
        """What follows the verdict: every class's probability and the prediction set."""
        result, item, card = case.result, case.item, case.card
        for name, p in zip(result.class_names, result.probabilities[item], strict=True):
            pdf.line_of(f"P({card.class_label(name)}) {probability_is(float(p))}")
        if result.prediction_sets is not None:
            pdf.line_of(f"Prediction set at {result.coverage:.0%} coverage: "
                        + ", ".join(card.class_label(n) for n in result.set_of(item)))

    def domain(self, case: Case) -> str:
        """The domain guard's word on an input it accepted."""
        return "This model has no domain guard."

    def explanation(self, pdf: Report, case: Case) -> None:
        """The explanation below its heading: its lines, by default."""
        for sentence in case.explanation.text():
            pdf.line_of(f"• {sentence}", 8)

    def summary(self, case: Case) -> list[str]:
        """The summary table's prediction, its probability, the prediction set and the
        domain guard, for an answered case."""
        result, item, card = case.result, case.item, case.card
        decided = str(result.decisions[item])
        p = float(result.probabilities[item, result.class_names.index(decided)])
        return [card.class_label(decided), probability_text(p),
                " / ".join(card.class_label(n) for n in result.set_of(item)), "passed"]


DEFAULT_SECTIONS = Sections()


def _rule(case: Case) -> str:
    rule = case.result.rule
    if rule.log_offsets is None:
        return (f"Decision rule: {case.card.class_label(rule.positive_class)} when "
                f"P({rule.positive_class}) ≥ threshold {rule.threshold:.3f} "
                "(calibrated probability).")
    return ("Decision rule: the most probable of " + ", ".join(rule.returned) +
            (f"; never returned: {', '.join(rule.never_returned)}" if rule.never_returned
             else "") + ".")


def _domain(case: Case) -> str:
    if case.error is not None:
        return (f"Refused: {case.error}" if is_refusal(case.error)
                else "not run: the input could not be read.")
    return sections_of(case.model).domain(case)


def _input_section(pdf: Report, case: Case) -> None:
    pdf.heading("Input", 11)
    if case.result is not None:
        sections_of(case.model).input(pdf, case)
    pdf.line_of(f"Input SHA-256: {case.input_sha256}", 7.5)
    pdf.ln(1)


def _prediction_section(pdf: Report, case: Case) -> None:
    pdf.heading("Prediction", 11)
    if case.error is not None:
        pdf.line_of(f"No answer: {case.error}", bold=True)
        return
    sections = sections_of(case.model)
    pdf.line_of(sections.verdict(case), 10, bold=True)
    sections.prediction(pdf, case)
    pdf.line_of(_rule(case), 8)
    pdf.line_of(f"Domain guard: {_domain(case)}", 8)
    pdf.line_of(sign_off_line(case), 8, bold=True)
    pdf.ln(1)


def sign_off_line(case: Case) -> str:
    """The case's latest clinician's sign-off in the audit trail (:mod:`dxcore.signoff`),
    or that there is none yet."""
    from dxcore.signoff import sign_offs

    index = sign_offs()
    if index is None:
        return "Clinician's sign-off: not recorded (the audit trail is off)."
    latest = index.latest((case.card.id, case.card["weights_sha256"], case.input_sha256,
                           case.row))
    return latest.text(case.card.class_label) if latest else \
        "Clinician's sign-off: none yet in the audit trail."


def _explanation_section(pdf: Report, case: Case) -> None:
    explanation = case.explanation
    if explanation is None:
        return
    pdf.heading(f"Explanation ({explanation.label}, for "
                f"{case.card.class_label(explanation.class_name)})", 11)
    sections_of(case.model).explanation(pdf, case)
    pdf.ln(1)


def _model_section(pdf: Report, case: Case) -> None:
    card = case.card
    pdf.heading("Model", 11)
    pdf.line_of(f"{card['name']} - id {card.id}, version {card['date']} (trained)", 8.5)
    pdf.line_of(f"Weights SHA-256: {card['weights_sha256']}", 7.5)
    headline = card.headline()
    if headline:
        pdf.line_of("Held-out test metrics (95% bootstrap CI): " + "; ".join(
            f"{name} {value}" for name, value in headline.items()), 8)
    unmet = card.unmet_targets()
    if unmet:
        pdf.line_of("Below its targets: " + "; ".join(c.describe() for c in unmet), 8, True)
    limitations = card["limitations"]
    if limitations:
        pdf.line_of("Limitations:", 8, bold=True)
        for limitation in limitations:
            pdf.line_of(f"• {limitation}", 6.5)


def _case_page(pdf: Report, case: Case, number: int, patient: str | None = None) -> None:
    pdf.add_page()
    pdf.heading(f"Dx case report - case {number}: {case.label}")
    if patient is not None:
        pdf.line_of(f"Patient: {patient}", 10, bold=True)
    pdf.notice()
    pdf.line_of(f"Made {pdf.created} by the Dx dashboard {app_version()}.", 8)
    pdf.ln(1)
    _input_section(pdf, case)
    _prediction_section(pdf, case)
    _explanation_section(pdf, case)
    _model_section(pdf, case)


def summary_row(case: Case) -> list[str]:
    """Model, prediction, its probability, the prediction set and the domain guard."""
    if case.error is not None:  # as the worklist's row says it (dxui.worklist)
        if is_refusal(case.error):
            return [case.card.id, "no answer", "", "", "refused"]
        return [case.card.id, "not read", "", "", ""]
    return [case.card.id, *sections_of(case.model).summary(case)]


def _summary_page(pdf: Report, cases: list[Case]) -> None:
    pdf.add_page()
    pdf.heading(f"Dx worklist report - {len(cases)} cases")
    pdf.notice()
    pdf.line_of(f"Made {pdf.created} by the Dx dashboard {app_version()}. One page per case "
                "follows.", 8)
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 7.5)
    # "#" is the number of the case's page ("case 4"); the hash ties it to the audit trail.
    with pdf.table(col_widths=(6, 26, 20, 26, 10, 18, 14, 22), text_align="LEFT") as table:
        table.row(["#", "Case", "Model", "Prediction", "P", "Prediction set", "Domain guard",
                   "Input SHA-256"])
        for number, case in enumerate(cases, start=1):
            table.row([str(number), case.label, *summary_row(case),
                       case.input_sha256[:16] + "…"])
    models = {case.card.id: case.card for case in cases}
    pdf.ln(2)
    for card in models.values():
        pdf.line_of(f"{card.id}: version {card['date']}, weights SHA-256 "
                    f"{card['weights_sha256']}", 7)


def _bytes(pdf: Report) -> bytes:
    return bytes(pdf.output())


def case_report(cases: list[Case], patient: str | None = None) -> bytes:
    """One page per case (a patient's inputs, or one input's rows), as PDF bytes; each
    page names ``patient`` (the patient view's label) when given."""
    if not cases:
        raise DxError("There is nothing to report: no case was given.")
    pdf = Report()
    for number, case in enumerate(cases, start=1):
        _case_page(pdf, case, number, patient)
    return _bytes(pdf)


def worklist_report(cases: list[Case]) -> bytes:
    """A summary page of every case, then one page per case, as PDF bytes."""
    if not cases:
        raise DxError("There is nothing to report: no case was given.")
    pdf = Report()
    _summary_page(pdf, cases)
    for number, case in enumerate(cases, start=1):
        _case_page(pdf, case, number)
    return _bytes(pdf)
