"""Optimisers: one protocol; SGD is version 0.1's update bit for bit; Adam's bias correction is the formula."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.config import TrainingConfig
from nnstudio.core.network import Network
from nnstudio.core.optim import SGD, Adam, AdamW, RMSprop, make_optimizer


def old_step(params, grads, velocities, learning_rate, momentum, nesterov, decay):
    """The trainer's update of version 0.1, verbatim (grads as [W1, b1, W2, b2, ...])."""
    for k, (param, grad, velocity) in enumerate(zip(params, grads, velocities)):
        if decay and k % 2 == 0:
            grad += decay * param
        grad *= learning_rate
        if momentum:
            velocity *= momentum
            velocity -= grad
            if nesterov:
                param += momentum * velocity
                param -= grad
            else:
                param += velocity
        else:
            param -= grad


def random_grads(params, rng):
    return [rng.standard_normal(p.shape).astype(p.dtype) for p in params]


@pytest.mark.parametrize("momentum, nesterov, decay", [(0, False, 0), (0.9, False, 0), (0.9, True, 1e-3), (0.5, False, 0.1)])
def test_sgd_is_the_old_update_bit_for_bit(momentum, nesterov, decay):
    net = Network((20, 8, 4), seed=1)
    mine, theirs = net.copy_parameters(), net.copy_parameters()
    velocities = [np.zeros_like(p) for p in theirs]
    sgd = SGD(momentum, nesterov, decay)
    rng = np.random.default_rng(0)
    for lr in (0.1, 0.05, 0.2):
        grads = random_grads(mine, rng)
        sgd.step(list(zip(mine, [g.copy() for g in grads])), lr)
        old_step(theirs, [g.copy() for g in grads], velocities, lr, momentum, nesterov, decay)
    for a, b in zip(mine, theirs):
        np.testing.assert_array_equal(a, b)


def test_adam_bias_correction_matches_the_formula():
    """On f(w) = sum(c * w^2 / 2) the gradient is c * w; three hand-written Adam steps agree."""
    c = np.array([1.0, 10.0, 0.1, 3.0])
    w = np.array([1.0, -2.0, 5.0, 0.5])
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    adam = Adam(b1, b2, eps)
    param = w.copy()
    m = v = np.zeros(4)
    for t in range(1, 4):
        g = c * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        adam.step([(param, c * param)], lr)
        np.testing.assert_allclose(param, w, rtol=1e-12)
    # the first step moves each weight by lr against its gradient's sign, whatever its size
    first = Adam()
    p = np.array([1.0, -2.0, 5.0, 0.5])
    first.step([(p, c * p)], 0.01)
    np.testing.assert_allclose(p, [0.99, -1.99, 4.99, 0.49], rtol=1e-6)


def test_adamw_decay_is_decoupled_and_skips_biases():
    w, b = np.ones((2, 2)), np.ones(2)
    AdamW(weight_decay=0.1).step([(w, np.zeros((2, 2))), (b, np.zeros(2))], 0.5)
    np.testing.assert_allclose(w, 0.95)  # shrunk by lr * decay, with no gradient at all
    np.testing.assert_array_equal(b, 1.0)
    w2 = np.ones((2, 2))
    Adam(weight_decay=0.1).step([(w2, np.zeros((2, 2)))], 0.5)
    np.testing.assert_allclose(w2, 0.5, rtol=1e-6)  # L2 in the gradient: Adam normalises it to one lr step


def test_rmsprop_matches_a_hand_computed_step():
    p, g = np.array([1.0, -1.0]), np.array([0.5, -2.0])
    RMSprop(rho=0.9, eps=1e-8).step([(p, g.copy())], 0.01)
    v = 0.1 * g * g
    np.testing.assert_allclose(p, np.array([1.0, -1.0]) - 0.01 * g / (np.sqrt(v) + 1e-8))


@pytest.mark.parametrize("optimizer", [SGD(0.9), SGD(0.9, True), Adam(), AdamW(weight_decay=0.01), RMSprop(),
                                       RMSprop(momentum=0.9)])
def test_each_optimiser_reduces_the_loss_on_a_fixed_batch(split, optimizer):
    net = Network((784, 32, 10), seed=0)
    x, y = net_inputs(split)
    before = net.loss(x, y)
    lr = 0.05 if optimizer.name == "sgd" else 0.002
    for _ in range(20):
        outputs = net.feedforward(x)
        _, _, wg, bg = net.backprop(outputs, y)
        optimizer.step(list(zip(net.parameters(), [g for pair in zip(wg, bg) for g in pair])), lr)
    assert net.loss(x, y) < 0.5 * before


def net_inputs(split):
    return split.x_train[:256].astype(np.float32) / 255, split.y_train[:256]


def test_reset_and_state_round_trip():
    p = np.ones((3, 3))
    adam = Adam()
    adam.step([(p, np.full((3, 3), 0.5))], 0.1)
    state = adam.state()
    assert state["steps"] == 1 and set(state) == {"steps", "m0", "v0"}
    twin = Adam()
    twin.load_state(state)
    a, b = p.copy(), p.copy()
    adam.step([(a, np.full((3, 3), 0.2))], 0.1)
    twin.step([(b, np.full((3, 3), 0.2))], 0.1)
    np.testing.assert_array_equal(a, b)
    adam.reset()
    assert adam.steps == 0 and not adam.state()["m0"].any()


def test_make_optimizer_follows_the_config():
    assert isinstance(make_optimizer(TrainingConfig(optimizer="adamw", weight_decay=0.01)), AdamW)
    rms = make_optimizer(TrainingConfig(optimizer="rmsprop", beta2=0.9, momentum=0.5))
    assert rms.rho == 0.9 and rms.momentum == 0.5
    assert make_optimizer(TrainingConfig(momentum=0.9, nesterov=True)).nesterov
