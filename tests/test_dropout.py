"""Dropout: inverted masks of the right rate, a correct gradient with a fixed mask, off in predict."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.dropout import draw_mask, masked_gradients, masked_loss, masks_for
from nnstudio.core.network import Network


def test_masks_keep_the_expected_share_and_scale():
    rng = np.random.default_rng(0)
    mask = draw_mask(rng, 0.3, np.empty((200, 500), np.float32))
    assert set(np.unique(mask)) == {0.0, np.float32(1 / 0.7)}
    assert mask.mean() == pytest.approx(1.0, abs=0.01)  # inverted: the expected input is unchanged
    assert (mask == 0).mean() == pytest.approx(0.3, abs=0.01)
    again = draw_mask(np.random.default_rng(0), 0.3, np.empty((200, 500), np.float32))
    np.testing.assert_array_equal(mask, again)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_gradient_with_a_fixed_mask_matches_finite_differences(activation):
    rng = np.random.default_rng(1)
    net = Network((12, 9, 7, 4), activation, seed=2, dtype=np.float64)
    x, y = rng.random((6, 12)), rng.integers(0, 4, 6)
    masks = masks_for(rng, net.sizes, 6, 0.4, 0.2, np.float64)
    _, wg, bg = masked_gradients(net, x, y, masks)
    for grads, params in ((wg, net.weights), (bg, net.biases)):
        for g, p in zip(grads, params):
            for index in list(np.ndindex(p.shape))[:: max(1, p.size // 15)]:
                old = p[index]
                p[index] = old + 1e-6
                up = masked_loss(net, x, y, masks)
                p[index] = old - 1e-6
                down = masked_loss(net, x, y, masks)
                p[index] = old
                assert g[index] == pytest.approx((up - down) / 2e-6, abs=1e-7, rel=1e-5)


def test_without_masks_it_is_plain_backprop():
    rng = np.random.default_rng(0)
    net = Network((10, 6, 3), seed=0, dtype=np.float64)
    x, y = rng.random((5, 10)), rng.integers(0, 3, 5)
    loss, wg, bg = masked_gradients(net, x, y, [None, None])
    plain_loss, _, pw, pb = net.backprop(net.feedforward(x), y)
    assert loss == pytest.approx(plain_loss)
    for a, b in zip(wg + bg, pw + pb):
        np.testing.assert_allclose(a, b)
