"""Neuron lab edits are pure; a switched-off unit is silent; the lab's accuracy is the evaluation's."""

import numpy as np
import pytest

from nnstudio.core.layer_math import forward
from nnstudio.core.model_file import load_model
from nnstudio.core.neuron_lab import (NeuronEdit, accuracy, apply_edits, scale_incoming, shift_bias,
                                      switch_off)
from nnstudio.core.weight_tiles import mosaic, normalised, tiles, unit_at
from nnstudio.resources import BUNDLED_MODEL


@pytest.fixture(scope="module")
def bundled():
    return load_model(BUNDLED_MODEL).network


def test_switching_off_zeroes_the_output_and_the_accuracy_is_a_direct_evaluation(bundled, split):
    x, y = split.x_test[:2000], split.y_test[:2000]
    before = [w.copy() for w in bundled.weights]
    rows = x.astype(np.float32) / 255
    # The most active unit of the last hidden layer over these digits.
    unit = int(forward(bundled, rows).outputs[2].sum(axis=0).argmax())
    edited = switch_off(bundled, 2, unit)
    assert np.all(forward(edited, rows).outputs[2][:, unit] == 0)
    assert np.any(forward(bundled, rows).outputs[2][:, unit] > 0)
    for w, b in zip(bundled.weights, before):  # the original is untouched
        np.testing.assert_array_equal(w, b)
    assert accuracy(bundled, x, y) == bundled.evaluate(x, y)[1]
    assert accuracy(edited, x, y) == edited.evaluate(x, y)[1]
    assert accuracy(edited, rows, y) == accuracy(edited, x, y)


def test_switching_off_a_first_layer_unit_removes_exactly_its_share(bundled, split):
    rows = split.x_test[:200].astype(np.float64) / 255
    unit = 17
    h1 = forward(bundled, rows, np.float64).outputs[1].copy()
    h1[:, unit] = 0  # the unit's output removed by hand, everything else as it was
    h2 = np.maximum(h1 @ bundled.weights[1].astype(np.float64) + bundled.biases[1], 0)
    expected = h2 @ bundled.weights[2].astype(np.float64) + bundled.biases[2]
    got = forward(switch_off(bundled, 1, unit), rows, np.float64).logits
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    assert not np.allclose(got, forward(bundled, rows, np.float64).logits)


def test_scale_and_shift(bundled, split):
    x = split.x_test[:3].astype(np.float32) / 255
    doubled = scale_incoming(bundled, 1, 5, 2.0)
    np.testing.assert_array_equal(doubled.weights[0][:, 5], 2 * bundled.weights[0][:, 5])
    np.testing.assert_array_equal(doubled.weights[0][:, 4], bundled.weights[0][:, 4])
    shifted = shift_bias(bundled, 2, 3, -0.5)
    assert shifted.biases[1][3] == pytest.approx(bundled.biases[1][3] - 0.5)
    z0 = forward(bundled, x).sums[1][:, 3]
    np.testing.assert_allclose(forward(shifted, x).sums[1][:, 3], z0 - 0.5, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        scale_incoming(bundled, 1, 5, float("nan"))
    with pytest.raises(ValueError, match="no unit"):
        switch_off(bundled, 4, 0)


def test_edits_apply_in_order_and_reset_is_no_edits(bundled):
    edits = [NeuronEdit("scale", 1, 0, 3.0), NeuronEdit("shift", 1, 0, 1.0), NeuronEdit("off", 2, 1)]
    edited = apply_edits(bundled, edits)
    np.testing.assert_allclose(edited.weights[0][:, 0], 3 * bundled.weights[0][:, 0])
    assert edited.biases[0][0] == pytest.approx(bundled.biases[0][0] + 1)
    assert not edited.weights[2][1].any()
    fresh = apply_edits(bundled, [])
    assert fresh is not bundled and all(np.array_equal(a, b) for a, b in zip(fresh.weights, bundled.weights))
    assert "switched off" in edits[2].describe() and "× 3" in edits[0].describe()
    with pytest.raises(ValueError):
        apply_edits(bundled, [NeuronEdit("melt", 1, 0)])


def test_weight_tiles_are_the_columns_of_w1_reshaped(bundled):
    w1 = bundled.weights[0]
    t = tiles(w1)
    assert t.shape == (400, 28, 28)
    for u in (0, 1, 217, 399):
        np.testing.assert_array_equal(t[u], w1[:, u].reshape(28, 28))
    n = normalised(t)
    assert np.allclose(np.abs(n).max(axis=(1, 2)), 1)
    m = mosaic(w1)
    assert m.shape == (20 * 29 - 1, 20 * 29 - 1)
    for u in (0, 21, 399):
        r, c = divmod(u, 20)
        np.testing.assert_allclose(m[r * 29:r * 29 + 28, c * 29:c * 29 + 28], w1[:, u].reshape(28, 28) / np.abs(
            w1[:, u]).max(), rtol=1e-6)
        assert unit_at(r * 29 + 14, c * 29 + 3, 400) == u
    assert unit_at(28, 5, 400) is None  # a gap
    assert unit_at(-1, 5, 400) is None and unit_at(5, 20 * 29, 400) is None
    assert np.isnan(m[28]).all()
    odd = mosaic(w1[:, :10])  # 10 tiles in a 3 x 4 grid: the last two cells stay empty
    assert odd.shape == (3 * 29 - 1, 4 * 29 - 1) and unit_at(60, 60, 10) is None
    with pytest.raises(ValueError):
        tiles(np.zeros((100, 4)))
