"""``heart-disease``: heart disease (num > 0) vs none from 13 findings of the UCI Cleveland
records, with a supervised autoencoder.

Test split: stratified 25% of the 303 patients (fixed seed); the other 75% train, with
5-fold cross-validation choosing the temperature, the threshold and the atypicality
reference.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

from dxcore.datasets import heart_disease
from dxcore.records import training
from dxcore.records.evaluation import (  # noqa: F401  (the recipe's measurements)
    calibration_predictions,
    evaluate,
    evaluate_domain,
    fit_domain_guard,
    test_predictions,
)
from dxcore.records.schema import Field, Schema

MODEL_ID = "heart-disease"
# What issue 4 asks of it on the test split (stored in the card, shown where it misses).
TARGETS = {"auc": {"at_least": 0.88}}
SETTINGS = training.Settings(hidden=16, code=4, input_dropout=0.3, head_dropout=0.3, l2=1e-2,
                             epochs=100)
NO_YES = {"0": "no", "1": "yes"}
TRAINING_DATA = {
    "dataset": "UCI Heart Disease, Cleveland",
    "dataset_id": "uci:45",
    "licence": "CC-BY-4.0",
    "references": ["Janosi A, Steinbrunn W, Pfisterer M, Detrano R. Heart Disease. UCI "
                   "Machine Learning Repository (1988)",
                   "Detrano R et al., Am J Cardiol 64:304-310 (1989)"],
    "data_folder": "heart_disease",
}
# Meanings and units: UCI "heart-disease.names"; ranges are physiologically plausible
# bounds (wider than the cohort's), which catch typing errors such as an age of 430.
SCHEMA = Schema(tuple(Field(missing_allowed=True, **spec) for spec in (
    {"name": "age", "label": "Age", "unit": "years", "type": "numeric", "range": (18, 110)},
    {"name": "sex", "label": "Sex", "type": "categorical",
     "categories": {"0": "female", "1": "male"}},
    {"name": "cp", "label": "Chest-pain type", "type": "categorical",
     "categories": {"1": "typical angina", "2": "atypical angina", "3": "non-anginal pain",
                    "4": "asymptomatic"}},
    {"name": "trestbps", "label": "Resting blood pressure", "unit": "mm Hg",
     "type": "numeric", "range": (60, 260), "description": "systolic, on admission"},
    {"name": "chol", "label": "Serum cholesterol", "unit": "mg/dl", "type": "numeric",
     "range": (70, 800)},
    {"name": "fbs", "label": "Fasting blood sugar > 120 mg/dl", "type": "categorical",
     "categories": NO_YES},
    {"name": "restecg", "label": "Resting ECG", "type": "categorical",
     "categories": {"0": "normal", "1": "ST-T wave abnormality",
                    "2": "left ventricular hypertrophy"}},
    {"name": "thalach", "label": "Maximum heart rate", "unit": "bpm", "type": "numeric",
     "range": (40, 250), "description": "achieved during the exercise test"},
    {"name": "exang", "label": "Exercise-induced angina", "type": "categorical",
     "categories": NO_YES},
    {"name": "oldpeak", "label": "ST depression", "unit": "mm", "type": "numeric",
     "range": (-5, 10), "description": "induced by exercise, relative to rest"},
    {"name": "slope", "label": "Slope of the peak exercise ST segment",
     "type": "categorical", "categories": {"1": "upsloping", "2": "flat", "3": "downsloping"}},
    {"name": "ca", "label": "Major vessels coloured by fluoroscopy", "unit": "vessels",
     "type": "numeric", "range": (0, 3)},
    {"name": "thal", "label": "Thallium stress test", "type": "categorical",
     "categories": {"3": "normal", "6": "fixed defect", "7": "reversible defect"}},
)))


def split(data: str | Path | None = None):
    """Train and test tables and labels (the fixed stratified 25% test split)."""
    return training.stratified_test_split(*heart_disease.load(data))


def train(out_dir: Path, data: str | None = None, epochs: int = SETTINGS.epochs,
          seed: int = 0) -> dict:
    """Cross-validate, train on the whole training split, save ``model.keras``, return the
    card fields."""
    settings = dataclasses.replace(SETTINGS, epochs=epochs)
    table, y, test_table, y_test = split(data)
    trained, cleaned = training.train_and_save(table, y, SCHEMA, settings, seed, out_dir)
    return {
        "id": MODEL_ID,
        "name": "Heart disease from clinical findings",
        "task": "Angiographic heart disease (> 50% narrowing of a major vessel, UCI num > 0) "
                "vs none, from 13 clinical and exercise-test findings",
        "class_names": list(heart_disease.CLASS_NAMES),
        **training.card_fields(trained, settings, seed, MODEL_ID, {
            "kind": "clinical", "formats": ["CSV", "JSON"], "fields": SCHEMA.as_json()},
            cleaned, positive_class="heart disease", out_dir=out_dir),
        "training_data": {
            **TRAINING_DATA,
            "split": f"stratified {training.TEST_SIZE:.0%} test split of the 303 patients "
                     f"(scikit-learn train_test_split, random_state={training.SPLIT_SEED}): "
                     f"{len(y)} train ({int(y.sum())} with disease), {len(y_test)} test "
                     f"({int(y_test.sum())}); {settings.folds}-fold stratified CV on the "
                     "train part chose temperature, threshold and atypicality reference; "
                     "the test part was used for the final measurement only",
        },
        "intended_use": "Research and teaching: how a model weighs routine cardiology "
                        "findings. A research prototype, not for clinical decisions.",
        "limitations": [
            "303 patients of one centre (Cleveland Clinic, 1981-1984); referral population "
            "for angiography, so disease is far more common than in general practice.",
            "Small test split (76 patients): wide confidence intervals.",
            "Findings follow 1980s definitions (e.g. thallium scintigraphy categories).",
            "Sex is coded as in the dataset (0 female, 1 male); 97 of 303 are women.",
        ],
        "date": date.today().isoformat(),
    }
