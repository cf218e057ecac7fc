"""The ECG modality's part of a PDF report (:class:`dxcore.pdf_report.Sections`): the
record's first seconds with each beat marked by its class, the beats per class and the
record's summary (heart rate, ectopic burden, runs, AF burden and the rhythm episodes that
matter most), the signal-quality check's word, and the saliency over the first beat not
called N.

Example (needs the shipped weights)::

    from dxcore import get_model
    from dxcore.pdf_report import case_report, cases_for
    case_report(cases_for(get_model("ecg-beats").load(), {"100.hea": ..., "100.dat": ...}))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from dxcore.ecg.rhythm_labels import episode_rows, merged_episodes
from dxcore.explain import Explanation
from dxcore.pdf_report import Case, Report, Sections, figure_image, new_figure

if TYPE_CHECKING:
    from dxcore.contract import DxModel, Result

STRIP_SECONDS = 10.0
RHYTHM_ROWS = 10  # a Holter day's rhythm episodes: the ones that matter most and "... more"


def ecg_strip(case: Case) -> Image.Image:
    """The first seconds of the analysed lead, each beat marked with its class."""
    analysis = case.result.detail
    record = analysis.record
    index = [name.lower() for name in record.lead_names].index(analysis.lead.lower())
    shown = int(min(len(record.signals), STRIP_SECONDS * record.fs))
    times = np.arange(shown) / record.fs
    figure, axis = new_figure(7.2, 1.8)
    axis.plot(times, record.signals[:shown, index], color="black", linewidth=0.6)
    for sample, label in zip(analysis.samples, analysis.labels, strict=True):
        if sample < shown:
            axis.annotate(str(label), (sample / record.fs, 1.0), xycoords=("data", "axes fraction"),
                          ha="center", va="bottom", fontsize=7,
                          color="black" if label == "N" else "red")
    axis.set_xlabel("seconds")
    axis.set_ylabel(f"{analysis.lead} (mV)")
    axis.set_xlim(0, times[-1] if shown else 1)
    return figure_image(figure)


def beat_saliency(explanation: Explanation) -> Image.Image:
    """One beat's waveform coloured by its saliency, with the colour bar."""
    beat = explanation.detail
    figure, axis = new_figure(4.5, 1.8)
    points = axis.scatter(beat.times_s * 1000, beat.waveform, c=beat.saliency, cmap="jet",
                          s=6, vmin=0, vmax=1)
    axis.set_xlabel("ms from the R peak")
    figure.colorbar(points, ax=axis, label="influence (low-high)")
    return figure_image(figure)


def report_episodes(rhythm: list[dict], limit: int = RHYTHM_ROWS) -> tuple[list[dict], int]:
    """The rhythm episodes a report lists, neighbours of one rhythm merged: all of them when
    ``limit`` rows hold them, else the ``limit`` a reader needs most, in time order: the
    longest episode of each rhythm other than sinus rhythm, then the other episodes of
    those rhythms, then sinus rhythm's, the longest first; and how many are left out.

    >>> rhythm = [{"label": label, "start_s": 10.0 * k, "end_s": 10.0 * k + length}
    ...           for k, (label, length) in enumerate([("N", 10), ("AFIB", 9), ("N", 10),
    ...                                                ("AFIB", 8), ("SVTA", 1), ("N", 5)])]
    >>> kept, more = report_episodes(rhythm, limit=3)
    >>> [(e["label"], e["start_s"]) for e in kept], more
    ([('AFIB', 10.0), ('AFIB', 30.0), ('SVTA', 40.0)], 3)
    """
    merged = merged_episodes(rhythm)
    if len(merged) <= limit:
        return merged, 0
    length = [episode["end_s"] - episode["start_s"] for episode in merged]
    longest = {episode["label"]: k for k, episode in sorted(enumerate(merged),
                                                            key=lambda e: length[e[0]])}
    ranked = sorted(range(len(merged)), key=lambda k: (
        merged[k]["label"] == "N", longest[merged[k]["label"]] != k, -length[k]))
    return [merged[k] for k in sorted(ranked[:limit])], len(merged) - limit


def rhythm_section(pdf: Report, rhythm: list[dict]) -> None:
    """The rhythm episodes as a table (:func:`report_episodes`)."""
    episodes, more = report_episodes(rhythm)
    pdf.line_of(f"Rhythm episodes ({len(episodes) + more}"
                + (f", the {len(episodes)} that matter most listed" if more else "") + "):", 8)
    pdf.set_font("DejaVu", "", 7.5)
    with pdf.table(col_widths=(60, 20, 20, 20), width=120, align="LEFT",
                   text_align="LEFT") as table:
        table.row(["Rhythm", "Start", "End", "Duration"])
        for row in episode_rows(episodes):
            table.row(list(row.values()))
    if more:
        pdf.line_of(f"... and {more} more episode{'s' if more > 1 else ''}, shorter or in "
                    "sinus rhythm.", 7.5)


class EcgSections(Sections):
    def explained(self, model: DxModel, result: Result) -> list[int]:
        """The first beat the model explains (the first not called N), if any."""
        return model.explained_items(result)[:1]

    def input(self, pdf: Report, case: Case) -> None:
        analysis = case.result.detail
        pdf.line_of(f"ECG record, {analysis.record.duration_s:.0f} s at {analysis.fs:g} Hz, "
                    f"lead {analysis.lead}, {len(analysis.samples)} beats; the first "
                    f"{STRIP_SECONDS:g} s:")
        pdf.picture(ecg_strip(case), 175)

    def verdict(self, case: Case) -> str:
        counts = case.result.detail.summary["beats_per_class"]
        return "Beats: " + ", ".join(f"{case.card.class_label(name)} {count}"
                                     for name, count in counts.items())

    def prediction(self, pdf: Report, case: Case) -> None:
        summary = case.result.detail.summary
        af = (f"; AF burden {summary['af_burden_percent']}% of the record's time"
              if "af_burden_percent" in summary else "")
        pdf.line_of(f"Mean heart rate {summary.get('mean_heart_rate_bpm')} bpm; ectopic "
                    f"burden {summary.get('ectopic_burden_percent')}%; longest V run "
                    f"{summary.get('longest_v_run')}{af}.")
        if case.result.detail.rhythm:
            rhythm_section(pdf, case.result.detail.rhythm)

    def domain(self, case: Case) -> str:
        return "Accepted by the signal-quality check (the record reads as an ECG)."

    def explanation(self, pdf: Report, case: Case) -> None:
        beat = case.explanation.detail
        pdf.line_of(f"The first beat not called N, at {beat.start_s:.2f} s "
                    f"({beat.predicted}):", 8)
        pdf.picture(beat_saliency(case.explanation), 95)

    def summary(self, case: Case) -> list[str]:
        counts = case.result.detail.summary["beats_per_class"]
        return [", ".join(f"{n} {c}" for n, c in counts.items()), "", "", "passed"]


SECTIONS = EcgSections()
