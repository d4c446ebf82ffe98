"""The step's plain path (no dropout, SGD with or without momentum) on one thread and on several,
against the textbook update."""

import numpy as np
import pytest

from nnstudio.core.network import Network
from nnstudio.core.train_step import TrainStep

from test_train_step import textbook_step


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("threads, blas", [(1, True), (1, False), (2, True)])
def test_plain_path_follows_the_textbook_update(activation, momentum, threads, blas):
    rng = np.random.default_rng(7)
    mine = Network((12, 9, 7, 4), activation, seed=3, dtype=np.float64)
    reference = mine.copy()
    step = TrainStep(mine, 8, threads=threads, parallel_min=0, blas=blas)
    v_ref = [np.zeros_like(p) for p in reference.parameters()]
    try:
        for n in (8, 3, 8, 3):  # a short last batch, then a full one again: views of both sizes kept
            pixels = rng.integers(0, 256, (n, 12), dtype=np.uint8)
            y = rng.integers(0, 4, n)
            loss, correct = step.forward(step.input_pixels(pixels), y)
            step.backward(0.3, momentum)
            expected = textbook_step(reference, pixels * (1 / 255), y, 0.3, momentum, False, 0.0, v_ref)
            assert loss == pytest.approx(expected[0], rel=1e-12) and correct == expected[1]
    finally:
        step.close()
    for a, b in zip(mine.parameters(), reference.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_label_beyond_the_classes_is_refused():
    step = TrainStep(Network((6, 5, 3), seed=0), 4)
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 3"):
        step.forward(np.ones((4, 6), np.float32), np.array([0, 3, 1, 2]))


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("blas", [True, False])
def test_raw_pixels_give_the_textbook_step_whichever_path_follows(blas, momentum):
    """``input_pixels`` leaves the 1/255 to the first layer's products; a Nesterov step with weight
    decay (the general path) and rows the caller scaled into the step's buffer, in any order, still
    follow the textbook."""
    rng = np.random.default_rng(11)
    mine = Network((12, 9, 7, 4), seed=2, dtype=np.float64)
    reference = mine.copy()
    step = TrainStep(mine, 8, blas=blas)
    v_ref = [np.zeros_like(p) for p in reference.parameters()]
    ways = ("pixels", "pixels nesterov", "rows", "pixels", "rows nesterov", "pixels", "pixels", "rows", "pixels")
    for way in ways:
        pixels = rng.integers(0, 256, (8, 12), dtype=np.uint8)
        y = rng.integers(0, 4, 8)
        if way.startswith("pixels"):
            x = step.input_pixels(pixels)
        else:
            x = step.input_rows(8)
            x[...] = pixels * (1 / 255)
        nesterov = way.endswith("nesterov")
        decay = 0.01 if nesterov else 0.0
        loss, correct = step.forward(x, y)
        step.backward(0.3, momentum, nesterov, decay)
        expected = textbook_step(reference, pixels * (1 / 255), y, 0.3, momentum, nesterov, decay, v_ref)
        assert loss == pytest.approx(expected[0], rel=1e-12) and correct == expected[1], way
    for a, b in zip(mine.parameters(), reference.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_raw_pixels_under_dropout_are_the_scaled_rows_to_the_bit():
    """Dropout leaves the plain path: the raw pixels are scaled in place first, to the very floats
    a caller's ``pixels * float32(1/255)`` gives."""
    nets = [Network((12, 9, 7, 4), seed=4) for _ in range(2)]
    steps = [TrainStep(net, 8) for net in nets]
    for step in steps:
        step.dropout, step.rng = 0.3, np.random.default_rng(0)
    rng = np.random.default_rng(12)
    for _ in range(3):
        pixels = rng.integers(0, 256, (8, 12), dtype=np.uint8)
        y = rng.integers(0, 4, 8)
        raw, scaled = steps
        x = scaled.input_rows(8)
        x[...] = pixels * np.float32(1 / 255)
        assert raw.forward(raw.input_pixels(pixels), y) == scaled.forward(x, y)
        raw.backward(0.1, 0.9)
        scaled.backward(0.1, 0.9)
    for a, b in zip(*(net.parameters() for net in nets)):
        np.testing.assert_array_equal(a, b)
