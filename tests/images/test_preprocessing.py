"""What the network sees of an image: every normalisation a card can name."""

from __future__ import annotations

import numpy as np
import pytest

from dxcore.cards import card_schema
from dxcore.images.preprocessing import NORMALIZATIONS, equalize, prepare_for_model


def test_the_card_schema_names_exactly_the_normalisations_there_are():
    allowed = card_schema()["$defs"]["image_input"]["properties"]["normalization"]["enum"]
    assert sorted(allowed) == sorted(NORMALIZATIONS)


@pytest.mark.parametrize("normalization", sorted(NORMALIZATIONS))
def test_every_normalisation_gives_finite_float32_at_the_side(normalization):
    rng = np.random.default_rng(0)
    for pixels in (rng.random((300, 200), dtype=np.float32), np.zeros((50, 50), np.float32)):
        x = prepare_for_model(pixels, 64, normalization)
        assert x.shape == (64, 64) and x.dtype == np.float32 and np.isfinite(x).all()


def test_equalisation_ignores_exposure_and_contrast_and_nearly_gamma():
    pixels = np.random.default_rng(1).random((128, 128), dtype=np.float32)
    reference = equalize(pixels)
    assert reference.min() >= 0.0 and reference.max() == pytest.approx(1.0)
    np.testing.assert_allclose(equalize(0.6 * pixels + 0.2), reference, atol=1e-5)
    # A monotone, non-linear change moves values across the 256 bins, a little.
    assert np.abs(equalize(pixels ** 2.2) - reference).mean() < 0.02
