"""One call from a file (or uploaded bytes) to a JSON-ready result, errors included: images
(:func:`predict_file`), ECG records (:func:`predict_record`) and tables of case records
(:func:`predict_cases_file`, one result per row)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dxcore.errors import DxError
from dxcore.explain import get_explainer, overlay, resize_map
from dxcore.images import load_image
from dxcore.models import DxModel


def explain_prediction(model: DxModel, prediction, method: str) -> np.ndarray:
    """The saliency map for the predicted class, at the model's input resolution."""
    class_index = model.card.class_names.index(prediction.prediction)
    return get_explainer(method)(model.keras_model, prediction.model_input, class_index,
                                 model.card.get("explainer_layer", "last_conv"))


def predict_file(model: DxModel, path: str | Path, explain: str | None = None,
                 out_dir: str | Path | None = None) -> dict[str, Any]:
    """``{"input", "model", "probabilities", "prediction"}`` or ``{"input", "error"}``."""
    result: dict[str, Any] = {"input": str(path)}
    try:
        try:
            data = Path(path).read_bytes()
        except OSError:
            raise DxError("The file cannot be opened (missing, or not readable).") from None
        image = load_image(data)
        prediction = model.predict(image)
        result.update({"model": model.card.id, **prediction.as_json()})
        if image.notes:
            result["notes"] = image.notes
        if explain:
            saliency = resize_map(explain_prediction(model, prediction, explain), image.size)
            peak_y, peak_x = np.unravel_index(int(saliency.argmax()), saliency.shape)
            result["explanation"] = {"method": explain, "peak_xy": [int(peak_x), int(peak_y)]}
            if out_dir:
                target = Path(out_dir) / f"{Path(path).stem}.{explain}.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(overlay(image.pixels, saliency)).save(target)
                result["explanation"]["overlay"] = str(target)
    except DxError as error:
        return {"input": str(path), "error": str(error)}
    return result


def predict_record(model: DxModel, path: str | Path, fs: float | None = None,
                   lead: str | None = None) -> dict[str, Any]:
    """``{"input", "model", "fs", "beats", "summary"}`` (and ``"notes"`` when the reader or
    the lead choice noted something) or ``{"input", "error"}``. Beat samples are at the
    input's own rate."""
    from dxcore.ecg import analyse_record, load_record

    try:
        record = load_record(path, fs=fs)
        analysis = analyse_record(model, record, lead=lead)
    except DxError as error:
        return {"input": str(path), "error": str(error)}
    result: dict[str, Any] = {"input": str(path), "model": model.card.id, **analysis.as_json()}
    if analysis.notes:
        result["notes"] = analysis.notes
    return result


def predict_cases_file(model: DxModel, path: str | Path, explain: bool = False
                       ) -> tuple[list[dict[str, Any]], list[str]]:
    """One object per row of a CSV or JSON file of cases, ``{"input", "row", "model",
    "probabilities", "prediction", "atypicality"}`` (and ``"notes"`` for imputed fields,
    ``"explanation"`` with ``explain``) or ``{"input", "row", "error"}``; or a single
    ``{"input", "error"}`` when the file itself cannot be read. Also the notes about the
    table as a whole (ignored columns, ...)."""
    from dxcore.records import explain_case, predict_cases, read_cases

    try:
        batch = predict_cases(model, read_cases(path))
    except DxError as error:
        return [{"input": str(path), "error": str(error)}], []
    results = []
    for case in batch.results:
        result: dict[str, Any] = {"input": str(path), "row": case.row}
        if case.error is None:
            result["model"] = model.card.id
        result.update(case.as_json())
        if case.error is None and explain:
            explanation = explain_case(model, case)
            result["explanation"] = {
                "method": "integrated gradients (log-odds, per field)",
                "sentences": explanation.sentences(5),
                "top_fields": {f.name: round(f.attribution, 4) for f in explanation.top(
                    model.card["input"].get("top_fields", 5))}}
        results.append(result)
    return results, batch.notes
