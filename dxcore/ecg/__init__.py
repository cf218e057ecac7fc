"""ECG records: every heartbeat of a Holter lead classed by a recurrent network.

Modules, as in every modality package: ``formats`` (WFDB, EDF and CSV, and their
sniffers), ``reader`` (WFDB, EDF or CSV -> :class:`EcgRecord`, with ``wfdb_io``,
``edf_io``, ``csv_io`` and ``record``), ``preprocessing`` (each beat's inputs; ``beats``
finds the beats), ``network``, ``model`` (:class:`EcgModel`, the contract; ``summary``
the record summary), ``explainers`` (Grad-CAM, Saliency over a beat), ``report`` (its PDF
sections), ``training`` (the ``ecg-beats`` recipe) and ``evaluation`` (its DS2
measurement); ``mitdb`` reads its dataset.

A page or a script needs three calls::

    from dxcore import get_model

    model = get_model("ecg-beats")
    result = model.predict("mitdb/100")               # or {file name: bytes} of an upload
    result.detail.summary, result.as_json()[0]["beats"][:3]
    band = model.explain(result, "gradcam", item=42)  # .detail.times_s, .detail.saliency
"""

from dxcore.ecg import explainers as _explainers  # noqa: F401  (registers the methods)
from dxcore.ecg.formats import FORMATS
from dxcore.ecg.model import BeatSaliency, EcgModel, RecordAnalysis
from dxcore.ecg.reader import load_record, load_uploads
from dxcore.ecg.record import EcgRecord
from dxcore.registry import Modality, register_modality

__all__ = ["BeatSaliency", "EcgModel", "EcgRecord", "RecordAnalysis", "load_record",
           "load_uploads"]

register_modality(Modality(
    "ecg", EcgModel, {"ecg-beats": "dxcore.ecg.training"}, label="ECG", formats=FORMATS,
    input_label="ECG record", input_text="an ECG record (WFDB .hea with its .dat, EDF, or CSV)",
    input_hint="A WFDB .dat or .atr file needs its .hea header in the same drop.",
    report="dxcore.ecg.report", datasets=("dxcore.ecg.mitdb",), views="dxui.ecg"))
