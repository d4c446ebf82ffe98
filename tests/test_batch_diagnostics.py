"""Diagnostics every N batches: the trainer's step meter, the config field and the CLI flag."""

import math

import numpy as np
import pytest

from nnstudio.cli.train_flags import build_parser, config_from_args
from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split
from nnstudio.core.diagnostics import BatchDiagnostics
from nnstudio.core.reports import BatchProgress, EpochReport
from nnstudio.core.trainer import Trainer


def tiny(small_split, n=600, val=200) -> Split:
    return Split(small_split.x_train[:n], small_split.y_train[:n], small_split.x_val[:val],
                 small_split.y_val[:val], small_split.x_test[:0], small_split.y_test[:0])


def points_of(events) -> list[BatchDiagnostics]:
    return [d for e in events if isinstance(e, BatchProgress) for d in e.diagnostics]


def test_every_n_batches_the_trainer_reports_each_layers_update_ratio(small_split):
    config = TrainingConfig(hidden=(16,), batch_size=20, max_epochs=2, patience=0, diagnostics_every=7)
    events = list(Trainer(config, tiny(small_split)).run())
    points = points_of(events)
    batches = math.ceil(600 / 20)  # 30: batches 7, 14, 21, 28 of each epoch
    assert [(p.epoch, p.batch) for p in points] == [(e, b) for e in (1, 2) for b in (7, 14, 21, 28)]
    assert all(p.batches == batches and len(p.update_ratios) == 2 for p in points)
    assert all(0 < r < 1 for p in points for r in p.update_ratios)
    assert points[0].position == pytest.approx(7 / 30) and points[-1].position == pytest.approx(1 + 28 / 30)
    # Every point reaches the watcher before its epoch's report.
    order = [e.epoch for e in events if isinstance(e, EpochReport)]
    assert order == [1, 2]


def test_the_ratio_is_the_plain_sgd_step_over_the_weights_before_it(small_split):
    # One full batch per epoch, measured every batch: the step is the epoch's whole change.
    n, lr, wd = 200, 0.3, 1e-3
    data = tiny(small_split, n)
    config = TrainingConfig(hidden=(12, 8), learning_rate=lr, weight_decay=wd, batch_size=n, max_epochs=1,
                            patience=0, diagnostics_every=1)
    trainer = Trainer(config, data)
    before = trainer.network.copy()
    point, = points_of(trainer.run())
    after = trainer.network  # epoch 1 is the best: its weights
    direct = [np.linalg.norm(a - b) / np.linalg.norm(b) for a, b in zip(after.weights, before.weights)]
    np.testing.assert_allclose(point.update_ratios, direct, rtol=1e-4)
    # ... = ‖lr·g‖/‖W‖, g the gradient of the mean loss (plus weight decay) on the batch.
    x = data.x_train.astype(np.float32) / 255
    _, _, grads, _ = before.copy().backprop(before.feedforward(x), data.y_train)
    gradients = [np.linalg.norm(g + wd * w) for g, w in zip(grads, before.weights)]
    np.testing.assert_allclose(point.gradient_norms, gradients, rtol=1e-3)
    np.testing.assert_allclose(point.update_ratios, [lr * g / np.linalg.norm(w) for g, w in
                                                     zip(gradients, before.weights)], rtol=1e-3)


def test_momentum_reports_the_ratio_but_no_gradient_norm(small_split):
    config = TrainingConfig(hidden=(16,), batch_size=50, max_epochs=1, patience=0, momentum=0.9,
                            diagnostics_every=4)
    points = points_of(Trainer(config, tiny(small_split)).run())
    assert len(points) == 3 and all(p.gradient_norms is None and p.update_ratios[0] > 0 for p in points)


def test_zero_reports_none_and_trains_exactly_as_before(small_split):
    config = TrainingConfig(hidden=(16,), batch_size=20, max_epochs=2, patience=0)
    plain = Trainer(config, tiny(small_split))
    plain_events = list(plain.run())
    measured = Trainer(config.replace(diagnostics_every=3), tiny(small_split))
    list(measured.run())
    assert points_of(plain_events) == []
    assert [e.train_loss for e in plain.history] == [e.train_loss for e in measured.history]
    for a, b in zip(plain.network.parameters(), measured.network.parameters()):
        np.testing.assert_array_equal(a, b)


def test_the_interval_can_change_between_runs_and_turn_off(small_split):
    trainer = Trainer(TrainingConfig(hidden=(16,), batch_size=20, max_epochs=1, patience=0), tiny(small_split))
    trainer.set_diagnostics_every(10)
    assert len(points_of(trainer.run())) == 3
    trainer.set_diagnostics_every(0)
    assert points_of(trainer.run(max_epochs=1)) == []


@pytest.mark.parametrize("value", [-1, 100001, 2.5, float("nan")])
def test_the_config_refuses_bad_intervals(value):
    with pytest.raises(ValueError, match="diagnostics every"):
        TrainingConfig(diagnostics_every=value)


def test_the_cli_flag_sets_the_interval():
    parser = build_parser()
    args = parser.parse_args(["--diagnostics-every", "100"])
    assert config_from_args(parser, args).diagnostics_every == 100
    assert config_from_args(parser, parser.parse_args([])).diagnostics_every == 0


@pytest.mark.parametrize("text", ["-5", "ten", "1.5", "999999"])
def test_the_cli_flag_refuses_bad_values_clearly(text, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--diagnostics-every", text])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--diagnostics-every" in err and "whole number from 0 (per epoch only) to 100000" in err
