"""The dashboard's pages, in one place: ``app.py`` builds the navigation from this list and
the home page links to every task page from it. A new task (an ECG page, case records)
is one more :class:`PageSpec` here plus its script in ``app_pages/``.

The scripts are in ``app_pages/``, not ``pages/``: Streamlit treats a ``pages/`` folder
beside the entry point as a legacy (v1) multipage app until ``st.navigation`` first runs, so
on a fresh server a deep link such as ``/chest_xray`` would run the page script alone,
without ``app.py``'s page config and navigation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """One page: its script (relative to ``app.py``), its title (in the navigation), its
    heading (the page's ``st.title``) and what it is for."""

    path: str
    title: str
    icon: str
    heading: str
    summary: str = ""
    model_id: str | None = None  # the one model the page runs, if it runs one
    # The modality of the models it runs (the core it imports first); None: any.
    modality: str | None = None
    default: bool = False


HOME = PageSpec("app_pages/home.py", "Home", ":material/home:", "Dx dashboard", default=True)

CHEST_XRAY = PageSpec(
    "app_pages/chest_xray.py", "Chest X-ray", ":material/radiology:",
    "Chest X-ray: pneumonia",
    # Words, not the image formats' list: the home page shows them before any modality is
    # imported (tests/test_intake.py checks that they name every image format).
    summary="Pneumonia vs normal on a frontal paediatric chest X-ray (PNG, JPEG, TIFF or "
            "DICOM), with the calibrated probability and a saliency map.",
    model_id="cxr-pneumonia", modality="image",
)
ECG = PageSpec(
    "app_pages/ecg.py", "ECG", ":material/monitor_heart:", "ECG: heartbeat classes",
    summary="Every heartbeat of an ECG record (WFDB or CSV) classed N, S, V or F, with "
            "a record summary (heart rate, ectopic burden, runs) and, for any beat, the "
            "part of the waveform that drove its class.",
    model_id="ecg-beats", modality="ecg",
)
# Several models (heart-disease, ckd, any other of modality "record"): the page lists them
# from the registry, so no single model_id.
RECORDS = PageSpec(
    "app_pages/records.py", "Case records", ":material/clinical_notes:", "Case records",
    summary="Heart disease or chronic kidney disease from a case record (CSV, JSON or a "
            "form), one case or many, with which findings pushed the prediction and "
            "how unlike the training cohort the case is.",
    modality="record",
)

TASK_PAGES: tuple[PageSpec, ...] = (CHEST_XRAY, ECG, RECORDS)

# Files dropped on the home page (or on these pages): every model at once.
WORKLIST = PageSpec(
    "app_pages/worklist.py", "Worklist", ":material/checklist:", "Worklist",
    summary="Many cases at once (a morning's X-rays, ECG records, a table of cases): every "
            "file read by its model, one sortable table, the uncertain or positive ones "
            "first, each case's full view, a CSV download.",
)
PATIENT = PageSpec(
    "app_pages/patient.py", "Patient view", ":material/person:", "Patient view",
    summary="The files of one patient (an X-ray, an ECG record, a case record) side by "
            "side, each with its own model's answer and explanation.",
)
DROP_PAGES: tuple[PageSpec, ...] = (WORKLIST, PATIENT)
# The model the server loads in the background once the first page is shown.
WARM_UP_MODEL = "cxr-pneumonia"

# Every shipped model's card in full and its test report; each task page's "About the
# model" links here (``?model=<id>`` picks the model).
MODELS = PageSpec(
    "app_pages/models.py", "Models", ":material/model_training:", "Models: cards and tests",
    summary="Each shipped model's card in full and how it did on its held-out test set: "
            "ROC curve, calibration, confusion matrix, prediction sets and the cases it got "
            "most confidently wrong.",
)

# Every prediction the dashboard made (dxcore.audit), its hash chain checked, for export.
AUDIT = PageSpec(
    "app_pages/audit.py", "Audit trail", ":material/history:", "Audit trail",
    summary="Every prediction this dashboard made: when, by which model and weights, on which "
            "input (its SHA-256), with what answer, and the session's pseudonym; nothing that "
            "identifies a patient. Each entry carries the hash of the one before it.",
)

PAGES: tuple[PageSpec, ...] = (HOME, *TASK_PAGES, *DROP_PAGES, MODELS, AUDIT)


def page_for_model(model_id: str) -> PageSpec | None:
    """The task page that runs ``model_id``, if one does."""
    return next((page for page in TASK_PAGES if page.model_id == model_id), None)
