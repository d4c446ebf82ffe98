"""A two-point sweep against one of its runs alone, side by side in one run (issue: <= 1.35x).

    NNSTUDIO_DATA=../shared/mnist python benchmarks/sweep_speed.py [--epochs 3] [--rounds 2]

Each round times, through :func:`nnstudio.core.sweeps.run_sweep` (so process start-up counts on
both sides), the seed preset's lr 0.1 alone in one worker process, then lr 0.001 and 0.1 together
in two. Rounds interleave, so a busy moment of the machine hits both alike; the figure is the
median ratio of wall times; each point's training time (its epochs alone) is printed beside it,
so start-up and contention can be told apart. On a machine with fewer free cores than points
(another job busy) the ratio tends to 2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from nnstudio.core.config import PRESETS
from nnstudio.core.mnist import resolve_data_dir
from nnstudio.core.sweeps import PointResult, parse_axis, run_sweep, sweep_points


def timed(points, data_dir, workers: int) -> tuple[float, list[float]]:
    """The sweep's wall time and each point's training time (its epochs, without start-up and saving)."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        trained = [e.seconds for e in run_sweep(points, data_dir, Path(folder), workers=workers)
                   if isinstance(e, PointResult)]
        return time.perf_counter() - started, trained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    data_dir = resolve_data_dir(os.environ.get("NNSTUDIO_DATA"))
    base = PRESETS["seed"].replace(max_epochs=args.epochs, patience=0)
    alone = sweep_points(base, [parse_axis("lr=0.1")])
    pair = sweep_points(base, [parse_axis("lr=0.001,0.1")])
    ratios = []
    print(f"cores: {os.cpu_count()} · load average {os.getloadavg()[0]:.2f} at start", flush=True)
    for round_ in range(args.rounds):
        one, one_trained = timed(alone, data_dir, 1)
        two, two_trained = timed(pair, data_dir, 2)
        ratios.append(two / one)
        print(f"round {round_ + 1}: one run alone {one:.1f} s (training {one_trained[0]:.1f} s) · two-point sweep "
              f"{two:.1f} s (training {' and '.join(f'{t:.1f}' for t in two_trained)} s) · ratio {two / one:.2f}",
              flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end · median ratio {statistics.median(ratios):.2f} "
          f"(target <= 1.35)")


if __name__ == "__main__":
    main()
