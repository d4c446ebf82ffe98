"""A training run's lifecycle: the trainer, its worker thread, live edits, progress, saving.

:class:`RunSession` is the one owner of a run. Controls call its methods (:meth:`start`,
:meth:`continue_run`, :meth:`set_paused`, :meth:`stop`, :meth:`reset`, :meth:`edit_live`);
the trainer runs as a generator on a :class:`~nnstudio.gui.worker.Worker` thread; what it
reports comes back here on the GUI thread and goes out as signals the panels listen to:

    controls -> session -> trainer (its thread) -> session -> panels

Its phase is explicit: ``idle`` (no run going; a finished run may be kept for "+1 epoch"),
``running``, ``paused``, ``ending`` (the result or failure is in, the thread is finishing:
Pause and Stop have nothing left to act on) and ``saving`` (the history picture is drawn, and
the run folder written on a worker thread). It needs no window: a test can create and drive it alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QThread, QTimer, Signal, Slot

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split
from nnstudio.core.formatting import percent
from nnstudio.core.reports import BatchProgress, EpochReport, SettingChanged, TrainingResult
from nnstudio.core.trainer import Trainer
from nnstudio.gui.run_saving import SavedTrainer, SaveOutcome, save_job
from nnstudio.gui.training_job import BestNetwork, Launch, training_job
from nnstudio.gui.worker import Worker, join

log = logging.getLogger(__name__)

PHASES = ("idle", "running", "paused", "ending", "saving")
PLOT_INTERVAL_MS = 200  # progress goes out at most this often: the plots redraw the batch trace at this pace
LIVE_EDIT_DELAY_MS = 300  # a live setting reaches the trainer once it has rested this long (or flush)
LIVE_SETTINGS = ("learning_rate", "momentum", "patience", "dropout", "input_dropout", "augmentation")


class RunSession(QObject):
    """Owns the run: see the module doc. ``workspace`` gives the runs folder and lists saved runs."""

    launching = Signal()  # a run or its continuation is about to start (no thread yet)
    started = Signal(object)  # Launch, once the thread is started
    progressed = Signal(object)  # tuple[BatchProgress, ...]: the reports since the last, at most every 200 ms
    epoch_finished = Signal(object)  # EpochReport
    setting_changed = Signal(object)  # SettingChanged: a live change the trainer applied
    best_network_changed = Signal(object, object)  # Network (a copy to keep), the EpochReport of its weights
    ended = Signal(object)  # TrainingResult: the run is over (its thread is finishing; saving follows)
    failed = Signal(str)  # the run broke, in plain words
    saved = Signal(object)  # Run: the run folder is written and listed in the workspace
    save_failed = Signal(str)
    stop_requested = Signal()
    paused_changed = Signal(bool)
    cleared = Signal()  # the session forgot its run (Reset)
    phase_changed = Signal(str)
    _epoch_deferred = Signal()  # queued to itself, see _on_yielded

    def __init__(self, workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.trainer_class = Trainer  # tests may give a subclass (one that counts its batches, say)
        self.phase = "idle"
        self.trainer: Trainer | None = None
        self.worker: Worker | None = None
        self.thread: QThread | None = None
        self.run_name = ""
        self.run_folder = None
        self.launch: Launch | None = None
        self.last_result: TrainingResult | None = None
        self.history: list[EpochReport] = []  # the live run's reports as shown (the GUI thread's own copy)
        self.runs_started = len(workspace.runs)
        self._pending_batches: list[BatchProgress] = []
        self._epochs_to_show: list[EpochReport] = []
        self._live_edits: dict[str, float] = {}
        self._live_held = False
        self._saving: Iterator[None] | None = None
        self._save_worker: Worker | None = None
        self._save_thread: QThread | None = None
        self._failed = False
        self._plot_timer = self._timer(PLOT_INTERVAL_MS, self.flush_progress)
        self._live_timer = self._timer(LIVE_EDIT_DELAY_MS, self.apply_live_edits)
        self._save_timer = self._timer(0, self._save_next_step, single=False)
        self._epoch_deferred.connect(self._show_deferred_epochs, Qt.ConnectionType.QueuedConnection)

    def _timer(self, interval: int, slot, single: bool = True) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(single)
        timer.setInterval(interval)
        timer.timeout.connect(slot)
        return timer

    # -- state -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """A worker thread is training (or finishing)."""
        return self.worker is not None

    @property
    def busy(self) -> bool:
        """Training, or still saving the run that just ended."""
        return self.phase != "idle"

    @property
    def controllable(self) -> bool:
        """Pause and Stop act on the run now."""
        return self.phase in ("running", "paused")

    @property
    def can_continue(self) -> bool:
        """"+1 epoch" may train the kept run (not after a divergence nor a failure: weights may be broken)."""
        return (self.phase == "idle" and self.trainer is not None and self.last_result is not None
                and self.last_result.reason != "diverged")

    @property
    def live_edit_delay_ms(self) -> int:
        return self._live_timer.interval()

    @live_edit_delay_ms.setter
    def live_edit_delay_ms(self, ms: int) -> None:
        self._live_timer.setInterval(int(ms))

    def title(self, learning_rate: float | None = None) -> str:
        """The live run's name and its learning rate, "lr 0.001→0.1" once changed live."""
        if self.trainer is None:
            return ""
        started = self.trainer.config.learning_rate
        rate = f"{started:g}" if learning_rate in (None, started) else f"{started:g}→{learning_rate:g}"
        return f"{self.run_name} (lr {rate})"

    def describe(self, report: EpochReport) -> str:
        """How the model of ``report``'s epoch is named (in the sketch pad's caption, say)."""
        return f"{self.run_name}, epoch {report.epoch}, val acc {percent(report.val_accuracy, '–')}"

    def _set_phase(self, phase: str) -> None:
        if phase != self.phase:
            self.phase = phase
            self.phase_changed.emit(phase)

    # -- commands ----------------------------------------------------------------------------

    def start(self, config: TrainingConfig, split: Split, preset: str = "custom") -> bool:
        """Train a fresh network; False (and nothing started) when busy. Raises ValueError on a config
        the data cannot take."""
        if self.busy:
            return False
        trainer = self.trainer_class(config, split, build=False)  # its network is drawn on the worker thread
        self.trainer = trainer
        self.runs_started += 1
        self.run_name = f"{preset} #{self.runs_started}"
        self.run_folder = None
        self.last_result = None
        self.history = []
        self._launch(config.max_epochs, fresh=True)
        return True

    def continue_run(self, epochs: int = 1, live: dict[str, float] | None = None) -> bool:
        """Train the kept run ``epochs`` more, first applying ``live`` settings (learning_rate...)."""
        if not self.can_continue:
            return False
        self._live_timer.stop()
        self._live_edits.clear()
        for name, value in (live or {}).items():
            self._setter(name)(value)
        self._launch(epochs)
        return True

    def _launch(self, epochs: int, fresh: bool = False) -> None:
        # A Stop or Pause pressed as the last run ended is still set in the trainer: forget it, or it
        # would end (or hold) this run at its first batch. No thread drives the trainer now.
        self.launching.emit()
        trainer = self.trainer
        trainer.reset_controls()
        self._failed = False
        result = None if fresh else self.last_result
        restored = result.best_epoch if result and 0 < result.best_epoch < trainer.epoch else 0
        self.launch = Launch(self.run_name, trainer.config, trainer.epoch, trainer.epoch + epochs, restored)
        worker = Worker(lambda: training_job(trainer, None if fresh else epochs), name="training")
        worker.yielded.connect(self._on_yielded)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.thread = worker.start()
        self._set_phase("running")
        self.started.emit(self.launch)

    def set_paused(self, paused: bool) -> None:
        if not self.controllable or paused == (self.phase == "paused"):
            return
        if paused:
            self.trainer.pause()
        else:
            self.trainer.resume()
        self._set_phase("paused" if paused else "running")
        self.paused_changed.emit(paused)

    def stop(self) -> None:
        """Stop after the current batch, keeping the best weights so far."""
        if self.controllable:
            self.trainer.request_stop()
            self.stop_requested.emit()

    def reset(self) -> None:
        """Forget the kept run (it stays listed)."""
        if self.busy:
            return
        self.trainer = None
        self.run_folder = None
        self.last_result = None
        self.launch = None
        self.history = []
        self.cleared.emit()

    # Live settings reach the trainer (which applies them from the next batch) once they have rested
    # for live_edit_delay_ms, or at apply_live_edits (a slider let go): a drag across the learning-rate
    # slider, or a held arrow key, is one deliberate change with one marker, not one per value passed.
    def edit_live(self, name: str, value: float) -> None:
        if name not in LIVE_SETTINGS:
            raise ValueError(f"{name} cannot change during a run")
        if self.running:
            self._live_edits[name] = value
            self._live_timer.start()  # restarts the wait

    def _setter(self, name: str):
        return {"learning_rate": self.trainer.set_learning_rate, "momentum": self.trainer.set_momentum,
                "patience": self.trainer.set_patience, "dropout": self.trainer.set_dropout,
                "input_dropout": self.trainer.set_input_dropout, "augmentation": self.trainer.set_augmentation}[name]

    def hold_live_edits(self, held: bool) -> None:
        """While held (a slider is being dragged), live edits wait; letting go hands them over at once."""
        self._live_held = held
        if not held:
            self.apply_live_edits()

    @Slot()
    def apply_live_edits(self) -> None:
        """Hand the rested live edits to the trainer now (unless held)."""
        if self._live_held:
            return  # still dragging: the release applies the value it is let go at
        self._live_timer.stop()
        edits, self._live_edits = self._live_edits, {}
        if self.running:
            for name, value in edits.items():
                self._setter(name)(value)

    # -- the worker's reports (GUI thread) ---------------------------------------------------

    @Slot(object)
    def _on_yielded(self, event: object) -> None:
        if isinstance(event, BatchProgress):
            # Batch reports come at up to 20 Hz; panels redraw at PLOT_INTERVAL_MS, which keeps the
            # GUI thread (and its hold on the GIL) from slowing the training thread down.
            self._pending_batches.append(event)
            if not self._plot_timer.isActive():
                self._plot_timer.start()
        elif isinstance(event, EpochReport):
            # Two turns of the event loop instead of one: the batch trace now, the epoch's points in
            # the next, so neither holds the GUI thread much past 10 ms. The queued signal keeps the
            # order of the worker's own events, which were posted before it.
            self.flush_progress()
            self._epochs_to_show.append(event)
            self._epoch_deferred.emit()
        elif isinstance(event, BestNetwork):
            self.best_network_changed.emit(event.network, event.report)
        elif isinstance(event, SettingChanged):
            self.flush_progress()
            self.setting_changed.emit(event)
        elif isinstance(event, TrainingResult):
            self.flush_progress()
            self._show_deferred_epochs()  # the last epoch's points before the result
            self.last_result = event
            self._set_phase("ending")
            self.ended.emit(event)

    @Slot()
    def flush_progress(self) -> None:
        """Send the batch reports held back so far (as one ``progressed``)."""
        self._plot_timer.stop()
        pending, self._pending_batches = self._pending_batches, []
        if pending:
            self.progressed.emit(tuple(pending))

    @Slot()
    def _show_deferred_epochs(self) -> None:
        while self._epochs_to_show:
            report = self._epochs_to_show.pop(0)
            self.history.append(report)
            self.epoch_finished.emit(report)

    @Slot(str)
    def _on_errored(self, message: str) -> None:
        self.last_result = None
        self._failed = True
        self._set_phase("ending")
        self.failed.emit(message)

    @Slot()
    def _on_finished(self) -> None:
        """The job is over: wait for its thread, then save and list the run, a step per event-loop turn."""
        join(self.thread)
        self.worker = self.thread = None
        if self.trainer is not None and self.trainer.network is None:
            self.trainer = None  # its network could not be built (no memory): there is no run to keep
        self.flush_progress()
        self._show_deferred_epochs()
        result = self.last_result
        if result is None or self._failed:
            self._set_phase("idle")
            return
        self._saving = self._save_steps(result)
        self._set_phase("saving")
        self._save_timer.start()

    @Slot()
    def _save_next_step(self) -> None:
        try:
            next(self._saving)
        except StopIteration:
            self._save_timer.stop()
            self._saving = None
            if self._save_thread is None:  # nothing was handed to the saving worker
                self._set_phase("idle")

    def _save_steps(self, result: TrainingResult) -> Iterator[None]:
        """Save the run folder (model, checkpoints, history CSV, history picture) and list it.

        The picture is drawn here (QPainter: the GUI thread), in its own turn of the event loop; the
        files are written on a worker thread (plain data only: a snapshot of the trainer and the
        picture's pixels), so the window keeps painting while a run is written. The session stays
        ``saving`` until the run is listed (:meth:`_on_save_returned`).
        """
        from nnstudio.gui.history_png import draw_history, image_pixels

        if not result.epochs and result.reason != "diverged":
            return  # stopped before its first epoch ended: nothing to keep (a divergence is kept, to learn from)
        trainer, name, folder = SavedTrainer.of(self.trainer), self.run_name, self.run_folder
        picture = None
        if trainer.history:
            yield
            picture = image_pixels(draw_history(trainer.history, title=name))
        runs_root = self.workspace.runs_root
        worker = Worker(lambda: save_job(runs_root, folder, trainer, name, picture), name="saving")
        worker.returned.connect(self._on_save_returned)
        worker.errored.connect(self._on_save_errored)
        worker.finished.connect(self._on_save_finished)
        self._save_worker = worker
        self._save_thread = worker.start()

    @Slot(str)
    def _on_save_errored(self, message: str) -> None:  # an error the job did not foresee
        self._on_save_returned(SaveOutcome(None, self.run_folder, f"The run could not be saved: {message}"))

    @Slot(object)
    def _on_save_returned(self, outcome: SaveOutcome) -> None:
        self.run_folder = outcome.folder
        if outcome.run is None:
            self.save_failed.emit(outcome.error)
            return
        self.workspace.add_run(outcome.run)
        self.saved.emit(outcome.run)

    @Slot()
    def _on_save_finished(self) -> None:
        join(self._save_thread)
        self._save_worker = self._save_thread = None
        self._set_phase("idle")

    # -- closing -------------------------------------------------------------------------------

    def shutdown(self, timeout_ms: int) -> bool:
        """Stop a run (keeping it) and finish saving it, waiting up to ``timeout_ms`` for its thread.

        False when the thread has not ended by then (a batch of a huge network): the session then
        ends the run and saves it by itself, and its phase goes ``idle`` once it has.
        """
        if self.running:
            self.trainer.request_stop()
            if not join(self.thread, timeout_ms):
                return False
            # Deliver the worker's last queued reports now, so the stopped run is saved and listed.
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        while self._saving is not None:
            self._save_next_step()
        if self._save_thread is not None:  # the files are being written: wait, then list the run
            if not join(self._save_thread, timeout_ms):
                return False
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        return True
