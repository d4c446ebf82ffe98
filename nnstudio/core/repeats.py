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
finish; :func:`summary_text` gives ``mean ± sd (min–max)``. ``group.json`` is written before the
first repeat begins and after each one ends, so the runs of a group being trained are known as
its runs (the app lists them under one row: :class:`RunGroup`, :func:`group_runs`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.config import TrainingConfig
from nnstudio.core.run_folder import new_run_folder
from nnstudio.core.sweeps import (BLAS_VARIABLES, PointResult, SweepEpoch, SweepPoint,  # noqa: F401
                                  one_blas_thread_for_workers, restore_environment, run_points, worker_count)

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
                workers: int | None = None, name: str = "", stop=None, data=None,
                stream: bool = False) -> Iterator[PointResult | SweepEpoch]:
    """Train ``config`` with seeds ``0..count-1`` into ``group_folder/seed-K``; yield each result as it
    finishes (and, with ``stream``, each epoch of each repeat as a
    :class:`~nnstudio.core.sweeps.SweepEpoch`, its point the seed) and keep ``group.json`` up to
    date. ``stop`` (a ``threading.Event``) ends the running repeats at their next batch, keeping
    their best weights, and skips those not begun; ``data`` is MNIST as read from ``data_dir``,
    when the caller has it. When no repeat saved a run (stopped at once, or every one failed),
    nothing is left behind: no ``group.json``, and no group folder if this call made it."""
    group = Path(group_folder)
    made = not group.exists()
    group.mkdir(parents=True, exist_ok=True)
    results: list[PointResult] = []
    write_group_file(group, config, results)
    try:
        for event in run_points(seed_points(config, count), data_dir, group, workers=workers, name=name,
                                stop=stop, data=data, stream=stream):
            if isinstance(event, PointResult):
                results.append(event)
                write_group_file(group, config, results)
            yield event
    finally:
        if any(r.folder for r in results):
            write_group_file(group, config, results)
        else:
            (group / GROUP_FILE).unlink(missing_ok=True)
            if made:
                try:
                    group.rmdir()
                except OSError:  # something else was put there meanwhile: leave it
                    pass


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


def new_group_folder(root: str | Path, count: int) -> Path:
    """Create and return ``root/<timestamp>-x<count>`` (a suffix if taken): where ``count`` repeats go."""
    return new_run_folder(root, f"-x{count}", "a folder for repeats")


@dataclass(frozen=True)
class RunGroup:
    """The runs of one group of repeats (:class:`~nnstudio.core.run_folder.Run` objects), as listed."""

    folder: Path
    runs: tuple

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def test_accuracies(self) -> list[float]:
        return [r.summary["test_accuracy"] for r in self.runs
                if isinstance(r.summary.get("test_accuracy"), (int, float))]

    def summary_text(self) -> str:
        """``mean ± sd (min–max)`` of its runs' test accuracies ("" before any has one)."""
        values = self.test_accuracies
        return summary_text(values) if values else ""


def group_runs(runs: Sequence) -> list[RunGroup]:
    """The groups of repeats among ``runs`` (those whose ``group`` is set), in order of first appearance."""
    groups: dict[Path, list] = {}
    for run in runs:
        if getattr(run, "group", None) is not None:
            groups.setdefault(run.group, []).append(run)
    return [RunGroup(folder, tuple(members)) for folder, members in groups.items()]
