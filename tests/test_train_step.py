"""The fused training step: the textbook update, to rounding, on one thread or several."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nnstudio.core.config import TrainingConfig
from nnstudio.core.network import Network
from nnstudio.core.train_step import TrainStep
from nnstudio.core.trainer import Trainer


def textbook_step(net, x, y, lr, momentum, nesterov, decay, velocities):
    """Network.backprop, then the update as a textbook writes it (a fresh array at every turn)."""
    loss, correct, wg, bg = net.backprop(net.feedforward(x), y)
    grads = [g for pair in zip(wg, bg) for g in pair]
    for k, (p, g, v) in enumerate(zip(net.parameters(), grads, velocities)):
        g = g + decay * p if k % 2 == 0 else g
        v[...] = momentum * v - lr * g
        p += (momentum * v - lr * g) if nesterov else v
    return loss, correct


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("momentum, nesterov, decay", [(0, False, 0), (0.9, False, 0), (0.9, True, 0),
                                                       (0.5, False, 0.1), (0, False, 0.1), (0.8, True, 0.05)])
@pytest.mark.parametrize("blas", [True, False])  # the product added into the weights by BLAS, or not
def test_step_follows_the_textbook_update(activation, momentum, nesterov, decay, blas):
    rng = np.random.default_rng(5)
    mine = Network((12, 9, 7, 4), activation, seed=1, dtype=np.float64)
    reference = mine.copy()
    # chunk=5 and two threads that share even these small layers: every code path of the sweep runs.
    step = TrainStep(mine, 8, threads=2, chunk=5, parallel_min=0, blas=blas)
    v_ref = [np.zeros_like(p) for p in reference.parameters()]
    try:
        for n in (8, 8, 3):  # the last batch of an epoch may be short
            x = rng.normal(0, 1, (n, 12))
            y = rng.integers(0, 4, n)
            loss, correct = step.forward(x, y)
            step.backward(0.3, momentum, nesterov, decay)
            expected_loss, expected_correct = textbook_step(reference, x, y, 0.3, momentum, nesterov, decay, v_ref)
            assert loss == pytest.approx(expected_loss, rel=1e-12) and correct == expected_correct
    finally:
        step.close()
    v_mine = [part for v in step.velocities for part in (v[:-1], v[-1])]  # packed like the layers
    compared = zip(mine.parameters() + v_mine, reference.parameters() + v_ref) if momentum else \
        zip(mine.parameters(), reference.parameters())  # plain SGD keeps no velocity
    for a, b in compared:
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert not np.allclose(mine.weights[0], Network((12, 9, 7, 4), activation, seed=1, dtype=np.float64).weights[0])


def test_elementwise_work_gives_the_same_bits_on_any_number_of_threads():
    rng = np.random.default_rng(0)
    x = rng.random((32, 50), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    results = []
    for threads, chunk in [(1, 1 << 20), (3, 37), (2, 1000)]:
        net = Network((50, 40, 30, 10), seed=2)
        step = TrainStep(net, 32, threads=threads, chunk=chunk, parallel_min=0)
        with threadpool_limits(1):
            for _ in range(3):
                step.forward(x, y)
                step.backward(0.1, 0.9, True, 1e-3)
        step.close()
        results.append(net.parameters() + step.velocities)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_same_seed_same_weights_on_one_thread_or_two(small_split):
    """BLAS on two threads may sum in another order; nothing else differs."""
    weights = []
    for threads in (1, 2):
        config = TrainingConfig(max_epochs=1, momentum=0.9, nesterov=True, weight_decay=1e-4, hidden=(64, 32))
        trainer = Trainer(config, small_split, threads=threads)
        with threadpool_limits(threads):
            list(trainer.run())
        assert trainer.threads == threads
        weights.append(trainer.network.parameters())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_close_ends_the_helper_threads_and_a_closed_step_still_works():
    import threading

    net = Network((6, 5, 3), seed=0)
    step = TrainStep(net, 4, threads=3, parallel_min=0)
    x, y = np.ones((4, 6), np.float32), np.array([0, 1, 2, 0])
    step.forward(x, y)
    step.backward(0.1)
    assert any(t.name.startswith("nnstudio-step") for t in threading.enumerate())
    step.close()
    assert not any(t.name.startswith("nnstudio-step") for t in threading.enumerate())
    before = net.weights[0].copy()
    step.forward(x, y)
    step.backward(0.1)
    assert not np.array_equal(before, net.weights[0])


def test_a_loaded_network_is_packed_with_its_values_kept():
    net = Network((5, 4, 3), seed=0)
    net.weights = [w.copy() for w in net.weights]  # as a model file's loader builds a network
    net.biases = [b + 0.5 for b in net.biases]
    expected = net.copy_parameters()
    packed = net.packed_layers()
    assert [p.shape for p in packed] == [(6, 4), (5, 3)]
    for got, want in zip(net.parameters(), expected):
        np.testing.assert_array_equal(got, want)
    packed[0][-1] = 7  # the biases are the last row
    assert (net.biases[0] == 7).all() and net.packed_layers()[0] is packed[0]


def test_numpys_own_blas_is_found_and_adds_a_product_in_place():
    from nnstudio.core.blas import gemm_at_b

    gemm = gemm_at_b()
    if gemm is None:
        pytest.skip("this NumPy ships no OpenBLAS with the CBLAS interface: the step uses matmul")
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        rows = rng.random((6, 5)).astype(dtype)
        a, b, c = rows[:, :4], rng.random((6, 3)).astype(dtype), rng.random((4, 3)).astype(dtype)
        expected = 0.9 * c - 0.5 * a.T @ b
        assert gemm(a, b, c, -0.5, 0.9)
        np.testing.assert_allclose(c, expected, rtol=1e-5)
    assert not gemm(a, b, np.zeros((4, 3), np.float32), 1.0, 0.0)  # mixed types: left to the caller
