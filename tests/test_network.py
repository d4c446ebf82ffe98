"""The network's arithmetic: gradients agree with finite differences, outputs are probabilities."""

import numpy as np
import pytest

from nnstudio.core.network import ACTIVATIONS, Network, as_inputs


def numerical_gradients(net, x, y, eps=1e-6):
    grads = []
    for p in net.parameters():
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            plus = net.loss(x, y)
            p[i] = old - eps
            minus = net.loss(x, y)
            p[i] = old
            g[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("sizes", [(5, 4, 3), (6, 5, 4, 3), (3, 7, 2)])
def test_backprop_matches_finite_differences(activation, sizes):
    rng = np.random.default_rng(sum(sizes))
    net = Network(sizes, activation, seed=rng, dtype=np.float64)
    for b in net.biases:  # non-zero biases so every term of the gradient is exercised
        b[:] = rng.normal(0, 0.1, b.shape)
    x = rng.normal(0, 1, (7, sizes[0]))
    y = rng.integers(0, sizes[-1], 7)
    expected = numerical_gradients(net, x, y)
    loss, _, wg, bg = net.backprop(net.feedforward(x), y)
    analytic = [g for pair in zip(wg, bg) for g in pair]
    assert loss == pytest.approx(net.loss(x, y), rel=1e-12)
    for a, e in zip(analytic, expected):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-8)


def test_softmax_is_stable_for_huge_logits():
    net = Network((2, 3), seed=0, dtype=np.float64)
    net.weights[0][:] = [[1e4, 0, -1e4], [0, 1e4, 0]]
    p = net.predict_proba(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    loss, correct, _, _ = net.backprop(net.feedforward(np.array([[1.0, 0.0]])), np.array([2]))
    assert loss == pytest.approx(2e4)  # log-sum-exp, not log(0) = inf
    assert correct == 0


def test_he_initialisation_scale_and_seed():
    a = Network((784, 256, 10), seed=3)
    b = Network((784, 256, 10), seed=3)
    assert a.weights[0].dtype == np.float32
    assert np.std(a.weights[0]) == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert np.std(Network((784, 256, 10), "tanh", seed=3).weights[0]) == pytest.approx(np.sqrt(1 / 784), rel=0.02)
    np.testing.assert_array_equal(a.weights[1], b.weights[1])
    assert not np.array_equal(a.weights[0], Network((784, 256, 10), seed=4).weights[0])


def test_predict_and_probabilities_agree():
    rng = np.random.default_rng(0)
    net = Network((10, 8, 4), seed=1)
    x = rng.random((20, 10), dtype=np.float32)
    p = net.predict_proba(x)
    assert p.shape == (20, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(p.argmax(axis=1), net.predict(x))
    assert net.predict_proba(x[0]).shape == (1, 4)


def test_uint8_pixels_become_unit_floats():
    pixels = np.array([[[0, 255], [128, 51]]], dtype=np.uint8)
    rows = as_inputs(pixels)
    assert rows.dtype == np.float32 and rows.shape == (1, 4)
    np.testing.assert_allclose(rows, [[0, 1, 128 / 255, 0.2]], rtol=1e-6)


@pytest.mark.parametrize("sizes, activation", [((784,), "relu"), ((784, 0, 10), "relu"), ((4, 2), "swish")])
def test_bad_shapes_and_activations_are_refused(sizes, activation):
    with pytest.raises(ValueError):
        Network(sizes, activation)
