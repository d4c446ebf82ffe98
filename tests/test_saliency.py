"""Saliency maps are the input gradients of the logits: checked against finite differences."""

import numpy as np
import pytest

from nnstudio.core.layer_math import forward
from nnstudio.core.network import ACTIVATIONS, Network
from nnstudio.core.saliency import logit_gradients, saliency
from nnstudio.core.softmax import explain_temperature, softmax


def finite_difference(net, x, k, eps=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        g[i] = (forward(net, plus[None]).logits[0, k] - forward(net, minus[None]).logits[0, k]) / (2 * eps)
    return g


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_logit_gradients_match_finite_differences_in_float64(activation):
    rng = np.random.default_rng(7)
    net = Network((12, 9, 7, 5), activation, seed=rng, dtype=np.float64)
    for b in net.biases:
        b[:] = rng.normal(0, 0.1, b.shape)
    x = rng.random(12)
    grads = logit_gradients(net, x, [3, 0, 4])
    for row, k in zip(grads, [3, 0, 4]):
        np.testing.assert_allclose(row, finite_difference(net, x, k), rtol=1e-6, atol=1e-9)


def test_saliency_of_a_digit_maps_the_predicted_and_runner_up_logits(split):
    rng = np.random.default_rng(0)
    net = Network((784, 20, 10), seed=rng, dtype=np.float64)
    image = split.x_test[0].reshape(28, 28) / 255.0
    s = saliency(net, image)
    logits = forward(net, image.reshape(1, -1)).logits[0]
    order = np.argsort(logits)[::-1]
    assert (s.predicted, s.runner_up) == (order[0], order[1])
    assert s.predicted_map.shape == s.runner_up_map.shape == (28, 28)
    np.testing.assert_allclose(s.probabilities, softmax(logits))
    # Spot-check a few pixels of the map by finite differences.
    flat = image.ravel()
    for pixel in (200, 300, 400, 500):
        plus, minus = flat.copy(), flat.copy()
        plus[pixel] += 1e-6
        minus[pixel] -= 1e-6
        fd = (forward(net, plus[None]).logits[0] - forward(net, minus[None]).logits[0]) / 2e-6
        assert s.predicted_map.ravel()[pixel] == pytest.approx(fd[s.predicted], rel=1e-5, abs=1e-9)
        assert s.difference_map.ravel()[pixel] == pytest.approx(fd[s.predicted] - fd[s.runner_up], rel=1e-5, abs=1e-9)


def test_softmax_temperature_keeps_the_ranking_and_flattens_or_sharpens():
    z = np.array([2.0, 1.0, -1.0, 0.5])
    p1 = softmax(z)
    np.testing.assert_allclose(p1, np.exp(z) / np.exp(z).sum())
    hot, cold = softmax(z, 5.0), softmax(z, 0.2)
    for p in (hot, cold):
        assert p.sum() == pytest.approx(1.0)
        np.testing.assert_array_equal(np.argsort(p), np.argsort(z))
    assert hot.max() < p1.max() < cold.max()
    assert np.isfinite(softmax(np.array([1e4, -1e4]), 0.05)).all()
    with pytest.raises(ValueError):
        softmax(z, 0)
    assert "own probabilities" in explain_temperature(1.0)
    assert "less sure" in explain_temperature(3) and "surer" in explain_temperature(0.5)


def test_softmax_at_temperature_one_is_the_networks_probabilities():
    net = Network((6, 5, 4), seed=1)
    x = np.random.default_rng(1).random((3, 6)).astype(np.float32)
    np.testing.assert_allclose(softmax(net.logits(x)), net.predict_proba(x), rtol=1e-5)
