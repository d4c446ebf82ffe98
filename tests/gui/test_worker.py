"""The training worker on its own thread: events arrive as plain data, controls act within one batch."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal, Slot

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split
from nnstudio.core.network import Network
from nnstudio.core.trainer import Trainer
from nnstudio.gui.threads import is_running
from nnstudio.gui.worker import TrainingWorker


class CountingTrainer(Trainer):
    """A trainer that counts the batches it has started (read from the GUI thread)."""

    batches_started = 0

    def _batch_inputs(self, index):
        self.batches_started += 1
        return super()._batch_inputs(index)


class Recorder(QObject):
    """Lives in the GUI thread: records what the worker sent and relays it as GUI-thread signals."""

    epoch_seen = Signal(object)
    ended = Signal()

    def __init__(self, worker: TrainingWorker) -> None:
        super().__init__()
        self.events: list[tuple[str, object]] = []
        worker.started.connect(self.on_started)
        worker.batch_progressed.connect(self.on_batch)
        worker.epoch_finished.connect(self.on_epoch)
        worker.best_network_changed.connect(self.on_network)
        worker.setting_changed.connect(self.on_setting)
        worker.finished.connect(self.on_finished)
        worker.failed.connect(self.on_failed)
        worker.done.connect(self.on_done)

    def of(self, kind: str) -> list:
        return [payload for k, payload in self.events if k == kind]

    @Slot()
    def on_started(self):
        self.events.append(("started", None))

    @Slot(object)
    def on_batch(self, progress):
        self.events.append(("batch", progress))

    @Slot(object)
    def on_epoch(self, report):
        self.events.append(("epoch", report))
        self.epoch_seen.emit(report)

    @Slot(object, object)
    def on_network(self, network, report):
        self.events.append(("network", (network, report)))

    @Slot(object)
    def on_setting(self, change):
        self.events.append(("setting", change))

    @Slot(object)
    def on_finished(self, result):
        self.events.append(("finished", result))

    @Slot(str)
    def on_failed(self, message):
        self.events.append(("failed", message))

    @Slot()
    def on_done(self):
        self.events.append(("done", None))
        self.ended.emit()


def run_worker(qtbot, trainer, epochs, timeout=20_000):
    worker = TrainingWorker(trainer)
    recorder = Recorder(worker)
    with qtbot.waitSignal(recorder.ended, timeout=timeout):
        thread = worker.start(epochs)
    assert thread.wait(5000)
    return recorder


def test_a_run_reports_every_epoch_and_its_result_as_plain_data(qtbot, small_split):
    trainer = Trainer(TrainingConfig(max_epochs=3, patience=0), small_split)
    recorder = run_worker(qtbot, trainer, 3)
    kinds = [k for k, _ in recorder.events]
    assert kinds[0] == "started" and kinds[-2:] == ["finished", "done"]
    epochs = recorder.of("epoch")
    assert [r.epoch for r in epochs] == [1, 2, 3]
    assert recorder.of("batch")[-1].batch == recorder.of("batch")[-1].batches  # each epoch's batches end
    result = recorder.of("finished")[0]
    assert result.reason == "max_epochs" and result.epochs == 3 and result.test_accuracy > 0.6
    # One copy of the best network per improvement, never the trainer's own arrays.
    handed = recorder.of("network")
    networks = [network for network, _ in handed]
    assert len(networks) == sum(r.improved for r in epochs) >= 1
    assert all(isinstance(n, Network) and n.weights[0] is not trainer.network.weights[0] for n in networks)
    # Each copy comes with the report of the epoch whose weights it holds.
    assert [report for _, report in handed] == [r for r in epochs if r.improved]
    for network, report in handed:
        assert network.evaluate(small_split.x_val, small_split.y_val)[1] == pytest.approx(report.val_accuracy)
    assert networks[-1].evaluate(small_split.x_val, small_split.y_val)[1] == pytest.approx(result.best_val_accuracy)


def test_one_more_epoch_continues_the_same_trainer(qtbot, small_split):
    trainer = Trainer(TrainingConfig(max_epochs=2, patience=0), small_split)
    run_worker(qtbot, trainer, 2)
    recorder = run_worker(qtbot, trainer, 1)
    assert [r.epoch for r in recorder.of("epoch")] == [3]
    assert recorder.of("finished")[0].epochs == 3


def test_a_failing_run_reports_why_without_a_traceback(qtbot, small_split):
    broken = Split(small_split.x_train, np.full_like(small_split.y_train, 12), small_split.x_val,
                   small_split.y_val, small_split.x_test, small_split.y_test)  # labels beyond the 10 classes
    recorder = run_worker(qtbot, Trainer(TrainingConfig(max_epochs=1), broken), 1)
    (message,) = recorder.of("failed")
    assert "index 12" in message and "Traceback" not in message
    assert not recorder.of("finished") and recorder.of("done")


BATCHES = 2000  # an epoch of long_run: a busy machine may take it in well under a second


def long_run(small_split):
    """Batch size 1: 2000 batches an epoch, so a test can watch single batches."""
    return CountingTrainer(TrainingConfig(batch_size=1, max_epochs=50, patience=0, learning_rate=0.01), small_split)


def test_pause_resume_and_stop_act_within_one_batch(qtbot, small_split):
    trainer = long_run(small_split)
    worker = TrainingWorker(trainer)
    recorder = Recorder(worker)
    thread = worker.start(50)
    qtbot.waitUntil(lambda: trainer.batches_started > 50)

    trainer.pause()
    at_pause = trainer.batches_started
    qtbot.wait(300)
    assert trainer.batches_started - at_pause <= 1
    assert is_running(thread)

    paused_at = trainer.batches_started
    trainer.resume()
    qtbot.waitUntil(lambda: trainer.batches_started > paused_at + 20)

    with qtbot.waitSignal(recorder.ended, timeout=10_000):
        trainer.request_stop()
        at_stop = trainer.batches_started
    assert trainer.batches_started - at_stop <= 1
    result = recorder.of("finished")[0]
    # The epochs done when Stop came (how many depends on the machine's speed), none after it.
    assert result.reason == "stopped" and result.epochs == len(trainer.history)
    assert result.epochs * BATCHES <= trainer.batches_started <= (result.epochs + 1) * BATCHES
    assert thread.wait(5000)


def test_stop_wakes_a_paused_run(qtbot, small_split):
    trainer = long_run(small_split)
    worker = TrainingWorker(trainer)
    recorder = Recorder(worker)
    worker.start(50)
    qtbot.waitUntil(lambda: trainer.batches_started > 10)
    trainer.pause()
    time.sleep(0.05)
    with qtbot.waitSignal(recorder.ended, timeout=10_000):
        trainer.request_stop()
    assert recorder.of("finished")[0].reason == "stopped"


def test_a_live_learning_rate_change_applies_from_the_next_batch(qtbot, small_split):
    trainer = long_run(small_split)
    worker = TrainingWorker(trainer)
    recorder = Recorder(worker)
    worker.start(50)
    qtbot.waitUntil(lambda: trainer.batches_started > 10)
    trainer.set_learning_rate(0.05)
    at_change = trainer.batches_started
    qtbot.waitUntil(lambda: bool(recorder.of("setting")))
    with qtbot.waitSignal(recorder.ended, timeout=10_000):
        trainer.request_stop()
    (change,) = recorder.of("setting")
    assert (change.name, change.old, change.new) == ("learning_rate", 0.01, 0.05)
    assert trainer.learning_rate == 0.05
    # Applied at the next batch boundary: the batch after the one running when the change was asked for.
    applied_at = (change.epoch - 1) * BATCHES + change.batch  # batches started before the change applied
    assert at_change <= applied_at <= at_change + 1 and change.batches == BATCHES
