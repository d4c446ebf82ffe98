"""Per-epoch diagnostics: dead units, update ratios, histograms, and the trainer's hook."""

import numpy as np
import pytest

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split
from nnstudio.core.diagnostics import BINS, Diagnostics, DiagnosticsProbe
from nnstudio.core.network import Network
from nnstudio.core.run_folder import read_history_csv, write_history_csv
from nnstudio.core.trainer import Trainer


def crafted_network():
    """4 inputs in [0, 1] -> 3 ReLU units -> 3 ReLU units -> 2 outputs, with known dead units."""
    net = Network((4, 3, 3, 2), seed=0, dtype=np.float64)
    net.weights[0][:] = [[1, -1, 1], [1, -1, -1], [1, -1, 0], [1, -1, 0]]
    net.biases[0][:] = [0.1, -0.1, 0.0]  # unit 0 always on, unit 1 never, unit 2 on when x0 > x1
    net.weights[1][:] = [[1, -1, 0], [5, 5, 5], [1, -1, 0]]  # unit 1 of layer 2 gets only negative input
    net.biases[1][:] = [0.0, 0.0, -1000.0]  # unit 2 of layer 2 is dead
    return net


def test_dead_units_equal_a_direct_check_on_a_crafted_network():
    net = crafted_network()
    rng = np.random.default_rng(1)
    x_val = rng.random((50, 4))
    probe = DiagnosticsProbe(net, x_val[:8], np.zeros(8, int), x_val)
    found = probe.measure(net, 0.1)
    # Direct check: a unit is dead when its output is 0 for every validation row.
    h1 = np.maximum(x_val @ net.weights[0] + net.biases[0], 0)
    h2 = np.maximum(h1 @ net.weights[1] + net.biases[1], 0)
    direct = [int((~(h > 0).any(axis=0)).sum()) for h in (h1, h2)]
    assert direct == [1, 2]
    assert [d.dead_units for d in found.layers] == [*direct, None]  # the output layer is linear
    assert found.layers[0].dead_share == pytest.approx(1 / 3)


def test_update_ratio_equals_the_step_plain_sgd_takes_on_the_fixed_batch(small_split):
    # One epoch of one full batch = exactly one plain SGD step on the probe's batch.
    n = 256
    data = Split(small_split.x_train[:n], small_split.y_train[:n], small_split.x_val[:200],
                 small_split.y_val[:200], small_split.x_test[:0], small_split.y_test[:0])
    lr = 0.3
    trainer = Trainer(TrainingConfig(hidden=(32, 16), learning_rate=lr, batch_size=n, patience=0), data)
    before = trainer.network.copy()
    probe = DiagnosticsProbe.from_split(before, data, batch=n)
    expected = probe.measure(before, lr)
    x = data.x_train.astype(np.float32) / 255
    _, _, grads, _ = before.copy().backprop(before.feedforward(x), data.y_train)
    for layer, g, w in zip(expected.layers, grads, before.weights):
        assert layer.update_ratio == pytest.approx(np.linalg.norm(lr * g) / np.linalg.norm(w), rel=1e-4)
        assert layer.gradient_norm == pytest.approx(np.linalg.norm(g), rel=1e-4)
    next(e for e in trainer.run(max_epochs=1) if hasattr(e, "val_loss"))
    taken = [np.linalg.norm(a - b) / np.linalg.norm(b) for a, b in zip(trainer.network.weights, before.weights)]
    np.testing.assert_allclose(expected.update_ratios, taken, rtol=1e-3)


def test_weight_decay_joins_the_gradient():
    net = crafted_network()
    x = np.random.default_rng(2).random((16, 4))
    probe = DiagnosticsProbe(net, x, np.arange(16) % 2, x)
    plain, decayed = probe.measure(net, 0.1), probe.measure(net, 0.1, weight_decay=0.5)
    assert all(d.gradient_norm != p.gradient_norm for d, p in zip(decayed.layers, plain.layers))


def test_histograms_have_fixed_bins_and_keep_the_initial_weights():
    net = Network((784, 30, 10), seed=3)
    x = np.random.default_rng(0).integers(0, 256, (64, 784), dtype=np.uint8)
    probe = DiagnosticsProbe(net, x, np.arange(64) % 10, x)
    first = probe.measure(net, 0.1)
    initial = [h.copy() for h in (d.histogram for d in first.layers)]
    for d, w in zip(first.layers, net.weights):
        assert len(d.edges) == BINS + 1 and d.histogram.sum() == w.size
        np.testing.assert_array_equal(d.histogram, d.initial_histogram)
    net.weights[0] *= 3  # some weights now beyond the edges: counted in the end bins
    later = probe.measure(net, 0.1)
    assert later.layers[0].histogram.sum() == net.weights[0].size
    assert later.layers[0].histogram[0] > 0 and later.layers[0].histogram[-1] > 0
    np.testing.assert_array_equal(later.layers[0].initial_histogram, initial[0])
    np.testing.assert_array_equal(later.layers[0].edges, first.layers[0].edges)
    assert not np.array_equal(later.layers[0].histogram, initial[0])


def test_tanh_networks_report_no_dead_units():
    net = Network((4, 3, 2), "tanh", seed=0)
    x = np.random.default_rng(0).random((8, 4))
    assert [d.dead_units for d in DiagnosticsProbe(net, x, np.zeros(8, int), x).measure(net, 0.1).layers] == [None, None]


def test_the_trainer_reports_diagnostics_each_epoch_and_the_history_file_ignores_them(small_split, tmp_path):
    trainer = Trainer(TrainingConfig(hidden=(32, 16), max_epochs=2, patience=0), small_split.head(1000, 300, 0))
    trainer.diagnostics.max_share = None  # every epoch, however short
    reports = [e for e in trainer.run() if hasattr(e, "val_loss")]
    assert len(reports) == 2
    for r in reports:
        assert isinstance(r.diagnostics, Diagnostics) and len(r.diagnostics.layers) == 3
        assert np.all(r.diagnostics.update_ratios > 0) and np.isfinite(r.diagnostics.update_ratios).all()
        assert r.diagnostics.learning_rate == r.learning_rate
        assert r.diagnostics.first_layer.shape == (784, 32)
    np.testing.assert_allclose(reports[-1].diagnostics.first_layer, trainer.network.weights[0], rtol=1e-3, atol=1e-4)
    # The histograms move while the initial ones stay.
    a, b = (r.diagnostics.layers[0] for r in reports)
    np.testing.assert_array_equal(a.initial_histogram, b.initial_histogram)
    path = write_history_csv(tmp_path / "history.csv", trainer.history)
    assert "diagnostics" not in path.read_text().splitlines()[0]
    assert [r.epoch for r in read_history_csv(path)] == [1, 2]
    trainer.diagnostics = None  # switched off
    assert next(e for e in trainer.run(max_epochs=1) if hasattr(e, "val_loss")).diagnostics is None


def test_a_probe_refuses_another_network():
    net = crafted_network()
    x = np.zeros((2, 4))
    with pytest.raises(ValueError, match="sizes"):
        DiagnosticsProbe(net, x, [0, 1], x).measure(Network((4, 5, 2)), 0.1)


def test_short_epochs_are_measured_only_as_often_as_five_percent_of_the_time_allows():
    net = Network((784, 30, 10), seed=0)
    x = np.random.default_rng(0).integers(0, 256, (256, 784), dtype=np.uint8)
    probe = DiagnosticsProbe(net, x, np.arange(256) % 10, x)
    first = probe.at_epoch_end(net, 0.1, 0.0, 1e-4)
    assert first is not None  # the first epoch is always measured: it tells the cost
    measured = sum(probe.at_epoch_end(net, 0.1, 0.0, 1e-4) is not None for _ in range(50))
    assert measured == 0  # epochs of 0.1 ms cannot pay for a measurement
    # Epochs far longer than a measurement (100x the last one's cost, which the probe times on the
    # clock: on a busy machine one measurement may cost many times the one before) are all measured.
    cost, long = first.seconds, []
    for _ in range(5):
        long.append(probe.at_epoch_end(net, 0.1, 0.0, 100 * cost))
        cost = long[-1].seconds if long[-1] is not None else cost
    assert all(d is not None for d in long)
