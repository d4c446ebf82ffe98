"""Optimisers, dropout and augmentation inside the real training step and trainer."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nnstudio.core.augment import Augmentation
from nnstudio.core.config import TrainingConfig
from nnstudio.core.dropout import masked_gradients, masks_for
from nnstudio.core.network import Network
from nnstudio.core.optim import SGD, Adam, RMSprop
from nnstudio.core.reports import EpochReport, SettingChanged
from nnstudio.core.train_step import TrainStep
from nnstudio.core.trainer import Trainer


def batch(seed=0, n=16, inputs=30, classes=5):
    rng = np.random.default_rng(seed)
    return rng.random((n, inputs)), rng.integers(0, classes, n)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("rate, input_rate", [(0.5, 0.0), (0.3, 0.2)])
def test_step_with_dropout_follows_the_textbook_gradient(activation, rate, input_rate):
    """The fused step with dropout takes exactly lr * the gradient of the loss under the same masks."""
    x, y = batch()
    net = Network((30, 12, 8, 5), activation, seed=3, dtype=np.float64)
    reference = net.copy()
    masks = masks_for(np.random.default_rng(7), net.sizes, len(x), rate, input_rate, np.float64)
    _, wg, bg = masked_gradients(reference, x, y, masks)
    step = TrainStep(net, 16, blas=False)
    step.dropout, step.input_dropout, step.rng = rate, input_rate, np.random.default_rng(7)
    step.forward(x, y)
    step.backward(0.1)
    for w, w0, g in zip(net.weights, reference.weights, wg):
        np.testing.assert_allclose(w, w0 - 0.1 * g, rtol=1e-10, atol=1e-12)
    for b, b0, g in zip(net.biases, reference.biases, bg):
        np.testing.assert_allclose(b, b0 - 0.1 * g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make", [lambda: Adam(weight_decay=0.01), lambda: RMSprop(momentum=0.5),
                                  lambda: SGD(0.9, True, 0.01)])
def test_step_with_an_optimiser_matches_it_on_textbook_gradients(make):
    x, y = batch(1)
    net = Network((30, 10, 5), seed=1, dtype=np.float64)
    reference = net.copy()
    mine, theirs = make(), make()
    step = TrainStep(net, 16, blas=False)
    step.optimizer = mine
    for _ in range(3):
        step.forward(x, y)
        step.backward(0.01)
        _, _, wg, bg = reference.backprop(reference.feedforward(x), y)
        theirs.step([pair for w, b, gw, gb in zip(reference.weights, reference.biases, wg, bg)
                     for pair in ((w, gw), (b, gb))], 0.01)
    for a, b in zip(net.parameters(), reference.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_adam_reaches_97_8_percent_in_10_epochs(split):
    config = TrainingConfig(optimizer="adam", learning_rate=0.002, max_epochs=10, batch_size=128, patience=0,
                            schedule="cosine")
    trainer = Trainer(config, split)
    with threadpool_limits(limits=1):  # two BLAS threads on a busy machine crawl
        list(trainer.run())
    assert trainer.result.test_accuracy >= 0.978  # 0.9825 measured


@pytest.mark.parametrize("changes", [dict(optimizer="adamw", learning_rate=0.002, weight_decay=0.01),
                                     dict(optimizer="rmsprop", learning_rate=0.001),
                                     dict(dropout=0.2, input_dropout=0.1),
                                     dict(augment_rotate=10, elastic_alpha=20, augment_thickness=0.5),
                                     dict(augment_noise=0.1, augment_scale=0.1, augment_shear=10)])
def test_each_option_learns(small_split, changes):
    trainer = Trainer(TrainingConfig(max_epochs=2, **changes), small_split)
    list(trainer.run())
    assert trainer.result.best_val_accuracy > 0.78


def test_dropout_is_off_in_predict_and_evaluate(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=1, dropout=0.5, input_dropout=0.2), small_split)
    list(trainer.run())
    net = trainer.network
    x = small_split.x_test[:200]
    first, again = net.predict_proba(x), net.predict_proba(x)
    np.testing.assert_array_equal(first, again)
    plain = Network(net.sizes, seed=0)
    plain.set_parameters(net.copy_parameters())
    np.testing.assert_array_equal(plain.predict_proba(x), first)
    assert net.evaluate(x, small_split.y_test[:200]) == net.evaluate(x, small_split.y_test[:200])


def test_augmented_runs_are_reproducible_and_differ_from_plain(small_split):
    config = TrainingConfig(max_epochs=1, augment_rotate=10, elastic_alpha=30, augment_thickness=1)
    runs = []
    for c in (config, config, TrainingConfig(max_epochs=1)):
        trainer = Trainer(c, small_split)
        list(trainer.run())
        runs.append(trainer.network.copy_parameters())
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs[0][0], runs[2][0])


def test_dropout_and_augmentation_are_live_settings(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=2, batch_size=100), small_split, progress_interval=0)
    events = []
    for event in trainer.run():
        events.append(event)
        if isinstance(event, EpochReport) and event.epoch == 1:
            trainer.set_dropout(0.3)
            trainer.set_augmentation(Augmentation(rotate=15))
    changes = {e.name: (e.old, e.new, e.epoch) for e in events if isinstance(e, SettingChanged)}
    assert changes["dropout"] == (0.0, 0.3, 2)
    assert changes["augment rotate"] == (0.0, 15.0, 2)
    with pytest.raises(ValueError, match="rotation"):
        trainer.set_augmentation(Augmentation(rotate=500))
