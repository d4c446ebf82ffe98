"""Runs in worker processes: sweeps of one or two settings, and (through :mod:`nnstudio.core.repeats`)
one configuration over seeds, every point trained in its own process.

``lr=0.001,0.1`` against ``hidden=64,256`` is four runs; :func:`run_points` trains them in parallel
worker processes (one BLAS thread each, as many at once as :func:`worker_count` allows) and streams
every epoch of every point back as it happens (for live plots); its results are
:class:`PointResult` records. A repeat is a point of a sweep over seeds. Each point is a normal run
folder inside the sweep folder, which also gets ``sweep.csv`` (:func:`run_sweep`)::

    runs/sweep-20261126-123000/
        sweep.csv
        lr=0.001/   model.npz, history.csv, ...
        lr=0.1/     ...

The parent reads MNIST once and hands it to its workers as memory-mapped arrays in a temporary
folder (:mod:`nnstudio.core.shared_data`): a worker then starts without unpacking and checking
55 MB of its own, and all of them read the same pages.
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

from nnstudio.core import shared_data
from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.config import TrainingConfig
from nnstudio.core.reports import EpochReport
from nnstudio.core.thread_choice import usable_cores

SWEEP_FILE = "sweep.csv"
# What a sweep may vary: the name typed -> the config field.
SETTINGS = {"lr": "learning_rate", "learning_rate": "learning_rate", "hidden": "hidden", "batch": "batch_size",
            "batch_size": "batch_size", "patience": "patience", "momentum": "momentum", "dropout": "dropout",
            "seed": "seed"}
SHORT = {"learning_rate": "lr", "batch_size": "batch"}
MAX_POINTS = 64

BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")

# Set in each worker process by _start_worker.
_stop_event = None
_queue = None  # where each epoch goes, when the parent streams them
_data = None  # the parent's MNIST, memory-mapped
_helpers = 0  # distortion helpers for each run


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
    folder: str = ""  # its run folder's name, when not made from the changes

    @property
    def label(self) -> str:
        return " ".join(f"{SHORT.get(f, f)}={value_text(v)}" for f, v in self.changes)

    @property
    def folder_name(self) -> str:
        return self.folder or "_".join(f"{SHORT.get(f, f)}={value_text(v)}" for f, v in self.changes)


@dataclass(frozen=True)
class SweepEpoch:
    """One epoch of one point, as it happens."""

    point: int
    report: EpochReport


@dataclass(frozen=True)
class PointResult:
    """How one point's run ended (a repeat's too: its point is its seed)."""

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


def worker_count(points: int, *, app_open: bool = False, cores: int | None = None) -> int:
    """Processes to run at once: one per core, at most ``points``. With the app open one core is left
    to the window, except that two points always race side by side where there are two cores: the
    window only draws their curves meanwhile (a 2-core laptop races lr 0.1 against 0.001)."""
    cores = cores or usable_cores()
    allowed = cores - 1 if app_open and cores > 2 else cores
    return max(1, min(points, allowed))


def helpers_per_run(workers: int, cores: int | None = None) -> int:
    """Distortion helpers for each of ``workers`` runs side by side: the cores they leave, shared
    out (none where the runs take every core: each run then distorts in line, instead of every run
    starting a helper per core, processes times cores in all)."""
    cores = cores or usable_cores()
    return max(0, (cores - workers) // max(1, workers))


def one_blas_thread_for_workers() -> dict[str, str | None]:
    """Give the worker processes spawned from now on one BLAS thread each (they inherit the
    environment); returns the variables as they were, for :func:`restore_environment`."""
    saved = {k: os.environ.get(k) for k in BLAS_VARIABLES}
    os.environ.update({k: "1" for k in BLAS_VARIABLES})
    return saved


def restore_environment(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def run_sweep(points: Sequence[SweepPoint], data_dir: str | Path, folder: str | Path, *, workers: int | None = None,
              name: str = "", stop=None, data=None) -> Iterator[SweepEpoch | PointResult]:
    """:func:`run_points`, then ``sweep.csv`` in ``folder`` for the points that finished."""
    results: list[PointResult] = []
    try:
        for event in run_points(points, data_dir, folder, workers=workers, name=name, stop=stop, data=data):
            if isinstance(event, PointResult):
                results.append(event)
            yield event
    finally:
        if results:
            write_sweep_csv(Path(folder) / SWEEP_FILE, points, results)


def run_points(points: Sequence[SweepPoint], data_dir: str | Path, folder: str | Path, *, workers: int | None = None,
               name: str = "", stop=None, data=None, stream: bool = True) -> Iterator[SweepEpoch | PointResult]:
    """Train every point in worker processes into ``folder/<point>``; yield each epoch
    (:class:`SweepEpoch`, unless ``stream`` is off) and each point's end (:class:`PointResult`) as
    they come. ``data`` is MNIST as read from ``data_dir`` when the caller has it (else it is read
    here, once). ``stop`` (a ``threading.Event``) ends the running points at their next batch,
    keeping their best weights, and skips those not begun."""
    from nnstudio.core.mnist import load_mnist

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    workers = workers or worker_count(len(points))
    context = multiprocessing.get_context("spawn")
    worker_stop, epochs = context.Event(), context.Queue() if stream else None
    seen: dict[int, int] = {}
    with shared_data.shared_mnist(data if data is not None else load_mnist(data_dir)) as mapped:
        saved_env = one_blas_thread_for_workers()
        try:
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                     initargs=(worker_stop, epochs, mapped, helpers_per_run(workers))) as pool:
                pending = {pool.submit(_train_point, p.config.to_dict(), p.index, str(folder / p.folder_name),
                                       f"{name} {p.label}".strip()) for p in points}
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
                            yield result
                finally:  # also when the caller stops listening: no worker outlives this
                    worker_stop.set()
                    for future in pending:
                        future.cancel()
        finally:
            restore_environment(saved_env)


def _drain(epochs, seen: dict[int, int], until: tuple[int, int] | None = None) -> Iterator[SweepEpoch]:
    """The epochs that have arrived; with ``until=(point, n)``, wait (a few seconds at most) until that
    point's ``n`` epochs have all arrived, since a worker's queue may deliver after its result."""
    while epochs is not None:
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

def _start_worker(stop, epochs, data, helpers: int = 0) -> None:
    import signal

    global _stop_event, _queue, _data, _helpers
    _stop_event, _queue, _helpers = stop, epochs, helpers
    _data = shared_data.attach_mnist(data)  # mapped once per process, before its first point
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle


def _train_point(config: dict, index: int, folder: str, name: str) -> PointResult:
    from nnstudio.core.dataset import split_mnist
    from nnstudio.core.run_folder import save_run
    from nnstudio.core.trainer import Trainer

    stop = _stop_event
    if stop is not None and stop.is_set():
        return PointResult(index, "", None, 0.0, 0, 0, 0.0, "stopped", "stopped before it began")
    try:
        cfg = TrainingConfig.from_dict(config)
        trainer = Trainer(cfg, split_mnist(_data, cfg.validation_size))
        trainer.prefetch = _helpers  # distortion helpers: the cores the runs leave (0: in line)
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
