"""The second edition's options end to end: the monitor, config limits, CLI flags, repeats."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nnstudio.cli.train import main
from nnstudio.core.config import PRESETS, TrainingConfig
from nnstudio.core.reports import EpochReport
from nnstudio.core.repeats import read_group_file, summary, summary_text, worker_count
from nnstudio.core.run_folder import list_runs
from nnstudio.core.trainer import Trainer


def craft_curve(trainer, monkeypatch, curve):
    """Make successive epochs' validation figures ``(loss, accuracy)``; training stays real."""
    figures = iter(curve)
    real = trainer.network.evaluate
    monkeypatch.setattr(trainer.network, "evaluate",
                        lambda x, y, **options: next(figures) if x is trainer.data.x_val else real(x, y, **options))


CURVE = [(0.50, 0.90), (0.30, 0.93), (0.32, 0.95), (0.35, 0.94), (0.40, 0.949), (0.45, 0.95), (0.5, 0.94)]


def test_monitoring_accuracy_restores_the_most_accurate_epoch(small_split, monkeypatch):
    trainer = Trainer(TrainingConfig(max_epochs=20, patience=3, monitor="val_accuracy"), small_split)
    craft_curve(trainer, monkeypatch, CURVE)
    snapshots = {}
    for event in trainer.run():
        if isinstance(event, EpochReport):
            snapshots[event.epoch] = trainer.network.copy_parameters()
    result = trainer.result
    # accuracy peaks at epoch 3 (0.95); epoch 6 only ties it, which is no improvement
    assert result.reason == "early_stopping" and result.best_epoch == 3 and result.epochs == 6
    assert result.best_val_accuracy == 0.95 and result.best_val_loss == 0.32
    assert "validation accuracy" in result.message
    for now, best in zip(trainer.network.parameters(), snapshots[3]):
        np.testing.assert_array_equal(now, best)


def test_monitoring_loss_picks_the_lowest_loss_on_the_same_curve(small_split, monkeypatch):
    trainer = Trainer(TrainingConfig(max_epochs=20, patience=3), small_split)
    craft_curve(trainer, monkeypatch, CURVE)
    list(trainer.run())
    assert trainer.result.best_epoch == 2 and trainer.result.epochs == 5
    assert "validation loss" in trainer.result.message


def test_min_delta_is_in_the_monitors_units(small_split, monkeypatch):
    trainer = Trainer(TrainingConfig(max_epochs=20, patience=2, monitor="val_accuracy", min_delta=0.025),
                      small_split)
    craft_curve(trainer, monkeypatch, CURVE)
    list(trainer.run())
    # 0.93 beats 0.90 by 0.03 (> 0.025); 0.95 beats 0.93 by only 0.02
    assert [r.improved for r in trainer.history] == [True, True, False, False]


def test_the_seed_preset_monitors_validation_accuracy():
    assert PRESETS["seed"].monitor == "val_accuracy"
    assert TrainingConfig().monitor == "val_loss"


@pytest.mark.parametrize("changes, message", [
    (dict(min_delta=math.nan), "min delta must be a finite number"),
    (dict(learning_rate=math.inf), "learning rate must be a finite number"),
    (dict(optimizer="lbfgs"), "optimizer must be one of"),
    (dict(beta1=1.0), "beta1 and beta2"),
    (dict(eps=0.0), "eps must be above 0"),
    (dict(dropout=0.95), "dropout rates"),
    (dict(input_dropout=-0.1), "dropout rates"),
    (dict(augment_rotate=200), "rotation must be"),
    (dict(elastic_alpha=math.nan), "finite"),
    (dict(elastic_sigma=0), "elastic sigma"),
    (dict(augment_thickness=5), "thickness"),
    (dict(monitor="accuracy"), "monitor must be one of"),
    (dict(monitor="val_accuracy", min_delta=2), "min delta must be below 1"),
])
def test_bad_values_are_refused_with_a_reason(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**changes)


@pytest.mark.parametrize("flags, message", [
    (["--optimizer", "lbfgs"], "invalid choice"),
    (["--dropout", "1.5"], "dropout rates"),
    (["--elastic", "34,x"], "ALPHA,SIGMA"),
    (["--elastic", "1,2,3"], "ALPHA,SIGMA"),
    (["--rotate", "nan"], "finite"),
    (["--beta2", "inf"], "finite"),
    (["--monitor", "loss"], "invalid choice"),
    (["--repeat", "0"], "repeats"),
    (["--thickness", "-1"], "thickness"),
])
def test_bad_new_flags_exit_2_with_a_message(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(flags)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_new_flags_reach_the_config():
    from nnstudio.cli.train import build_parser, config_from_args

    parser = build_parser()
    args = parser.parse_args(["--optimizer", "adam", "--dropout", "0.2", "--input-dropout", "0.1", "--rotate", "10",
                              "--scale", "0.1", "--shear", "5", "--elastic", "34,4", "--noise", "0.1",
                              "--thickness", "1", "--monitor", "val_loss", "--beta1", "0.8"])
    config = config_from_args(parser, args)
    assert (config.optimizer, config.learning_rate, config.beta1) == ("adam", 0.001, 0.8)  # adaptive: lr 1e-3
    assert (config.dropout, config.input_dropout, config.augment_rotate, config.augment_scale) == (0.2, 0.1, 10, 0.1)
    assert (config.elastic_alpha, config.elastic_sigma, config.augment_noise, config.augment_thickness) == (34, 4, 0.1, 1)
    assert config.monitor == "val_loss"
    assert config_from_args(parser, parser.parse_args(["--optimizer", "adam", "--lr", "0.01"])).learning_rate == 0.01


def test_summary_is_mean_sd_min_max():
    mean, sd, low, high = summary([0.97, 0.98, 0.99])
    assert (mean, low, high) == (pytest.approx(0.98), 0.97, 0.99) and sd == pytest.approx(0.01)
    assert summary_text([0.97, 0.98, 0.99]) == "98.00% ± 1.00 (97.00–99.00)"
    assert worker_count(5, cores=2) == 2 and worker_count(5, cores=8, app_open=True) == 5
    assert worker_count(9, cores=8, app_open=True) == 7  # one core left to the window
    assert worker_count(5, cores=2, app_open=True) == 2  # but two points race on a 2-core machine
    assert worker_count(1, cores=8) == 1


def test_runs_side_by_side_share_the_cores_they_leave_for_distortion():
    from nnstudio.core.sweeps import helpers_per_run

    assert helpers_per_run(2, cores=2) == 0  # every core runs: each run distorts in line
    assert helpers_per_run(15, cores=16) == 0  # not 15 helpers in each of 15 runs
    assert helpers_per_run(2, cores=16) == 7 and helpers_per_run(1, cores=4) == 3


def test_repeat_2_makes_two_run_folders_and_one_summary(tmp_path, mnist_dir, capsys):
    out = tmp_path / "group"
    code = main(["--data-dir", str(mnist_dir), "--repeat", "2", "--epochs", "1", "--hidden", "16",
                 "--validation-size", "50000", "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "seed 0: test accuracy" in printed and "seed 1: test accuracy" in printed
    assert "test accuracy over 2 seeds:" in printed and "±" in printed
    assert sorted(p.name for p in out.iterdir()) == ["group.json", "seed-0", "seed-1"]
    group = read_group_file(out)
    assert [r["seed"] for r in group["repeats"]] == [0, 1]
    assert group["test_accuracy"]["count"] == 2 and 0.5 < group["test_accuracy"]["mean"] < 1
    runs, problems = list_runs(tmp_path)
    assert len(runs) == 2 and not problems
    assert {r.config.seed for r in runs} == {0, 1}
    assert (out / "seed-0" / "training_history.png").is_file()
    assert json.loads((out / "group.json").read_text())["config"]["validation_size"] == 50000
