"""Augmentation: labels and pixel range kept, reproducible from the seed, each distortion does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.augment import Augmentation, Augmenter, rotated
from nnstudio.core.config import PRESETS
from nnstudio.core.disturbances import thickened
from nnstudio.core.elastic_fields import gaussian_matrix, smooth_fields

EVERY = {
    "shift": Augmentation(shift=2),
    "rotate": Augmentation(rotate=15),
    "scale": Augmentation(scale=0.15),
    "shear": Augmentation(shear=15),
    "elastic": Augmentation(elastic_alpha=34, elastic_sigma=4),
    "noise": Augmentation(noise=0.3),
    "thickness": Augmentation(thickness=1.5),
    "unwarped": Augmentation(rotate=15, thickness=1, thickness_bias=-0.25, unwarped=0.3),
    "all": Augmentation(shift=2, rotate=10, scale=0.1, shear=10, elastic_alpha=34, elastic_sigma=4,
                        noise=0.1, thickness=1),
}


@pytest.fixture(scope="module")
def digits(split):
    return split.x_train[:256], split.y_train[:256]


@pytest.mark.parametrize("name", sorted(EVERY))
def test_each_augmentation_keeps_range_and_is_reproducible(digits, name):
    x, _ = digits
    first = Augmenter(EVERY[name], seed=3)(x)
    again = Augmenter(EVERY[name], seed=3)(x)
    other = Augmenter(EVERY[name], seed=4)(x)
    assert first.shape == (len(x), 784) and first.dtype == np.float32
    assert first.min() >= 0 and first.max() <= 1
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    plain = x / 255.0
    assert np.abs(first - plain).mean() > 0.01  # it does distort
    if name != "noise":  # ink stays ink: every digit keeps strokes at full strength
        assert first.max(axis=1).min() > 0.3


def test_distorted_digits_keep_their_labels(digits, quick_network):
    """A network trained on plain digits still reads moderately distorted ones: the label is kept."""
    x, y = digits
    plain = np.mean(quick_network.predict(x) == y)
    distorted = Augmenter(Augmentation(rotate=10, scale=0.1, shear=10, elastic_alpha=10, elastic_sigma=4,
                                       thickness=0.5), seed=0)(x)
    assert np.mean(quick_network.predict(distorted) == y) > plain - 0.1
    # ...while a shuffled label would be right about one time in ten
    assert np.mean(quick_network.predict(distorted) == np.roll(y, 1)) < 0.2


def test_off_is_the_plain_scaled_image(digits):
    x, _ = digits
    np.testing.assert_array_equal(Augmenter(Augmentation(), seed=0)(x), (x * np.float32(1 / 255)))


def test_identity_warp_resamples_exactly():
    """The sampler at the pixel centres returns the pixels themselves (no blur, no offset)."""
    images = np.random.default_rng(0).random((5, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(rotated(images, 0), images.reshape(5, -1), atol=1e-6)
    quarter = rotated(images, 90).reshape(5, 28, 28)
    np.testing.assert_allclose(quarter, np.rot90(images, 1, axes=(1, 2)), atol=1e-5)


def test_elastic_fields_are_smooth_and_sigma_controls_it():
    rng = np.random.default_rng(0)
    for sigma in (2.0, 4.0, 8.0):
        fields = smooth_fields(rng, 64, (28, 28), sigma)
        step = np.abs(np.diff(fields, axis=2)).mean()
        assert step < 0.5 * fields.std()  # neighbouring displacements differ little...
    raw = rng.uniform(-1, 1, (64, 28, 28))
    assert np.abs(np.diff(raw, axis=2)).mean() > raw.std()  # ...unlike the raw noise
    rough, smooth = smooth_fields(rng, 64, (28, 28), 2.0), smooth_fields(rng, 64, (28, 28), 8.0)
    assert (np.abs(np.diff(smooth, axis=2)).mean() / smooth.std()
            < np.abs(np.diff(rough, axis=2)).mean() / rough.std())
    blur = gaussian_matrix(28, 4.0)
    assert np.allclose(blur[10:18].sum(axis=1), 1.0, atol=0.01)  # away from the edges, a weighted mean


def test_elastic_displacement_grows_with_alpha(digits):
    x, _ = digits
    plain = x / 255.0
    weak = Augmenter(Augmentation(elastic_alpha=8), seed=0)(x)
    strong = Augmenter(Augmentation(elastic_alpha=60), seed=0)(x)
    assert np.abs(weak - plain).mean() < np.abs(strong - plain).mean()


def test_thickness_steps_add_and_remove_ink():
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 14, 5:23] = 1.0  # a 1-pixel line
    thick = thickened(image, 1.0)[0]
    assert thick[13:16, 5:23].min() == 1.0 and thick.sum() > 2.5 * image.sum()
    assert thickened(image, -1.0).sum() == 0  # a hairline erodes away
    half = thickened(image, 0.5)[0]
    np.testing.assert_allclose(half, 0.5 * image[0] + 0.5 * thick)
    both = thickened(np.concatenate([image, image]), np.array([1.0, -1.0], np.float32))
    np.testing.assert_array_equal(both[0], thick)


def test_an_unwarped_share_of_digits_skips_the_warp_only(digits):
    """The bundled preset leaves a fifth of its digits unwarped: they are as drawn, only thinner or
    thicker, as the Evaluate tab's thinner and thicker test digits are."""
    x = digits[0]
    plain = x.reshape(-1, 28, 28) / np.float32(255)
    for thickness, bias, expected in [(0, 0, plain), (1e-6, -1, thickened(plain, -1))]:
        for share in (0.5, 1):
            out = Augmenter(Augmentation(rotate=15, elastic_alpha=34, thickness=thickness, thickness_bias=bias,
                                         unwarped=share), seed=3)(x)
            as_drawn = np.all(np.abs(out - expected.reshape(len(x), -1)) < 1e-5, axis=1)
            assert (0.35 < as_drawn.mean() < 0.65) if share == 0.5 else as_drawn.all()
    assert Augmentation(unwarped=1.5).problems() == ["unwarped share must be a number from 0 to 1"]


def test_a_thickness_bias_moves_every_draw_to_the_thin_side(mnist):
    """The bundled preset draws thickness from -1.5 to +1 steps (thickness 1.25, bias -0.25): erosions
    beyond about 1.5 steps wipe most digits out, and the thinner side needs the more practice."""
    x = mnist.test_images[:64].reshape(64, -1)
    thin = Augmenter(Augmentation(thickness=1e-6, thickness_bias=-1), seed=0)(x)
    np.testing.assert_allclose(thin, thickened(x.reshape(64, 28, 28) / np.float32(255), -1.0).reshape(64, -1), atol=1e-4)
    # Without warps the thickness is the augmenter's first draw: the same seed gives the same steps.
    steps = np.random.default_rng(5).uniform(-1.25, 1.25, 64).astype(np.float32) - np.float32(0.25)
    skewed = Augmenter(Augmentation(thickness=1.25, thickness_bias=-0.25), seed=5)(x)
    np.testing.assert_allclose(skewed, thickened(x.reshape(64, 28, 28) / np.float32(255), steps).reshape(64, -1), atol=1e-6)
    assert Augmentation(thickness_bias=-4).problems() and PRESETS["bundled"].augmentation().thickness_bias == -0.25


def test_the_thickness_bias_flag_reaches_the_config():
    from nnstudio.cli.train import build_parser, config_from_args

    parser = build_parser()
    config = config_from_args(parser, parser.parse_args(["--thickness", "1.25", "--thickness-bias", "-0.25"]))
    assert (config.augment_thickness, config.augment_thickness_bias) == (1.25, -0.25)
    assert config.augmentation() == Augmentation(thickness=1.25, thickness_bias=-0.25)


def test_live_changes_of_strength_take_effect(digits):
    x, _ = digits
    augmenter = Augmenter(Augmentation(), seed=0)
    assert np.array_equal(augmenter(x[:8]), x[:8] * np.float32(1 / 255))
    augmenter.settings = Augmentation(rotate=20)
    assert not np.array_equal(augmenter(x[:8]), x[:8] * np.float32(1 / 255))


@pytest.mark.parametrize("bad", [dict(rotate=-1), dict(rotate=float("nan")), dict(scale=0.9),
                                 dict(elastic_alpha=float("inf")), dict(elastic_sigma=0), dict(noise=2),
                                 dict(thickness=4), dict(shear=90), dict(shift=20)])
def test_bad_strengths_are_refused_with_a_reason(bad):
    settings = Augmentation(**bad)
    assert settings.problems()
    with pytest.raises(ValueError, match="must be"):
        Augmenter(settings)
