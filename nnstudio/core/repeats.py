"""Repeats: one configuration trained with seeds 0..N-1, in parallel worker processes.

One run's test accuracy says little about a configuration: seeds alone move it by a few
tenths of a percent. :func:`run_repeats` trains the same configuration with ``N`` seeds: a
sweep over the seed (:func:`nnstudio.core.sweeps.run_points`: each run in its own process with
one BLAS thread, as many processes at once as :func:`worker_count` allows). Each repeat is a
normal run folder inside one group folder, which also gets ``group.json`` with every result
and the summary::

    runs/20261126-123000-x5/
        group.json
        seed-0/   model.npz, history.csv, ...
        seed-1/   ...

The results (:class:`~nnstudio.core.sweeps.PointResult`, its point the seed) arrive as they
finish; :func:`summary_text` gives ``mean ± sd (min–max)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.config import TrainingConfig
from nnstudio.core.sweeps import (BLAS_VARIABLES, PointResult, SweepPoint, one_blas_thread_for_workers,  # noqa: F401
                                  restore_environment, run_points, worker_count)

GROUP_FILE = "group.json"
RepeatResult = PointResult  # one record for a run in a worker process, whatever varied


def summary(values: list[float]) -> tuple[float, float, float, float]:
    """``(mean, sample standard deviation, min, max)`` of ``values``."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, sd, min(values), max(values)


def summary_text(values: list[float], *, percent: bool = True) -> str:
    """``97.81% ± 0.09 (97.67–97.93)`` for accuracies (fractions), or plain numbers."""
    mean, sd, low, high = summary(values)
    if percent:
        return f"{100 * mean:.2f}% ± {100 * sd:.2f} ({100 * low:.2f}–{100 * high:.2f})"
    return f"{mean:.4g} ± {sd:.2g} ({low:.4g}–{high:.4g})"


def seed_points(config: TrainingConfig, count: int) -> list[SweepPoint]:
    """Seeds ``0..count-1`` of ``config`` as the points of a sweep, each in a folder ``seed-K``."""
    return [SweepPoint(seed, (("seed", seed),), config.replace(seed=seed), folder=f"seed-{seed}")
            for seed in range(count)]


def run_repeats(config: TrainingConfig, data_dir: str | Path, count: int, group_folder: str | Path, *,
                workers: int | None = None, name: str = "", stop=None, data=None) -> Iterator[PointResult]:
    """Train ``config`` with seeds ``0..count-1`` into ``group_folder/seed-K``; yield each result as it
    finishes and write ``group.json``. ``stop`` (a ``threading.Event``) ends the running repeats at
    their next batch, keeping their best weights, and skips those not begun; ``data`` is MNIST as
    read from ``data_dir``, when the caller has it."""
    results: list[PointResult] = []
    try:
        for result in run_points(seed_points(config, count), data_dir, group_folder, workers=workers, name=name,
                                 stop=stop, data=data, stream=False):
            results.append(result)
            yield result
    finally:
        if results:
            write_group_file(Path(group_folder), config, results)


def write_group_file(group: Path, config: TrainingConfig, results: list[PointResult]) -> Path:
    ordered = sorted(results, key=lambda r: r.point)
    accuracies = [r.test_accuracy for r in ordered if r.test_accuracy is not None]
    rows = [{"seed": r.point, **{k: v for k, v in asdict(r).items() if k not in ("point", "pid")}} for r in ordered]
    data = {"config": config.to_dict(), "repeats": rows}
    if accuracies:
        mean, sd, low, high = summary(accuracies)
        data["test_accuracy"] = {"mean": mean, "sd": sd, "min": low, "max": high, "count": len(accuracies)}
    with atomic_write(group / GROUP_FILE, "w") as f:
        json.dump(data, f, indent=1)
    return group / GROUP_FILE


def read_group_file(group: str | Path) -> dict:
    with open(Path(group) / GROUP_FILE) as f:
        return json.load(f)
