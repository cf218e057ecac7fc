"""dxcore.intake: files recognised by their bytes (each modality's formats' sniffers), ZIPs
opened in memory within limits (and hostile ones refused), files grouped into cases and
routed to their model, predictions batched per model in the order dropped."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dxcore import intake
from dxcore.ecg.formats import FORMATS as ECG_FORMATS
from dxcore.errors import DxError
from dxcore.images.formats import DICOM, IMAGE_FORMATS, PILLOW_FORMATS
from dxcore.images.reader import load_image
from dxcore.intake import Case, expand_zip, group_files, is_zip, predict_cases
from dxcore.records.formats import FORMATS as RECORD_FORMATS
from dxcore.registry import modalities
from dxui.imaging import UPLOAD_TYPES
from tests.drops import HEART_CASES, short_record, zip_of

HEADER = b"rec 2 360 3600\nrec.dat 212 200 11 1024 0 0 0 MLII\nrec.dat 212 200 11 1024 0 0 0 V5\n"


def format_of(name: str, data: bytes) -> str | None:
    """The name of the first built-in format (in sniffing order) that takes the file."""
    formats = sorted((known for modality in modalities().values() for known in modality.formats),
                     key=lambda known: known.order)
    return next((known.name for known in formats if known.sniff(name, data)), None)


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF"])
def test_images_are_recognised_by_their_bytes_whatever_their_name(fmt):
    assert format_of("no-extension", image_bytes(fmt)) == fmt


def gradient_image(fmt: str) -> bytes:
    """A 64 x 48 gradient (big enough for the reader, not blank) in the format ``fmt``."""
    buffer = io.BytesIO()
    Image.fromarray(np.tile(np.arange(48, dtype=np.uint8) * 5, (64, 1))).save(buffer,
                                                                             format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("image_format", PILLOW_FORMATS, ids=lambda f: f.name)
def test_every_image_format_is_taken_by_the_drop_zone_the_page_and_the_reader(image_format):
    """One list: the drop zone recognises the format, the Chest X-ray page accepts its
    extensions, and the reader (the pages' and ``python -m dxcore predict``'s) decodes it."""
    data = gradient_image(image_format.name)
    assert format_of("no-extension", data) == image_format.name
    assert set(image_format.extensions) <= set(UPLOAD_TYPES)
    assert load_image(data).format == image_format.name


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP"])
def test_an_image_format_outside_the_list_is_taken_by_none_of_them(fmt):
    data = gradient_image(fmt)
    assert format_of(f"x.{fmt.lower()}", data) is None
    assert fmt.lower() not in UPLOAD_TYPES
    with pytest.raises(DxError, match="Please upload a PNG, JPEG, TIFF or DICOM file"):
        load_image(data)
    [(name, error)] = group_files({f"x.{fmt.lower()}": data}).problems
    assert "not a file the dashboard can read" in str(error)


def test_a_dicom_without_its_preamble_is_taken_by_the_drop_zone_as_by_the_page(cxr_model):
    """One sniffer: a headerless DICOM (an ACR-NEMA file, a stripped export), which the
    image reader reads with a note, is an image to the drop zone too, and its worklist
    answer is the page's."""
    from tests.catalogue.test_images import acr_nema, without_preamble

    for data in (without_preamble(), acr_nema()):
        assert DICOM.sniff("scan", data)
        [case] = group_files({"scan": data}).cases
        assert (case.kind, case.model_id) == ("image", "cxr-pneumonia")
        [outcome] = predict_cases([case])
        page = cxr_model.predict({"scan": data})
        assert outcome.result.as_json() == page.as_json()
        assert "lacks its standard header" in outcome.result.notes[0]


def test_dicom_edf_wfdb_and_tables_are_recognised_by_content():
    assert format_of("x", b"\0" * 128 + b"DICM" + b"\0" * 16) == "DICOM"
    assert format_of("x", b"0       " + b" " * 248) == "EDF"
    assert format_of("header.txt", b"# comment\n" + HEADER) == "WFDB header"
    assert format_of("x", HEART_CASES) == "CSV or JSON table"
    assert format_of("x", b'[{"age": 63}]') == "CSV or JSON table"
    assert is_zip(zip_of({"a.txt": b"a"})) and format_of("x", zip_of({"a.txt": b"a"})) is None
    assert format_of("x.csv", b"\x00\x01\x02binary") is None
    assert format_of("x.hea", b"just a sentence of text\n") is None


def test_every_format_is_one_sniffer_that_the_readers_ask_too():
    """The ECG reader reads an EDF or a CSV dropped without its extension (as the drop zone
    routes it), by the same sniffers."""
    from dxcore.ecg.reader import load_uploads
    from tests.helpers import edf_bytes

    signal = np.sin(np.linspace(0, 60, 3600))[:, None] * np.array([[1.0, 0.5]])
    edf = edf_bytes(signal)
    csv = ("MLII,V5\n" + "".join(f"{a:.4f},{b:.4f}\n" for a, b in signal)).encode()
    assert [format_of("export", data) for data in (edf, csv)] == ["EDF", "CSV or JSON table"]
    assert next(known for known in ECG_FORMATS if known.name == "CSV").sniff("export", csv)
    assert load_uploads({"export": edf}).source_format == load_uploads({"x.edf": edf}) \
        .source_format
    assert load_uploads({"export": csv}, fallback_fs=360).fs == 360
    assert {known.name for known in RECORD_FORMATS} == {"CSV or JSON table", "Excel workbook"}
    assert {known.name for known in IMAGE_FORMATS} == {"PNG", "JPEG", "TIFF", "DICOM"}


def test_the_home_pages_words_name_every_image_format():
    """The drop zone's help and the Chest X-ray page's summary are words (the home page
    shows them before any modality is imported): they name every image format."""
    from dxcore.images.formats import image_formats_text
    from dxui.drop import HELP
    from dxui.navigation import CHEST_XRAY

    assert f"({image_formats_text()})" in HELP
    assert f"({image_formats_text()})" in CHEST_XRAY.summary


def test_a_wfdb_header_claims_its_signal_file_and_annotations_by_name():
    found = group_files({"rec.hea": HEADER, "rec.dat": b"\x01\x02\x03", "rec.atr": b"\x00\x00",
                         "other.dat": b"\x01\x02"})
    [case] = found.cases
    assert (case.name, case.kind, case.model_id) == ("rec", "ecg", "ecg-beats")
    assert sorted(case.files) == ["rec.atr", "rec.dat", "rec.hea"]
    [(name, error)] = found.problems
    assert name == "other.dat" and "needs its .hea header" in str(error)


def test_records_of_the_same_name_in_two_folders_of_a_zip_stay_apart():
    archive = zip_of({"a/rec.hea": HEADER, "a/rec.dat": b"1", "b/rec.hea": HEADER,
                      "b/rec.dat": b"2"})
    found = group_files({"day.zip": archive})
    assert [case.name for case in found.cases] == ["day.zip/a/rec", "day.zip/b/rec"]
    assert [case.files["rec.dat"] for case in found.cases] == [b"1", b"2"]
    assert not found.problems


def test_tables_are_routed_by_their_columns_and_an_unknown_file_does_not_stop_the_rest(
        heart_model):
    found = group_files({"cases.csv": HEART_CASES, "x.png": image_bytes("PNG"),
                         "notes.csv": b"colour,size\nred,3\n", "blob.bin": b"\x00\xff"})
    assert [(c.name, c.model_id) for c in found.cases] == [
        ("cases.csv", "heart-disease"), ("x.png", "cxr-pneumonia")]
    problems = dict(found.problems)
    assert set(problems) == {"notes.csv", "blob.bin"}
    assert "match no case-record model" in str(problems["notes.csv"])
    assert "not a file the dashboard can read" in str(problems["blob.bin"])


def test_a_long_csv_of_numbers_that_matches_no_case_model_is_an_ecg(ecg_model):
    signal = "MLII,V5\n" + "".join(f"{i % 7},{i % 5}\n" for i in range(400))
    [case] = group_files({"strip.csv": signal.encode()}).cases
    assert (case.kind, case.model_id) == ("ecg", "ecg-beats")
    # too short to be a recording: the table's refusal says both why not
    [(_, error)] = group_files({"notes.csv": b"colour,size\nred,3\n"}).problems
    assert "match no case-record model" in str(error)
    assert "and it is too short to be an ECG recording. Check its header row" in str(error)


# --- hostile ZIPs ----------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_before_it_is_expanded(monkeypatch):
    monkeypatch.setattr(intake, "MAX_ZIP_BYTES", 1 << 20)
    bomb = zip_of({"zeros.png": b"\0" * (2 << 20)})  # 2 MB of zeros: a few kB compressed
    assert len(bomb) < 20_000
    with pytest.raises(DxError, match="expands to"):
        expand_zip("bomb.zip", bomb)
    found = group_files({"bomb.zip": bomb, "x.png": image_bytes("PNG")})
    assert [case.name for case in found.cases] == ["x.png"]
    assert "expands to" in str(dict(found.problems)["bomb.zip"])


def test_a_zip_of_too_many_files_is_refused(monkeypatch):
    monkeypatch.setattr(intake, "MAX_ZIP_ENTRIES", 10)
    with pytest.raises(DxError, match="holds 11 files"):
        expand_zip("many.zip", zip_of({f"{i}.png": b"x" for i in range(11)}))


def test_nested_damaged_and_hidden_entries():
    inner = zip_of({"a.png": image_bytes("PNG")})
    files, refused = expand_zip("outer.zip", zip_of({
        "inner.zip": inner, "__MACOSX/._a.png": b"junk", ".DS_Store": b"junk",
        "folder/b.png": image_bytes("PNG")}))
    assert list(files) == ["outer.zip/folder/b.png"]
    [(name, error)] = refused
    assert name == "outer.zip/inner.zip" and "ZIP inside a ZIP" in str(error)
    with pytest.raises(DxError, match="not a ZIP file that can be opened"):
        expand_zip("cut.zip", zip_of({"a.png": b"x" * 1000})[:60])


def test_an_entry_longer_than_its_declared_size_is_not_read_past_it():
    archive = bytearray(zip_of({"a.png": b"\x89PNG\r\n\x1a\n" + b"A" * 5000}))
    # Declare 100 bytes in both headers (local at offset 22, central directory's copy).
    central = archive.rfind(b"PK\x01\x02")
    for offset in (22, central + 24):
        archive[offset:offset + 4] = (100).to_bytes(4, "little")
    files, refused = expand_zip("lying.zip", bytes(archive))
    assert not files and "cannot be unpacked" in str(refused[0][1])


# --- prediction -----------------------------------------------------------------------------


class CountingModel:
    """Stands in for a model: records each predict_many call, answers each input's name."""

    def __init__(self):
        self.calls: list[int] = []

    def predict_many(self, sources, **options):
        self.calls.append(len(sources))
        return [next(iter(source)) for source in sources]


def test_predictions_are_batched_per_model_and_come_back_in_the_order_dropped(monkeypatch):
    monkeypatch.setattr(intake, "CHUNK", 2)
    models = {"a": CountingModel(), "b": CountingModel()}
    cases = [Case(f"{i}", "image", "ab"[i % 2], {f"f{i}": b""}) for i in range(5)]
    seen = []
    outcomes = predict_cases(cases, model_of=models.__getitem__,
                             progress=lambda done, total: seen.append((done, total)))
    assert [o.result for o in outcomes] == [f"f{i}" for i in range(5)]
    assert models["a"].calls == [2, 1] and models["b"].calls == [2]
    assert seen[-1] == (5, 5)


def test_a_real_drop_of_three_kinds_through_the_contract(mitdb_root, test_xray_bytes,
                                                         cxr_model, ecg_model, heart_model):
    found = group_files({**short_record(mitdb_root, 20), "chest.jpeg": test_xray_bytes,
                         "cases.csv": HEART_CASES})
    outcomes = predict_cases(found.cases)
    assert [o.model_id for o in outcomes] == ["ecg-beats", "cxr-pneumonia", "heart-disease"]
    assert [len(o.result) for o in outcomes][1:] == [1, 3]
    assert len(outcomes[0].result) > 10  # beats of 20 s


def test_a_table_counts_its_rows_and_only_a_small_drop_is_offered_as_one_patient(
        heart_model):
    """The worklist button counts rows (a table of 3 cases is 3), and "Open as one patient"
    is for at most a few inputs, one ECG and one record of one row (Intake.one_patient)."""
    one_row = b"\n".join(HEART_CASES.splitlines()[:2]) + b"\n"
    patient = group_files({"a.png": image_bytes("PNG"), "b.png": image_bytes("PNG"),
                           "case.csv": one_row, "rec.hea": HEADER, "rec.dat": b"\x01\x02\x03"})
    assert [case.rows for case in patient.cases] == [1, 1, 1, 1]
    assert patient.rows == 4 and patient.one_patient()
    table = group_files({"cases.csv": HEART_CASES, "a.png": image_bytes("PNG")})
    assert [case.rows for case in table.cases] == [3, 1] and table.rows == 4
    assert not table.one_patient()  # three rows are three patients
    images = group_files({f"{k}.png": image_bytes("PNG") for k in range(5)})
    assert images.rows == 5 and not images.one_patient()
    two_tables = group_files({"a.csv": one_row, "b.csv": one_row})
    assert not two_tables.one_patient()


# --- Excel workbooks and options the user gives (issue 27) -----------------------------------


def test_a_workbook_is_a_table_never_a_zip_to_expand(heart_model):
    import pandas as pd

    from tests.workbooks import workbook_of

    xlsx = workbook_of(pd.read_csv(io.BytesIO(HEART_CASES), dtype=str))
    assert format_of("cases.xlsx", xlsx) == format_of("export", xlsx) == "Excel workbook"
    assert not is_zip(xlsx)
    for drop, name in (({"cases.xlsx": xlsx}, "cases.xlsx"),
                       ({"day.zip": zip_of({"cases.xlsx": xlsx})}, "day.zip/cases.xlsx")):
        found = group_files(drop)
        assert not found.problems  # no "[Content_Types].xml is not a file ..." per part
        [case] = found.cases
        assert (case.name, case.kind, case.model_id, case.rows) == (
            name, "record", "heart-disease", 3)


def test_unreadable_and_unmatched_workbooks_are_problems_and_unmatched_tables_mappable(
        heart_model):
    from tests.test_workbook import ole2
    from tests.workbooks import workbook_of

    french = workbook_of([["âge", "sexe", "cholestérol"], [63, 1, 233]])
    found = group_files({"old.xls": ole2("Workbook"), "locked.xlsx": ole2("EncryptedPackage"),
                         "francais.xlsx": french, "notes.csv": b"colour,size\nred,3\n"})
    problems = {name: str(error) for name, error in found.problems}
    assert not found.cases
    assert "Excel 97-2003 workbook (.xls)" in problems["old.xls"]
    assert "protected by a password" in problems["locked.xlsx"]
    assert "map its columns to a model's fields on the Case records page" in \
        problems["francais.xlsx"]
    assert found.mappable == {"francais.xlsx": french, "notes.csv": b"colour,size\nred,3\n"}


def test_a_case_is_read_with_its_own_options(monkeypatch):
    models = {"a": CountingModel()}
    seen_options = []

    def predict_many(sources, **options):
        seen_options.append(options)
        return [next(iter(source)) for source in sources]

    monkeypatch.setattr(models["a"], "predict_many", predict_many)
    found = intake.Intake([Case("x.csv", "ecg", "a", {"x.csv": b""}),
                           Case("y.csv", "ecg", "a", {"y.csv": b""})], [])
    answered = found.with_options({"x.csv": {"fs": 250.0}})
    assert [case.options for case in answered.cases] == [{"fs": 250.0}, {}]
    outcomes = predict_cases(answered.cases, model_of=models.__getitem__, lead="MLII")
    assert [o.result for o in outcomes] == ["x.csv", "y.csv"]
    assert seen_options == [{"lead": "MLII", "fs": 250.0}, {"lead": "MLII"}]
