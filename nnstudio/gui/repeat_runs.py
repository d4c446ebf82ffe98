"""Repeat ×N in the app: the form's configuration trained with seeds 0..N-1, in worker processes.

:class:`RepeatRuns` runs :func:`nnstudio.core.repeats.run_repeats` (the sweep's machinery: one
process per repeat, one BLAS thread each, as many at once as :func:`~nnstudio.core.sweeps.worker_count`
allows with the window open) on the frame's generic :class:`~nnstudio.gui.worker.Worker`. Each
repeat that ends is listed in the workspace as a run of its group; when all have ended the group is
ticked, so the plots draw its mean curve and min–max band. :meth:`RepeatRuns.stop` ends the running
repeats at their next batch (keeping their best weights) and skips those not begun; no process,
thread or partial file outlives a stop or an error.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from nnstudio.core.config import TrainingConfig
from nnstudio.core.model_file import ModelFileError
from nnstudio.core.repeats import RunGroup, group_runs, new_group_folder, run_repeats, summary_text, worker_count
from nnstudio.core.run_folder import load_run
from nnstudio.core.sweeps import PointResult, SweepEpoch
from nnstudio.gui.worker import Worker, join

MAX_REPEATS = 20


@dataclass(frozen=True)
class RepeatLaunch:
    """What :attr:`RepeatRuns.started` announces."""

    config: TrainingConfig
    count: int
    workers: int
    folder: Path


@dataclass(frozen=True)
class RepeatOutcome:
    """How a group of repeats ended: its results (one per repeat that ran) and, when any run was
    saved, the group as listed."""

    folder: Path
    results: tuple[PointResult, ...]
    group: RunGroup | None
    stopped: bool
    error: str = ""

    @property
    def summary(self) -> str:
        accuracies = [r.test_accuracy for r in self.results if r.test_accuracy is not None]
        return summary_text(accuracies) if accuracies else ""


class RepeatRuns(QObject):
    """Trains N repeats of a configuration on the workspace's MNIST. Signals: ``started(RepeatLaunch)``,
    ``progressed(str)`` (a line saying where each repeat is), ``repeat_finished(PointResult)``,
    ``finished(RepeatOutcome)`` (always last, also after a stop or an error)."""

    started = Signal(object)
    progressed = Signal(str)
    repeat_finished = Signal(object)
    finished = Signal(object)

    def __init__(self, workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.thread = self.worker = None
        self.launch: RepeatLaunch | None = None
        self.results: list[PointResult] = []
        self._epochs: dict[int, int] = {}
        self._error = ""
        self._stop = threading.Event()
        self.destroyed.connect(self._stop.set)

    @property
    def running(self) -> bool:
        return self.thread is not None

    def problem(self, count: int) -> str:
        """Why ``count`` repeats cannot start now ("" when they can)."""
        if self.running:
            return "Repeats are running already."
        if not 2 <= count <= MAX_REPEATS:
            return f"Repeat 2 to {MAX_REPEATS} times."
        if self.workspace.mnist is None:
            return "Repeats read MNIST in worker processes: open a data folder first."
        return ""

    def start(self, config: TrainingConfig, count: int, name: str = "repeat") -> str:
        """Train ``config`` with seeds 0..count-1; returns "" or why it cannot start."""
        reason = self.problem(count)
        if reason:
            return reason
        config = config.replace(validation_size=len(self.workspace.split.x_val))  # as the split validates
        try:
            folder = new_group_folder(self.workspace.runs_root, count)
        except OSError as exc:
            return f"Cannot make a folder for the repeats in {self.workspace.runs_root}: {exc.strerror or exc}"
        workers = worker_count(count, app_open=True)
        self._stop.clear()
        self.results, self._epochs, self._error = [], {}, ""
        stop, mnist, data_dir = self._stop, self.workspace.mnist, self.workspace.data_folder
        worker = Worker(lambda: run_repeats(config, data_dir, count, folder, workers=workers, name=name,
                                            stop=stop, data=mnist, stream=True), name="repeats")
        worker.yielded.connect(self._on_event)
        worker.errored.connect(self._on_errored)  # methods, not lambdas: a lambda would run on the worker's thread
        worker.finished.connect(self._on_finished)
        self.worker, self.launch = worker, RepeatLaunch(config, count, workers, folder)
        self.thread = worker.start()
        self.started.emit(self.launch)
        self._show_progress()
        return ""

    def stop(self) -> None:
        """End the running repeats at their next batch (their best weights kept); skip the others."""
        self._stop.set()

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Stop and wait up to ``timeout_ms`` for the repeats' thread; True once it has ended."""
        self.stop()
        if not join(self.thread, timeout_ms):
            return False
        return True

    # -- the job's events -----------------------------------------------------------------------

    @Slot(object)
    def _on_event(self, event) -> None:
        if isinstance(event, SweepEpoch):
            self._epochs[event.point] = event.report.epoch
        elif isinstance(event, PointResult):
            self.results.append(event)
            if event.folder:
                try:
                    self.workspace.add_run(load_run(event.folder))
                except (OSError, ModelFileError):
                    pass  # the other repeats still count
            self.repeat_finished.emit(event)
        self._show_progress()

    def _show_progress(self) -> None:
        launch = self.launch
        done = {r.point for r in self.results}
        parts = [f"seed {seed}: {'done' if seed in done else f'epoch {self._epochs[seed]}'}"
                 for seed in range(launch.count) if seed in done or seed in self._epochs]
        self.progressed.emit(f"Repeat ×{launch.count} in {launch.workers} process"
                             f"{'es' if launch.workers > 1 else ''}: " + (" · ".join(parts) or "starting…"))

    @Slot(str)
    def _on_errored(self, message: str) -> None:
        self._error = message

    @Slot()
    def _on_finished(self) -> None:
        join(self.thread)
        self.thread = self.worker = None
        folder = self.launch.folder
        group = next((g for g in group_runs(self.workspace.runs) if g.folder == folder), None)
        outcome = RepeatOutcome(folder, tuple(sorted(self.results, key=lambda r: r.point)), group,
                                self._stop.is_set(), self._error)
        if group is not None:
            self.workspace.set_group_compared(group, True)
        elif not any(r.folder for r in self.results):
            try:
                folder.rmdir()  # made for these repeats, none of which saved a run: nothing is left behind
            except OSError:  # gone already, or something else was put there: leave it
                pass
        self.finished.emit(outcome)
