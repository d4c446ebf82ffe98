"""Sweeps: points trained in separate processes, epochs streamed, sweep.csv matching the run folders."""

import csv
import os

import pytest

from nnstudio.core.config import TrainingConfig
from nnstudio.core.run_folder import load_run
from nnstudio.core.sweeps import SWEEP_FILE, PointResult, SweepEpoch, parse_axis, run_sweep, sweep_points

TINY = TrainingConfig(hidden=(16,), max_epochs=2, patience=0, train_size=500, validation_size=1000)


def test_axes_and_points_from_the_command_line_syntax():
    lr = parse_axis("lr=0.001,0.1")
    assert (lr.field, lr.values) == ("learning_rate", (0.001, 0.1))
    hidden = parse_axis("hidden=64,128-64")
    assert hidden.values == ((64,), (128, 64))
    points = sweep_points(TINY, [lr, hidden])
    assert [p.label for p in points] == ["lr=0.001 hidden=64", "lr=0.001 hidden=128-64", "lr=0.1 hidden=64",
                                         "lr=0.1 hidden=128-64"]
    assert points[3].config.hidden == (128, 64) and points[3].config.learning_rate == 0.1
    assert points[3].folder_name == "lr=0.1_hidden=128-64"


@pytest.mark.parametrize("text, message", [("speed=1,2", "SETTING=V1,V2"), ("lr=0.1,fast", "'fast' is not"),
                                           ("lr=0.1,0.1", "twice"), ("lr=", "SETTING")])
def test_bad_axes_say_why(text, message):
    with pytest.raises(ValueError, match=message):
        parse_axis(text)


def test_an_invalid_point_is_named():
    with pytest.raises(ValueError, match="lr=50"):
        sweep_points(TINY, [parse_axis("lr=0.1,50")])


def test_a_sweep_trains_its_points_in_worker_processes_and_its_csv_matches_the_runs(tmp_path, mnist_dir):
    points = sweep_points(TINY, [parse_axis("lr=0.001,0.1")])
    events = list(run_sweep(points, mnist_dir, tmp_path / "sweep", workers=2, name="test"))
    results = [e for e in events if isinstance(e, PointResult)]
    epochs = [e for e in events if isinstance(e, SweepEpoch)]
    assert sorted(r.point for r in results) == [0, 1] and all(not r.error for r in results)
    # Never in this process; in one or two workers (a point can end before the second worker starts,
    # and the pool then hands the next point to the idle one).
    pids = {r.pid for r in results}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    for r in results:  # every epoch streamed, before the point's end
        streamed = [e.report.epoch for e in epochs if e.point == r.point]
        assert streamed == [1, 2]
        assert events.index(r) > max(i for i, e in enumerate(events) if isinstance(e, SweepEpoch) and e.point == r.point)
    with open(tmp_path / "sweep" / SWEEP_FILE) as f:
        rows = list(csv.DictReader(f))
    assert [row["lr"] for row in rows] == ["0.001", "0.1"]
    for row in rows:
        run = load_run(tmp_path / "sweep" / row["folder"])
        assert run.config.learning_rate == float(row["lr"]) and run.config.train_size == 500
        assert f"{run.summary['test_accuracy']:.4f}" == row["test_accuracy"]
        assert len(run.history) == int(row["epochs"]) == 2
    accuracy = {row["lr"]: float(row["test_accuracy"]) for row in rows}
    assert accuracy["0.1"] > accuracy["0.001"] + 0.2  # the seed's lesson, in two epochs


def test_cli_sweep_writes_a_run_per_point_and_the_csv(tmp_path, mnist_dir, capsys):
    from nnstudio.cli.train import main

    out = tmp_path / "cli"
    code = main(["--data-dir", str(mnist_dir), "--sweep", "lr=0.001,0.1", "--hidden", "16", "--epochs", "1",
                 "--train-size", "500", "--validation-size", "1000", "--out", str(out), "--quiet"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"lr=0.001", "lr=0.1", SWEEP_FILE}
    assert lines[-2].startswith("best: lr=0.1 (test accuracy 0.")
    with pytest.raises(SystemExit) as exit_:
        main(["--data-dir", str(mnist_dir), "--sweep", "speed=1,2", "--out", str(tmp_path / "bad")])
    assert exit_.value.code == 2 and "--sweep" in capsys.readouterr().err
