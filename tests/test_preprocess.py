"""to_mnist on real MNIST digits redrawn as large pictures, and on everything a user might draw."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnstudio.core.preprocess import (BOX, crop_to_ink, cropped_ink_u8, ink_layer, is_blank, luminance, resize_axis,
                                      stroke_width, to_mnist)
from nnstudio.resources import BUNDLED_MODEL

N = 500  # test digits per check: enough to see a 2% drop, quick on 2 cores


def enlarge(digit: np.ndarray, factor: int = 10) -> np.ndarray:
    """A 28x28 digit as a big picture: each pixel a factor x factor block."""
    return np.kron(digit, np.ones((factor, factor), np.uint8))


def accuracy(network, inputs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(network.predict(inputs.reshape(len(inputs), -1)) == labels))


def redrawn(images: np.ndarray, picture) -> np.ndarray:
    return np.stack([to_mnist(picture(d)) for d in images])


def ink_box(x: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    r = np.arange(x.shape[0])
    return float(x.sum(axis=1) @ r / x.sum()), float(x.sum(axis=0) @ r / x.sum())


def assert_mnist_like(x: np.ndarray) -> None:
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() == pytest.approx(1.0)
    assert max(ink_box(x > 0)) <= BOX
    cy, cx = centre_of_mass(x)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


# -- real digits keep their accuracy -------------------------------------------------------------


def off_centre(digit: np.ndarray) -> np.ndarray:
    canvas = np.zeros((900, 1200), np.uint8)
    canvas[40:320, 880:1160] = enlarge(digit)
    return canvas


@pytest.mark.parametrize("picture", [
    pytest.param(enlarge, id="enlarged 10x"),
    pytest.param(lambda d: 255 - enlarge(d), id="dark ink on white"),
    pytest.param(off_centre, id="off-centre on a big canvas"),
    pytest.param(lambda d: np.repeat(enlarge(255 - d, 7)[..., None], 3, axis=2), id="RGB, dark on white"),
])
def test_real_digits_redrawn_large_keep_their_accuracy(quick_network, mnist, picture):
    images, labels = mnist.test_images[:N], mnist.test_labels[:N]
    native = accuracy(quick_network, images / 255.0, labels)
    after = accuracy(quick_network, redrawn(images, picture), labels)
    assert native > 0.9
    assert after >= native - 0.015, f"preprocessing cost {native - after:.1%} accuracy"


def test_preprocessing_a_real_digit_nearly_reproduces_it(mnist):
    """MNIST digits are already normalised: redrawn 10x larger, they come back nearly unchanged."""
    images = mnist.test_images[:200]
    out = redrawn(images, enlarge)
    error = np.abs(out - images / 255.0).mean(axis=(1, 2))
    assert np.median(error) < 0.02
    for x in out[:50]:
        assert_mnist_like(x)


def test_bundled_model_reads_redrawn_test_digits(mnist):
    if not BUNDLED_MODEL.exists():
        pytest.skip(f"{BUNDLED_MODEL} not shipped yet")
    from nnstudio.core.model_file import load_model

    network = load_model(BUNDLED_MODEL).network
    images, labels = mnist.test_images[:1000], mnist.test_labels[:1000]
    assert accuracy(network, redrawn(images, enlarge), labels) >= 0.97
    assert accuracy(network, redrawn(images[:300], lambda d: 255 - enlarge(d)), labels[:300]) >= 0.97


# -- drawings ------------------------------------------------------------------------------------


def canvas(side: int = 280, *, ink: int = 255, paper: int = 0) -> np.ndarray:
    return np.full((side, side), paper, np.uint8)


def test_empty_and_uniform_pictures_have_no_digit():
    for picture in (canvas(), canvas(paper=255), np.full((50, 70), 0.5, np.float32), np.zeros((1, 1), np.uint8)):
        assert to_mnist(picture) is None
        assert is_blank(picture)
    assert to_mnist(np.zeros((0, 10), np.uint8)) is None


def test_faint_noise_alone_is_blank():
    rng = np.random.default_rng(0)
    noisy_paper = (245 + rng.integers(-8, 8, (300, 300))).astype(np.uint8)
    assert to_mnist(noisy_paper) is None


def test_single_dot_becomes_a_centred_blob():
    picture = canvas()
    picture[40:48, 200:208] = 255
    x = to_mnist(picture)
    assert_mnist_like(x)
    assert not is_blank(picture)


@pytest.mark.parametrize("side", [5, 28, 280, 1000, 4000])
def test_pictures_of_any_size(side):
    picture = np.zeros((side, side), np.uint8)
    picture[side // 5 : side * 4 // 5, side // 2 - max(1, side // 30) : side // 2 + max(1, side // 30)] = 255
    x = to_mnist(picture)
    assert_mnist_like(x)
    assert ink_box(x > 0.5)[0] >= 18  # a tall "1" fills the box's height


def test_huge_photo_becomes_a_digit():
    # Its speed is the sketch benchmark's business, not a timed assertion's.
    photo = np.full((4000, 4000, 3), 235, np.uint8)
    photo[800:3200, 1900:2150] = (30, 30, 40)
    x = to_mnist(photo)
    assert_mnist_like(x)
    assert x[:, 12:16].sum() > x[:, :8].sum() + x[:, 20:].sum()  # the upright bar stays in the middle


def hairline_seven(side: int, width: int) -> np.ndarray:
    picture = np.full((side, side), 255, np.uint8)  # dark pen on white paper
    top, bottom = side // 6, side * 5 // 6
    picture[top : top + width, side // 4 : side * 3 // 4] = 0
    for y in range(top, bottom):
        x = side * 3 // 4 - (y - top) * (side // 3) // (bottom - top)
        picture[y, x : x + width] = 0
    return picture


def test_thin_strokes_are_thickened_to_mnist_width():
    x = to_mnist(hairline_seven(2000, 2))
    assert_mnist_like(x)
    assert 1.5 <= stroke_width(x) <= 3.5
    assert np.count_nonzero(x > 0.5) >= 30  # a visible seven, not a faint trace


def test_thick_strokes_stay_a_digit_and_thin_ones_agree_with_them():
    thin = to_mnist(hairline_seven(600, 2))
    thick = to_mnist(hairline_seven(600, 120))
    assert_mnist_like(thick)
    assert stroke_width(thick) > stroke_width(thin)
    # Both are the same seven: their centres and boxes agree.
    assert np.allclose(centre_of_mass(thin), centre_of_mass(thick), atol=1.0)


def test_transparent_layers_are_composited_on_the_background():
    rgba = np.zeros((300, 300, 4), np.uint8)  # black ink on a fully transparent layer
    rgba[50:250, 140:160, 3] = 255
    x = to_mnist(rgba)
    assert_mnist_like(x)
    assert ink_box(x > 0.5)[0] == 20
    white = rgba.copy()
    white[..., :3] = 255  # white ink on a transparent layer
    assert np.allclose(to_mnist(white), x)
    assert to_mnist(np.zeros((30, 30, 4), np.uint8)) is None  # nothing opaque at all


def test_float_and_0_to_255_float_pictures_agree_with_uint8():
    picture = canvas()
    picture[60:220, 100:180] = 255
    picture[100:180, 130:150] = 0
    expected = to_mnist(picture)
    assert np.allclose(to_mnist(picture / 255.0), expected, atol=1e-5)
    assert np.allclose(to_mnist(picture.astype(np.float64)), expected, atol=1e-5)
    assert np.allclose(to_mnist(picture.astype(np.uint16) * 257), expected, atol=1e-3)


def test_wrong_shapes_are_refused_clearly():
    with pytest.raises(ValueError, match="shape"):
        to_mnist(np.zeros((3, 3, 3, 3)))
    with pytest.raises(ValueError, match="channels"):
        to_mnist(np.zeros((10, 10, 7)))


pictures = st.tuples(
    arrays(np.float32, st.tuples(st.integers(1, 200), st.integers(1, 200)), elements=st.floats(0, 1, width=32)),
    st.booleans(),
).map(lambda drawn: (drawn[0] * 255).astype(np.uint8) if drawn[1] else drawn[0])


@settings(max_examples=50, deadline=None)
@given(pictures)
def test_any_picture_gives_a_digit_or_none(picture):
    x = to_mnist(picture)
    if x is not None:
        assert x.shape == (28, 28) and x.dtype == np.float32
        assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1
        assert max(ink_box(x > 0)) <= BOX


strips = st.tuples(st.integers(1, 4), st.integers(1025, 5000), st.booleans(), st.integers(0, 2**32 - 1))


@settings(max_examples=25, deadline=None)
@given(strips)
def test_long_thin_strips_beyond_the_shrink_size_give_a_digit_or_none(strip):
    short, long, transpose, seed = strip
    picture = np.random.default_rng(seed).integers(0, 256, (short, long), dtype=np.uint8)
    picture[:, : long // 2] = 0
    x = to_mnist(picture.T if transpose else picture)
    assert x is None or (x.shape == (28, 28) and np.isfinite(x).all())


# -- the shortcut for uint8 pictures (the sketch pad's canvas) is the general path, to the bit -----


def general_ink(picture: np.ndarray) -> np.ndarray | None:
    gray = luminance(picture)
    ink = None if gray is None else ink_layer(gray)
    return None if ink is None else crop_to_ink(ink)


def assert_same_ink(picture: np.ndarray) -> None:
    expected, shortcut = general_ink(picture), cropped_ink_u8(picture)
    assert (expected is None) == (shortcut is None)
    if expected is not None:
        assert shortcut.dtype == expected.dtype and np.array_equal(shortcut, expected)
    # A one-channel 3-D picture takes the general path all the way: the same 28x28 digit.
    x, y = to_mnist(picture), to_mnist(picture[..., None])
    assert (x is None) == (y is None) and (x is None or np.array_equal(x, y))


@pytest.mark.parametrize("picture", [
    pytest.param(enlarge, id="enlarged 10x"),
    pytest.param(lambda d: 255 - enlarge(d, 7), id="dark ink on white"),
    pytest.param(lambda d: np.clip(enlarge(d, 9).astype(int) // 2 + 40, 0, 255).astype(np.uint8), id="faint on gray"),
])
def test_uint8_pictures_give_the_same_digit_as_the_general_path(mnist, picture):
    for digit in mnist.test_images[:12]:
        assert_same_ink(picture(digit))


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 120), st.integers(1, 120))))
def test_the_uint8_shortcut_agrees_with_the_general_path_on_any_picture(picture):
    assert_same_ink(picture)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_blockwise_running_sums_give_the_same_bits_on_ink(seed):
    """Ink (0, or NOISE_LEVEL and more) sums exactly in float64, so the blockwise running sums that
    the shrinking takes on it give the same result as the running sum row by row."""
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(2, 700)), int(rng.integers(1, 200))
    lut = (np.arange(256, dtype=np.float32) * np.float32(1 / 255.0) - np.float32(rng.random() * 0.1))
    lut *= np.float32(1 + rng.random())
    lut[lut < 0.2] = 0
    ink = lut[rng.integers(0, 256, (h, w))] * (rng.random((h, w)) < rng.random())
    n_out = int(rng.integers(1, min(h, 40) + 1))
    assert np.array_equal(resize_axis(ink, n_out, 0, exact_sums=True), resize_axis(ink, n_out, 0))
