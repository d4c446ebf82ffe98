"""The learning-rate range test: weights untouched, stops on divergence, a suggestion the seed agrees with."""

import csv

import numpy as np
import pytest

from nnstudio.cli.train import main
from nnstudio.core.lr_finder import (
    LrProgress,
    curves_csv,
    falling_stretch,
    find_learning_rate,
    range_test,
    run_to_end,
)
from nnstudio.core.network import Network

SEED_SIZES = (784, 128, 64, 10)


def seed_network(seed: int) -> Network:
    return Network(SEED_SIZES, seed=np.random.default_rng(seed))


def test_the_range_test_leaves_the_weights_as_they_were(small_split):
    net = seed_network(0)
    before = net.copy_parameters()
    events = []
    job = range_test(net, small_split.x_train, small_split.y_train, steps=60, report_every=20)
    while True:
        try:
            events.append(next(job))
        except StopIteration as stop:
            curve = stop.value
            break
    assert all(np.array_equal(a, b) for a, b in zip(before, net.parameters()))
    assert [e.step for e in events if isinstance(e, LrProgress)] == [20, 40, 60][:len(events)]
    assert curve.steps > 20 and curve.losses[0] > 2.0  # it did train its copy: the loss moved
    assert not np.allclose(curve.losses, curve.losses[0])


def test_it_stops_once_the_smoothed_loss_exceeds_four_times_its_minimum(small_split):
    curve = run_to_end(range_test(seed_network(1), small_split.x_train, small_split.y_train, steps=200, seed=1))
    assert curve.diverged
    assert curve.steps < 200 and curve.learning_rates[-1] < 10
    assert curve.smoothed[-1] > 4 * curve.smoothed.min()
    assert (curve.smoothed[:-1] <= 4 * np.minimum.accumulate(curve.smoothed)[:-1]).all()  # not one batch earlier


def test_a_range_too_low_to_diverge_runs_to_its_end(small_split):
    curve = run_to_end(range_test(seed_network(0), small_split.x_train, small_split.y_train,
                                  start=1e-6, end=1e-3, steps=30))
    assert not curve.diverged and curve.steps == 30
    assert curve.learning_rates[0] == pytest.approx(1e-6) and curve.learning_rates[-1] == pytest.approx(1e-3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_suggestion_for_the_seed_network_lies_between_0_02_and_1(split, seed):
    """The seed found lr 0.1 good and 0.001 far too slow: one range test on the full training set."""
    curve = run_to_end(range_test(seed_network(seed), split.x_train, split.y_train, seed=seed))
    assert 0.02 <= curve.suggestion <= 1
    assert curve.falls_from < curve.suggestion < curve.minimum_lr


def test_three_runs_give_a_band_around_the_median(small_split):
    result = run_to_end(find_learning_rate(seed_network(0), small_split.x_train, small_split.y_train, steps=100))
    suggestions = sorted(c.suggestion for c in result.curves)
    assert len(result.curves) == 3 and result.suggestion == suggestions[1]
    assert (result.low, result.high) == (suggestions[0], suggestions[2])
    assert not all(np.array_equal(result.curves[0].losses, c.losses) for c in result.curves[1:])  # other batches
    learns, diverges = result.zones()
    assert learns <= result.low <= result.high <= diverges
    rows = list(csv.DictReader(curves_csv(result).splitlines()))
    assert len(rows) == sum(c.steps for c in result.curves)
    assert {row["run"] for row in rows} == {"1", "2", "3"}


def test_the_longest_falling_stretch_and_its_middle():
    lrs = np.logspace(-6, 1, 40)
    loss = np.r_[np.full(10, 2.3) + 0.01 * (np.arange(10) % 2), np.linspace(2.3, 1.0, 20), np.linspace(1.1, 5, 10)]
    first, middle, last = falling_stretch(lrs, loss)
    assert first == lrs[9] or first == lrs[10]
    assert last == lrs[29]
    assert middle == lrs[(list(lrs).index(first) + 29) // 2]


@pytest.mark.parametrize("kwargs", [dict(start=1, end=0.1), dict(steps=3)])
def test_bad_ranges_are_refused(small_split, kwargs):
    with pytest.raises(ValueError):
        run_to_end(range_test(seed_network(0), small_split.x_train, small_split.y_train, **kwargs))


def test_cli_find_lr_prints_a_suggestion_writes_plot_and_csv_and_trains_nothing(tmp_path, mnist_dir, capsys):
    out = tmp_path / "lr"
    code = main(["--data-dir", str(mnist_dir), "--find-lr", "--out", str(out), "--quiet"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    suggested = [line for line in lines if line.startswith("suggested learning rate: ")]
    assert len(suggested) == 1 and 0.02 <= float(suggested[0].split(": ")[1]) <= 1
    assert {p.name for p in out.iterdir()} == {"lr_finder.csv", "lr_finder.png"}
    assert (out / "lr_finder.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(out / "lr_finder.csv") as f:
        rows = list(csv.DictReader(f))
    assert {row["run"] for row in rows} == {"1", "2", "3"} and float(rows[0]["learning_rate"]) == pytest.approx(1e-6)
