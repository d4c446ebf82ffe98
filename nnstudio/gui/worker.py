"""The bridge between the training thread and the GUI: a worker that turns trainer events into signals.

It is the only object that crosses threads. Everything it emits is plain data the receiver
may keep: the trainer's frozen reports, and a fresh copy of the network whenever the best
weights so far change, with the epoch's report that names them (made in the worker thread,
between two epochs, while nothing writes the network). The GUI controls the run through the trainer's own thread-safe methods
(``pause``, ``request_stop``, ``set_learning_rate``...), never through this object.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThread, Signal, Slot
from threadpoolctl import threadpool_limits

from nnstudio.core.reports import BatchProgress, EpochReport, SettingChanged, TrainingResult
from nnstudio.core.trainer import Trainer
from nnstudio.gui.threads import start_in_thread

log = logging.getLogger(__name__)


class TrainingWorker(QObject):
    """Runs ``trainer.run(max_epochs)`` and emits each event it yields."""

    started = Signal()
    batch_progressed = Signal(object)  # BatchProgress, at most ~20 per second
    epoch_finished = Signal(object)  # EpochReport
    best_network_changed = Signal(object, object)  # Network (a copy of the best weights so far), its EpochReport
    setting_changed = Signal(object)  # SettingChanged: a live change the trainer applied
    finished = Signal(object)  # TrainingResult
    failed = Signal(str)  # why the run broke, in plain words
    done = Signal()  # the job is over, however it ended (quits the thread)

    def __init__(self, trainer: Trainer) -> None:
        super().__init__()
        self.trainer = trainer

    def request_stop(self) -> None:
        """Stop the run at the next batch boundary (any thread), even before its first batch."""
        self.trainer.request_stop()

    def start(self, max_epochs: int) -> QThread:
        """Run ``max_epochs`` epochs on a new thread; returns the thread."""
        return start_in_thread(self, "run", (int, max_epochs))

    @Slot(int)
    def run(self, max_epochs: int) -> None:
        self.started.emit()
        try:
            # One BLAS thread: with two, BLAS spins against the GUI thread's painting on a 2-core machine.
            with threadpool_limits(1):
                for event in self.trainer.run(max_epochs):
                    self._emit(event)
        except Exception as exc:  # the GUI shows the reason; the log keeps the traceback
            log.exception("training failed")
            self.failed.emit(str(exc) or type(exc).__name__)
        finally:
            self.done.emit()

    def _emit(self, event) -> None:
        if isinstance(event, BatchProgress):
            self.batch_progressed.emit(event)
        elif isinstance(event, EpochReport):
            if event.improved:
                # The generator is suspended at its yield: the network is not being written now.
                self.best_network_changed.emit(self.trainer.network.copy(), event)
            self.epoch_finished.emit(event)
        elif isinstance(event, SettingChanged):
            self.setting_changed.emit(event)
        elif isinstance(event, TrainingResult):
            self.finished.emit(event)
