"""The chest X-ray domain guard (dxcore.images.domain): each score on inputs built here,
then the shipped guard on real and junk images through predict, predict_many and the CLI.
The out-of-domain inputs made here use other seeds than the evaluation set."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from PIL import Image

from dxcore.contract import Result
from dxcore.errors import DxError, OutOfDomain
from dxcore.images import load_image
from dxcore.images.domain import (
    COLOUR_FLOOR,
    PARAMETERS_FILE,
    REASONS,
    DomainGuard,
    refusal_message,
    thumbnails,
)
from dxcore.images.ood import EVALUATION_SEED, encode, out_of_domain_set, synthetic
from dxcore.images.reader import colourfulness
from tests.helpers import run_cli

TEST_SEED = 7  # not the evaluation set's


def jpeg(pixels: np.ndarray) -> bytes:
    return encode(pixels, "JPEG")


# --- the scores, on inputs built here -----------------------------------------------------


def test_colourfulness_is_zero_for_gray_and_large_for_colour():
    rng = np.random.default_rng(TEST_SEED)
    gray = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    assert colourfulness(np.stack([gray] * 3, axis=-1)) == 0.0
    colour = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert colourfulness(colour) > 80  # "highly colourful" on Hasler and Suesstrunk's scale


def test_reader_measures_colour_before_the_grayscale_conversion():
    ys, xs = np.mgrid[0:64, 0:64].astype(np.uint8) * 4
    gray_rgb = load_image(jpeg(np.stack([xs] * 3, axis=-1)))
    red_and_blue = load_image(encode(np.stack([xs, np.zeros_like(xs), ys], axis=-1)))
    assert gray_rgb.colourfulness < COLOUR_FLOOR  # an RGB JPEG of gray content stays gray
    assert red_and_blue.colourfulness > 2 * COLOUR_FLOOR
    assert red_and_blue.pixels.ndim == 2  # converted all the same
    assert load_image(encode(xs)).colourfulness == 0.0


def test_thumbnails_are_z_scored_block_means():
    x = np.random.default_rng(TEST_SEED).random((3, 128, 128, 1)).astype(np.float32)
    small = thumbnails(x, 32)
    assert small.shape == (3, 32 * 32)
    np.testing.assert_allclose(small.mean(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(small.std(axis=1), 1.0, atol=1e-9)
    # Exposure and contrast do not count, only the pattern.
    np.testing.assert_allclose(thumbnails(0.2 + 0.5 * x, 32), small, atol=1e-4)


def toy_guard() -> DomainGuard:
    """Two class means, identity precision, one principal component (a horizontal ramp)."""
    ramp = thumbnails(np.tile(np.linspace(0, 1, 128, dtype=np.float32), (1, 128, 1))[..., None])
    return DomainGuard(thresholds={"colour": 10.0, "pixels": 0.5, "features": 2.0},
                       class_means=np.array([[0.0, 0.0], [4.0, 0.0]]),
                       precision=np.eye(2), pixel_mean=np.zeros(32 * 32),
                       pixel_components=ramp / np.linalg.norm(ramp))


def ramp_input(contrast: float = 1.0) -> np.ndarray:
    return (contrast * np.tile(np.linspace(0, 1, 128, dtype=np.float32), (128, 1)))[None, ..., None]


def test_feature_score_is_the_distance_to_the_nearest_class_mean():
    guard = toy_guard()
    distances = guard.feature_score(np.array([[0.0, 1.0], [3.0, 0.0], [2.0, 0.0]]))
    np.testing.assert_allclose(distances, [1.0, 1.0, 2.0])


def test_pixel_score_is_the_unexplained_share_of_variance():
    guard = toy_guard()
    assert guard.pixel_score(ramp_input(0.3))[0] == pytest.approx(0.0, abs=1e-6)
    noise = np.random.default_rng(TEST_SEED).random((1, 128, 128, 1)).astype(np.float32)
    assert guard.pixel_score(noise)[0] > 0.9


def test_guard_accepts_what_is_within_every_threshold():
    toy_guard().check(ramp_input(), np.array([[4.0, 1.0]]), colour=3.0)


@pytest.mark.parametrize(("features", "colour", "reason", "score"), [
    ([[4.0, 1.0]], 25.0, "colour", 2.5),
    ([[4.0, 6.0]], 3.0, "features", 3.0),
    ([[4.0, 6.0]], 50.0, "colour", 5.0),  # colour named first; the score is the largest
])
def test_guard_refuses_with_the_reason_and_the_largest_ratio(features, colour, reason, score):
    with pytest.raises(OutOfDomain) as refused:
        toy_guard().check(ramp_input(), np.array(features), colour)
    assert str(refused.value) == refusal_message(reason)
    assert refused.value.facts["domain_score"] == pytest.approx(score)


def test_noise_is_refused_by_its_pixel_pattern():
    noise = np.random.default_rng(TEST_SEED).random((1, 128, 128, 1)).astype(np.float32)
    with pytest.raises(OutOfDomain) as refused:
        toy_guard().check(noise, np.array([[4.0, 0.0]]), colour=0.0)
    assert REASONS["pixels"] in str(refused.value)


def test_every_refusal_is_one_sentence_saying_no_answer_is_given():
    for reason in REASONS:
        message = refusal_message(reason)
        assert message.count(". ") == 0 and message.endswith("the model gives no answer.")


# --- the evaluation set's builder ---------------------------------------------------------


def test_synthetic_images_are_decodable_and_depend_on_the_seed():
    evaluation, other = synthetic(EVALUATION_SEED), synthetic(TEST_SEED)
    assert [name for _, name, _ in evaluation] == [name for _, name, _ in other]
    assert evaluation[0][2] != other[0][2]  # the noise differs
    for _, name, data in evaluation:
        assert load_image(data).pixels.ndim == 2, name


def test_out_of_domain_set_holds_three_sources(dataset):
    data = dataset("ood_brain_mri").parent
    samples = out_of_domain_set(data)
    counts = {source: sum(s == source for s, _, _ in samples) for source, _, _ in samples}
    assert counts["brain MRI"] == 200
    assert counts["scikit-image"] >= 10 and counts["synthetic"] >= 20


# --- the shipped guard ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded_model(cxr_model):
    if cxr_model.domain_guard is None:
        pytest.skip("the shipped cxr-pneumonia card has no domain guard; run python -m "
                    "dxcore calibrate cxr-pneumonia")
    return cxr_model


def junk(seed: int = TEST_SEED) -> dict[str, bytes]:
    """Out-of-domain images made here (not the evaluation set's seed)."""
    return {name: data for _, name, data in synthetic(seed)}


def test_forward_gives_the_networks_logits_and_the_features_in_one_pass(guarded_model,
                                                                        test_batch):
    outputs = guarded_model.forward(test_batch)
    assert set(outputs) == {"logits", "features"}
    direct = np.asarray(guarded_model.network(test_batch, training=False))
    np.testing.assert_allclose(outputs["logits"], direct, rtol=1e-5, atol=1e-5)
    assert outputs["features"].shape[0] == len(test_batch)


def test_real_test_xrays_are_accepted(guarded_model, test_xray_path, data_dir):
    from dxcore.images import chest_xray

    test = chest_xray.official_split("test", data_dir)
    chosen = [test.paths[i] for i in (0, 100, 300, 500)] + [test_xray_path]
    assert all(isinstance(r, Result) for r in guarded_model.predict_many(chosen))


def test_a_png_copy_of_a_test_xray_is_accepted(guarded_model, test_xray_bytes):
    png = io.BytesIO()
    Image.open(io.BytesIO(test_xray_bytes)).convert("L").save(png, format="PNG")
    assert isinstance(guarded_model.predict(png.getvalue()), Result)


@pytest.mark.parametrize("name", ["uniform noise.png", "gaussian noise.png",
                                  "black with one white pixel.png", "rendered text.png",
                                  "checkerboard 32.png", "colour noise.png"])
def test_junk_is_refused(guarded_model, name):
    with pytest.raises(OutOfDomain) as refused:
        guarded_model.predict(junk()[name])
    assert refused.value.facts["domain_score"] > 1.0


def test_a_brain_mri_is_refused(guarded_model, dataset):
    path = sorted(dataset("ood_brain_mri").glob("*.jpg"))[0]
    with pytest.raises(OutOfDomain):
        guarded_model.predict(path)


def test_a_colour_photograph_of_gray_content_is_refused_as_colour(guarded_model,
                                                                  test_xray_bytes):
    """A test X-ray tinted sepia, as a phone photo of a light box might be."""
    gray = np.asarray(Image.open(io.BytesIO(test_xray_bytes)).convert("L"), np.float32)
    sepia = np.stack([gray, gray * 0.8, gray * 0.55], axis=-1).astype(np.uint8)
    with pytest.raises(OutOfDomain) as refused:
        guarded_model.predict(jpeg(sepia))
    assert REASONS["colour"] in str(refused.value)


def test_predict_many_answers_a_refusal_in_its_place(guarded_model, test_xray_bytes):
    answers = guarded_model.predict_many([test_xray_bytes, junk()["uniform noise.png"],
                                          test_xray_bytes])
    assert [type(a) for a in answers] == [Result, OutOfDomain, Result]
    np.testing.assert_allclose(answers[0].probabilities,
                               guarded_model.predict(test_xray_bytes).probabilities, atol=1e-6)


def test_cli_json_gives_the_refusal_its_code_and_score(guarded_model, test_xray_path,
                                                       tmp_path, capsys):
    noise = tmp_path / "noise.png"
    noise.write_bytes(junk()["uniform noise.png"])
    status, lines, err = run_cli(capsys, "predict", "cxr-pneumonia", str(noise),
                                 str(test_xray_path), "--json")
    assert status == 1 and "Traceback" not in err
    refusal, answer = lines
    assert set(refusal) == {"input", "error", "code", "domain_score"}
    assert refusal["input"] == str(noise) and refusal["code"] == "out_of_domain"
    assert refusal["domain_score"] > 1.0
    with pytest.raises(OutOfDomain) as refused:
        guarded_model.predict(noise)
    assert refusal["error"] == str(refused.value)
    assert answer["prediction"] in guarded_model.card.class_names


def test_a_damaged_parameters_file_stops_the_model(guarded_model, tmp_path,
                                                   test_xray_bytes):
    from dxcore.registry import get_model

    folder = tmp_path / "cxr-pneumonia"
    shutil.copytree(guarded_model.card.folder, folder)
    (folder / PARAMETERS_FILE).write_bytes(b"replaced")
    with pytest.raises(DxError, match="checksum mismatch"):
        get_model("cxr-pneumonia", tmp_path).predict(test_xray_bytes)
