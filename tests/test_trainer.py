"""The trainer on real data: it learns, stops early on the best weights, diverges cleanly, obeys controls."""

import threading
import time

import numpy as np
import pytest

from nnstudio.core.config import PRESETS, TrainingConfig
from nnstudio.core.reports import BatchProgress, EpochReport, SettingChanged, TrainingResult
from nnstudio.core.trainer import Trainer, shifted_images


def run_all(trainer, max_epochs=None):
    events = list(trainer.run(max_epochs))
    assert isinstance(events[-1], TrainingResult)
    return events


def test_two_epochs_on_real_mnist_reach_95_percent(split):
    trainer = Trainer(TrainingConfig(max_epochs=2), split)
    events = run_all(trainer)
    reports = [e for e in events if isinstance(e, EpochReport)]
    assert [r.epoch for r in reports] == [1, 2]
    assert reports[-1].val_accuracy >= 0.95
    assert events[-1].test_accuracy >= 0.95
    assert reports[1].train_loss < reports[0].train_loss


def test_train_figures_come_from_the_epochs_own_batches(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=1, batch_size=50), small_split, progress_interval=0)
    events = run_all(trainer)
    progress = [e for e in events if isinstance(e, BatchProgress)]
    losses = np.concatenate([p.losses for p in progress])
    assert len(losses) == 60 and progress[-1].batch == 60
    assert [p.first_batch for p in progress] == list(range(60))
    report = trainer.history[0]
    assert report.train_loss == pytest.approx(losses.mean())  # equal batches: the mean of batch means


def test_progress_is_throttled(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=1, batch_size=10), small_split, progress_interval=1e9)  # never, however slow
    progress = [e for e in run_all(trainer) if isinstance(e, BatchProgress)]
    assert len(progress) == 1 and len(progress[0].losses) == 300


def test_same_seed_same_results_other_seed_other_results(small_split):
    def history(seed):
        t = Trainer(TrainingConfig(max_epochs=2, seed=seed, momentum=0.5, augment_shift=1), small_split)
        run_all(t)
        return [(r.train_loss, r.val_loss) for r in t.history], t.network.weights[0]

    h1, w1 = history(7)
    h2, w2 = history(7)
    h3, _ = history(8)
    assert h1 == h2
    np.testing.assert_array_equal(w1, w2)
    assert h1 != h3


def craft_validation_curve(trainer, monkeypatch, losses):
    """Make the validation losses of successive epochs ``losses``; training stays real."""
    curve = iter(losses)
    real = trainer.network.evaluate
    monkeypatch.setattr(trainer.network, "evaluate",
                        lambda x, y, **options: (next(curve), 0.5) if x is trainer.data.x_val else real(x, y, **options))


def test_early_stopping_restores_the_best_epochs_weights(small_split, monkeypatch):
    trainer = Trainer(TrainingConfig(max_epochs=20, patience=3), small_split)
    craft_validation_curve(trainer, monkeypatch, [0.9, 0.5, 0.3, 0.35, 0.31, 0.4, 0.2])  # best 3; ends at 6
    snapshots = {}
    for event in trainer.run():
        if isinstance(event, EpochReport):
            snapshots[event.epoch] = trainer.network.copy_parameters()
    result = trainer.result
    assert result.reason == "early_stopping"
    assert result.epochs == 6 and result.best_epoch == 3
    assert [r.patience_left for r in trainer.history] == [3, 3, 3, 2, 1, 0]
    for now, best in zip(trainer.network.parameters(), snapshots[3]):
        np.testing.assert_array_equal(now, best)
    assert not np.array_equal(trainer.network.weights[0], snapshots[6][0])


def test_patience_zero_turns_early_stopping_off(small_split, monkeypatch):
    trainer = Trainer(TrainingConfig(max_epochs=4, patience=0), small_split)
    craft_validation_curve(trainer, monkeypatch, [0.5, 0.6, 0.7, 0.8])
    run_all(trainer)
    assert trainer.result.reason == "max_epochs" and trainer.result.epochs == 4
    assert all(r.patience_left is None for r in trainer.history)
    assert trainer.result.best_epoch == 1


def test_divergence_stops_cleanly_and_keeps_the_best_weights(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=5, learning_rate=0.05), small_split)
    run_all(trainer, max_epochs=1)
    after_first = trainer.network.copy_parameters()
    trainer.set_learning_rate(10.0)
    run_all(trainer, max_epochs=3)
    result = trainer.result
    assert result.reason == "diverged"
    assert result.message.startswith("diverged at epoch 2, batch ")
    assert result.message.endswith(": lower the learning rate")
    assert result.best_epoch == 1 and result.epochs == 1
    for now, best in zip(trainer.network.parameters(), after_first):
        np.testing.assert_array_equal(now, best)
    assert result.test_accuracy > 0.65  # the first epoch's weights, not the blown-up ones


def test_live_changes_apply_from_the_next_batch(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=1, batch_size=100), small_split, progress_interval=0)
    changes = []
    for event in trainer.run():
        if isinstance(event, BatchProgress) and event.batch == 5:
            trainer.set_learning_rate(0.01)
            trainer.set_momentum(0.9)
            trainer.set_patience(2)
        if isinstance(event, SettingChanged):
            changes.append(event)
    assert {(c.name, c.old, c.new, c.batch) for c in changes} == {
        ("learning_rate", 0.1, 0.01, 5), ("momentum", 0.0, 0.9, 5), ("patience", 5, 2, 5)}
    assert changes[0].position == pytest.approx(5 / 30)
    assert trainer.learning_rate == 0.01 and trainer.history[0].patience_left == 2


def test_stop_and_pause_act_between_batches(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=3, batch_size=10), small_split, progress_interval=0)
    seen = []
    for event in trainer.run():
        if isinstance(event, BatchProgress):
            seen.append(event.batch)
            if event.batch == 7:
                trainer.request_stop()
    assert seen[-1] == 7
    assert trainer.result.reason == "stopped" and "epoch 1, batch 8" in trainer.result.message



def test_pause_holds_the_run_between_batches_and_is_not_counted_as_training(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=1, batch_size=10), small_split, progress_interval=0)
    started = time.perf_counter()
    events = trainer.run()
    for event in events:
        if event.batch == 3:
            break
    trainer.pause()
    threading.Timer(0.4, trainer.resume).start()
    waited = time.perf_counter()
    following = next(events)  # blocks in the pause until the timer resumes
    waited = time.perf_counter() - waited
    assert following.batch == 4 and waited >= 0.35
    assert not trainer.paused
    list(events)
    wall = time.perf_counter() - started
    assert trainer.result.seconds <= wall - 0.35  # the pause is not training time...
    assert trainer.history[0].seconds <= wall - 0.35  # ...nor epoch time


def test_a_stop_before_the_first_batch_is_kept(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=2), small_split)
    events = trainer.run()
    trainer.request_stop()
    list(events)
    assert trainer.result.reason == "stopped" and trainer.epoch == 0
    list(trainer.run(1))  # the stop ended that run only
    assert trainer.result.reason == "max_epochs" and trainer.epoch == 1


@pytest.mark.parametrize("late", ["stop", "pause"])
def test_reset_controls_forgets_a_stop_or_pause_pressed_as_a_run_ended(small_split, late):
    trainer = Trainer(TrainingConfig(max_epochs=1), small_split)
    for event in trainer.run():
        if isinstance(event, TrainingResult):  # the run has ended; its thread has not yet said so
            trainer.request_stop() if late == "stop" else trainer.pause()
    trainer.reset_controls()
    assert not trainer.paused
    list(trainer.run(1))
    assert trainer.result.reason == "max_epochs" and trainer.epoch == 2


def test_stop_then_pause_still_ends_the_run(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=1, batch_size=10), small_split, progress_interval=0)
    events = trainer.run()
    next(events)
    trainer.request_stop()
    trainer.pause()
    worker = threading.Thread(target=lambda: list(events), daemon=True)
    worker.start()
    worker.join(2)
    assert not worker.is_alive() and trainer.result.reason == "stopped"


def test_one_more_epoch_continues_the_same_run(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=2), small_split)
    run_all(trainer)
    run_all(trainer, max_epochs=1)
    assert [r.epoch for r in trainer.history] == [1, 2, 3]
    assert trainer.result.epochs == 3 and trainer.result.message == "trained 1 more epoch"


def test_one_more_epoch_after_early_stopping_trains_exactly_one(small_split, monkeypatch):
    trainer = Trainer(TrainingConfig(max_epochs=20, patience=1), small_split)
    craft_validation_curve(trainer, monkeypatch, [0.5, 0.6, 0.4, 0.45])
    run_all(trainer)
    assert trainer.result.reason == "early_stopping" and trainer.epoch == 2
    run_all(trainer, max_epochs=2)
    assert trainer.epoch == 4 and trainer.result.best_epoch == 3
    assert trainer.result.reason == "early_stopping"  # epoch 4 did not improve: patience 1 ends it


def test_continuing_after_divergence_forgets_the_blown_up_momentum(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=5, learning_rate=0.05, momentum=0.9), small_split)
    run_all(trainer, max_epochs=1)
    trainer.set_learning_rate(5.0)
    run_all(trainer, max_epochs=1)
    assert trainer.result.reason == "diverged"
    trainer.set_learning_rate(0.01)
    run_all(trainer, max_epochs=1)
    assert trainer.result.reason == "max_epochs" and trainer.history[-1].val_accuracy > 0.7


@pytest.mark.parametrize("momentum, nesterov, decay", [(0, False, 0), (0.9, False, 0), (0.9, True, 0), (0.5, False, 0.1)])
def test_an_epoch_follows_the_textbook_update(small_split, momentum, nesterov, decay):
    """The trainer's fused step against Network.backprop and the update as a textbook writes it,
    batch by batch over the same shuffled order."""
    from nnstudio.core.network import Network, as_inputs

    config = TrainingConfig(momentum=momentum, nesterov=nesterov, weight_decay=decay, batch_size=50,
                            hidden=(32, 16), seed=3)
    data = small_split.head(200, 50, 50)
    trainer = Trainer(config, data)
    run_all(trainer, max_epochs=1)
    rng = np.random.default_rng(config.seed)  # the trainer's draws: initial weights, then the epoch's order
    net = Network((784, 32, 16, 10), seed=rng)
    order = rng.permutation(200)
    velocities = [np.zeros_like(p) for p in net.parameters()]
    for b in range(4):
        index = order[b * 50:(b + 1) * 50]
        _, _, wg, bg = net.backprop(net.feedforward(as_inputs(data.x_train[index])), data.y_train[index])
        for k, (p, g, v) in enumerate(zip(net.parameters(), [g for pair in zip(wg, bg) for g in pair], velocities)):
            g = g + decay * p if k % 2 == 0 else g
            v[...] = momentum * v - 0.1 * g
            p += (momentum * v - 0.1 * g) if nesterov else v
    for mine, expected in zip(trainer.network.parameters(), net.parameters()):
        np.testing.assert_allclose(mine, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("changes", [
    dict(momentum=0.9), dict(momentum=0.9, nesterov=True), dict(weight_decay=1e-3),
    dict(schedule="cosine"), dict(schedule="step", step_epochs=1), dict(activation="tanh"),
    dict(activation="sigmoid", learning_rate=0.5, momentum=0.9), dict(augment_shift=1)])
def test_every_option_learns(small_split, changes):
    trainer = Trainer(TrainingConfig(max_epochs=2, **changes), small_split)
    run_all(trainer)
    assert trainer.result.best_val_accuracy > 0.78  # chance is 0.1; 3,000 images, two epochs


def test_schedules_shape_the_learning_rate(small_split):
    step = Trainer(TrainingConfig(schedule="step", step_epochs=2, step_gamma=0.5, max_epochs=6), small_split)
    assert [step.scheduled_learning_rate(e) for e in range(1, 6)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    cosine = Trainer(TrainingConfig(schedule="cosine", max_epochs=10), small_split)
    rates = [cosine.scheduled_learning_rate(e) for e in range(1, 11)]
    assert rates[0] == pytest.approx(0.1) and all(a > b for a, b in zip(rates, rates[1:])) and rates[-1] > 0


def test_shifted_images_move_the_ink_and_keep_it():
    rng = np.random.default_rng(0)
    image = np.zeros((1, 28 * 28), np.uint8)
    image.reshape(28, 28)[10:18, 12:16] = 200
    shifted = shifted_images(np.repeat(image, 50, axis=0), (28, 28), 2, rng)
    assert (shifted.sum(axis=1) == image.sum()).all()  # the digit is moved, not cropped
    assert len({row.tobytes() for row in shifted}) > 5


def test_invalid_configs_say_why():
    with pytest.raises(ValueError, match="learning rate must be between 1e-5 and 10"):
        TrainingConfig(learning_rate=50)
    bad = dict(TrainingConfig().to_dict(), hidden=[0], batch_size=0)
    with pytest.raises(ValueError, match="hidden layers.*batch size"):
        TrainingConfig.from_dict(bad)
    assert set(PRESETS) == {"seed", "seed-slow", "fast", "best", "record", "overfit", "bundled"}
