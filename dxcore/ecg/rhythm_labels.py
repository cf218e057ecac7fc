"""Rhythm codes of the record's rhythm episodes: the MIT-BIH rhythm annotation codes
without their bracket (``(AFIB`` -> ``AFIB``), their words for a clinician, and the
episodes as the ECG page and the PDF report list them.

``STACH`` (sinus tachycardia) has no MIT-BIH code; it is ours, beside ``SBR``."""

from __future__ import annotations

from typing import Any

from dxcore.ecg.summary import clock, duration_text

RHYTHM_LABELS: dict[str, str] = {
    "N": "sinus rhythm",
    "AFIB": "atrial fibrillation",
    "AFL": "atrial flutter",
    "B": "ventricular bigeminy",
    "T": "ventricular trigeminy",
    "VT": "ventricular tachycardia",
    "IVR": "idioventricular rhythm",
    "SVTA": "supraventricular tachyarrhythmia",
    "SBR": "sinus bradycardia",
    "STACH": "sinus tachycardia",
    "Q": "unreadable",
}
# The atrial fibrillation and flutter codes, whose time makes the AF burden.
AF_LABELS = ("AFIB", "AFL")


def rhythm_text(code: str) -> str:
    """A rhythm as a clinician reads it, with its code; a code we have no words for stays
    as it is (a newer rhythm module's, or a file's).

    >>> rhythm_text("AFIB"), rhythm_text("NOD")
    ('atrial fibrillation (AFIB)', 'NOD')
    """
    return f"{RHYTHM_LABELS[code]} ({code})" if code in RHYTHM_LABELS else code


def merged_episodes(rhythm: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rhythm episodes with neighbours of the same rhythm joined: one row per change of
    rhythm, however the analysis cut its windows.

    >>> merged = merged_episodes([{"label": "N", "start_s": 0.0, "end_s": 10.0},
    ...                           {"label": "N", "start_s": 10.0, "end_s": 25.0},
    ...                           {"label": "AFIB", "start_s": 25.0, "end_s": 40.0}])
    >>> [(e["label"], e["start_s"], e["end_s"]) for e in merged]
    [('N', 0.0, 25.0), ('AFIB', 25.0, 40.0)]
    """
    merged: list[dict[str, Any]] = []
    for episode in rhythm:
        if merged and merged[-1]["label"] == episode["label"]:
            merged[-1]["end_s"] = max(merged[-1]["end_s"], episode["end_s"])
        else:
            merged.append({"label": episode["label"], "start_s": episode["start_s"],
                           "end_s": episode["end_s"]})
    return merged


def episode_rows(rhythm: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One row per rhythm episode as the page's table and the report print it: the rhythm
    in words, its start and end in the record, its duration."""
    return [{"Rhythm": rhythm_text(episode["label"]), "Start": clock(episode["start_s"]),
             "End": clock(episode["end_s"]),
             "Duration": duration_text(episode["end_s"] - episode["start_s"])}
            for episode in rhythm]
