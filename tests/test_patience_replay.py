"""Patience replayed on a finished run matches a real run with that patience: same stop, same weights."""

import numpy as np
import pytest

from nnstudio.core.config import TrainingConfig
from nnstudio.core.patience_replay import patience_table, replay_patience
from nnstudio.core.reports import EpochReport
from nnstudio.core.trainer import Trainer

BASE = TrainingConfig(hidden=(32,), learning_rate=0.2, batch_size=32, max_epochs=14, patience=0, train_size=500,
                      label_noise=0.2, seed=3)


def train(config, split):
    trainer = Trainer(config, split)
    for _ in trainer.run():
        pass
    return trainer


@pytest.fixture(scope="module")
def long_run(small_split):
    return train(BASE, small_split)


@pytest.mark.parametrize("patience, min_delta, monitor", [(1, 0.0, "val_loss"), (2, 0.0, "val_loss"),
                                                          (3, 0.0, "val_loss"), (2, 0.02, "val_loss"),
                                                          (5, 0.0, "val_loss"), (2, 0.0, "val_accuracy"),
                                                          (1, 0.01, "val_accuracy")])
def test_the_replay_matches_a_real_run_with_that_patience(small_split, long_run, patience, min_delta, monitor):
    replay = replay_patience(long_run.history, patience, min_delta, monitor)
    real = train(BASE.replace(patience=patience, min_delta=min_delta, monitor=monitor), small_split)
    assert (replay.stop_epoch, replay.restored_epoch) == (real.result.epochs, real.result.best_epoch)
    assert replay.stopped_early == (real.result.reason == "early_stopping")
    # the real run restored exactly the weights the long run had at that epoch
    kept = long_run.checkpoints.get(replay.restored_epoch).parameters
    assert all(np.array_equal(a, b) for a, b in zip(kept, real.network.parameters()))


def test_the_runs_used_above_do_stop_at_different_epochs(long_run):
    stops = {r.patience: r.stop_epoch for r in patience_table(long_run.history, (1, 2, 3, 5))}
    assert len(set(stops.values())) >= 3, stops  # else the test above could not tell patiences apart
    assert replay_patience(long_run.history, 0).stop_epoch == 14


def report(epoch, val_loss):
    return EpochReport(epoch, 1.0, 0.5, val_loss, 0.5, 0.1, 0.1, 0, 0.0, 0.0, None, False)


def test_min_delta_counts_small_improvements_as_none():
    history = [report(1, 1.0), report(2, 0.99), report(3, 0.98), report(4, 0.5)]
    assert replay_patience(history, 2).restored_epoch == 4
    strict = replay_patience(history, 2, min_delta=0.05)
    assert (strict.stop_epoch, strict.restored_epoch, strict.stopped_early) == (3, 1, True)
    assert "stops after epoch 3" in strict.describe({1: 0.9}) and "test accuracy 90.00%" in strict.describe({1: 0.9})
    late = replay_patience(history, 20)
    assert late.beyond_history and not late.stopped_early and "still be training" in late.describe()
    with pytest.raises(ValueError):
        replay_patience(history, -1)
