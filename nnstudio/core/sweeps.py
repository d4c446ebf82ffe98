"""Sweeps: one or two settings varied over a few values, every point trained in its own process.

``lr=0.001,0.1`` against ``hidden=64,256`` is four runs; :func:`run_sweep` trains them in parallel
worker processes (one BLAS thread each, as many at once as :func:`~nnstudio.core.repeats.worker_count`
allows), the way :mod:`nnstudio.core.repeats` trains seeds, with its worker start-up and stop event;
unlike repeats it streams every epoch of every point back as it happens (for live plots). Each
point is a normal run folder inside the sweep folder, which also gets ``sweep.csv``::

    runs/sweep-20261126-123000/
        sweep.csv
        lr=0.001/   model.npz, history.csv, ...
        lr=0.1/     ...
"""

from __future__ import annotations

import csv
import io
import itertools
import multiprocessing
import os
import queue as queues
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from nnstudio.core import repeats
from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.config import TrainingConfig
from nnstudio.core.reports import EpochReport

SWEEP_FILE = "sweep.csv"
# What a sweep may vary: the name typed -> the config field.
SETTINGS = {"lr": "learning_rate", "learning_rate": "learning_rate", "hidden": "hidden", "batch": "batch_size",
            "batch_size": "batch_size", "patience": "patience", "momentum": "momentum", "dropout": "dropout",
            "seed": "seed"}
SHORT = {"learning_rate": "lr", "batch_size": "batch"}
MAX_POINTS = 64

_queue = None  # set in each worker by _start_sweep_worker


@dataclass(frozen=True)
class Axis:
    field: str
    values: tuple

    @property
    def name(self) -> str:
        return SHORT.get(self.field, self.field)


@dataclass(frozen=True)
class SweepPoint:
    index: int
    changes: tuple[tuple[str, object], ...]  # (field, value) per axis
    config: TrainingConfig

    @property
    def label(self) -> str:
        return " ".join(f"{SHORT.get(f, f)}={value_text(v)}" for f, v in self.changes)

    @property
    def folder_name(self) -> str:
        return "_".join(f"{SHORT.get(f, f)}={value_text(v)}" for f, v in self.changes)


@dataclass(frozen=True)
class SweepEpoch:
    """One epoch of one point, as it happens."""

    point: int
    report: EpochReport


@dataclass(frozen=True)
class PointResult:
    point: int
    folder: str
    test_accuracy: float | None
    best_val_accuracy: float
    best_epoch: int
    epochs: int
    seconds: float
    reason: str
    error: str = ""
    pid: int = 0  # the worker process that trained it


def value_text(value) -> str:
    if isinstance(value, tuple):
        return "-".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def parse_axis(text: str) -> Axis:
    """``"lr=0.001,0.01,0.1"`` -> the axis; hidden layers are written ``128-64``. Raises ValueError."""
    name, _, values = text.partition("=")
    name = name.strip().lower().replace("-", "_")
    if name not in SETTINGS or not values.strip():
        raise ValueError(f"{text!r}: write SETTING=V1,V2,... with SETTING one of "
                         f"lr, hidden, batch, patience, momentum, dropout, seed")
    field = SETTINGS[name]
    parsed = []
    for part in values.split(","):
        part = part.strip()
        try:
            if field == "hidden":
                parsed.append(tuple(int(p) for p in part.split("-")))
            elif field in ("batch_size", "patience", "seed"):
                parsed.append(int(part))
            else:
                parsed.append(float(part))
        except ValueError:
            raise ValueError(f"{text!r}: {part!r} is not a value for {name}") from None
    if len(set(parsed)) != len(parsed):
        raise ValueError(f"{text!r}: a value is given twice")
    return Axis(field, tuple(parsed))


def sweep_points(base: TrainingConfig, axes: Sequence[Axis]) -> list[SweepPoint]:
    """Every combination of the axes' values applied to ``base`` (one or two axes). Raises ValueError
    naming the point whose configuration is invalid."""
    if not 1 <= len(axes) <= 2:
        raise ValueError("a sweep varies one or two settings")
    if len(axes) == 2 and axes[0].field == axes[1].field:
        raise ValueError("the two settings of a sweep must differ")
    points = []
    for index, values in enumerate(itertools.product(*(a.values for a in axes))):
        changes = tuple((a.field, v) for a, v in zip(axes, values))
        try:
            config = base.replace(**dict(changes))
        except ValueError as exc:
            raise ValueError(f"{' '.join(f'{SHORT.get(f, f)}={value_text(v)}' for f, v in changes)}: {exc}") from None
        points.append(SweepPoint(index, changes, config))
    if len(points) > MAX_POINTS:
        raise ValueError(f"{len(points)} points: a sweep trains at most {MAX_POINTS}")
    return points


def run_sweep(points: Sequence[SweepPoint], data_dir: str | Path, folder: str | Path, *, workers: int | None = None,
              name: str = "", stop=None) -> Iterator[SweepEpoch | PointResult]:
    """Train every point in worker processes into ``folder/<point>``; yield each epoch
    (:class:`SweepEpoch`) and each point's end (:class:`PointResult`) as they come, and write
    ``sweep.csv``. ``stop`` (a ``threading.Event``) ends the running points at their next batch,
    keeping their best weights, and skips those not begun."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    workers = workers or repeats.worker_count(len(points))
    context = multiprocessing.get_context("spawn")
    worker_stop, epochs = context.Event(), context.Queue()
    results: list[PointResult] = []
    saved_env = repeats.one_blas_thread_for_workers()
    seen: dict[int, int] = {}
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_sweep_worker,
                                 initargs=(worker_stop, epochs)) as pool:
            pending = {pool.submit(_train_point, p.config.to_dict(), str(data_dir), p.index,
                                   str(folder / p.folder_name), f"{name} {p.label}".strip()) for p in points}
            try:
                while pending:
                    done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                    yield from _drain(epochs, seen)
                    if stop is not None and stop.is_set() and not worker_stop.is_set():
                        worker_stop.set()
                        for future in pending:
                            future.cancel()
                    for future in done:
                        if future.cancelled():
                            continue
                        result = future.result()
                        yield from _drain(epochs, seen, until=(result.point, result.epochs))
                        results.append(result)
                        yield result
            finally:  # also when the caller stops listening: no worker outlives this
                worker_stop.set()
                for future in pending:
                    future.cancel()
    finally:
        repeats.restore_environment(saved_env)
        if results:
            write_sweep_csv(folder / SWEEP_FILE, points, results)


def _drain(epochs, seen: dict[int, int], until: tuple[int, int] | None = None) -> Iterator[SweepEpoch]:
    """The epochs that have arrived; with ``until=(point, n)``, wait (a few seconds at most) until that
    point's ``n`` epochs have all arrived, since a worker's queue may deliver after its result."""
    while True:
        waiting = until is not None and seen.get(until[0], 0) < until[1]
        try:
            point, report = epochs.get(timeout=5.0) if waiting else epochs.get_nowait()
        except queues.Empty:
            return
        seen[point] = seen.get(point, 0) + 1
        yield SweepEpoch(point, report)


def sweep_rows(points: Sequence[SweepPoint], results: Sequence[PointResult]) -> list[dict]:
    """One row per point that finished: its settings and figures (for ``sweep.csv`` and the table)."""
    by_index = {p.index: p for p in points}
    rows = []
    for r in sorted(results, key=lambda r: r.point):
        point = by_index[r.point]
        row = {"point": r.point + 1}
        row.update({SHORT.get(f, f): value_text(v) for f, v in point.changes})
        row.update({"test_accuracy": "" if r.test_accuracy is None else f"{r.test_accuracy:.4f}",
                    "best_val_accuracy": f"{r.best_val_accuracy:.4f}", "best_epoch": r.best_epoch,
                    "epochs": r.epochs, "seconds": f"{r.seconds:.2f}", "reason": r.reason,
                    "folder": Path(r.folder).name if r.folder else "", "error": r.error})
        rows.append(row)
    return rows


def write_sweep_csv(path: Path, points: Sequence[SweepPoint], results: Sequence[PointResult]) -> Path:
    rows = sweep_rows(points, results)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())
    return path


# -- in the worker processes ------------------------------------------------------------------

def _start_sweep_worker(stop, epochs) -> None:
    global _queue
    repeats._start_worker(stop)  # the stop event, and Ctrl+C left to the parent
    _queue = epochs


def _train_point(config: dict, data_dir: str, index: int, folder: str, name: str) -> PointResult:
    from nnstudio.core.dataset import split_mnist
    from nnstudio.core.mnist import load_mnist
    from nnstudio.core.run_folder import save_run
    from nnstudio.core.trainer import Trainer

    stop = repeats._stop_event
    if stop is not None and stop.is_set():
        return PointResult(index, "", None, 0.0, 0, 0, 0.0, "stopped", "stopped before it began")
    try:
        cfg = TrainingConfig.from_dict(config)
        trainer = Trainer(cfg, split_mnist(load_mnist(data_dir), cfg.validation_size))
        for event in trainer.run():
            if isinstance(event, EpochReport) and _queue is not None:
                _queue.put((index, event))
            if stop is not None and stop.is_set():
                trainer.request_stop()
        result = trainer.result
        if result.epochs:
            save_run(folder, trainer, name=name)
        return PointResult(index, folder if result.epochs else "", result.test_accuracy, result.best_val_accuracy,
                           result.best_epoch, result.epochs, result.seconds, result.reason, pid=os.getpid())
    except (OSError, ValueError) as exc:
        return PointResult(index, "", None, 0.0, 0, 0, 0.0, "failed", str(exc), pid=os.getpid())
