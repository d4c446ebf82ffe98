"""The generic worker on its own thread: a training job's events arrive as plain data, controls act within
one batch, and any generator job reports what it yields, returns or raises."""

from __future__ import annotations


import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal, Slot

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split
from nnstudio.core.network import Network
from nnstudio.core.reports import BatchProgress, EpochReport, SettingChanged, TrainingResult
from nnstudio.core.trainer import Trainer
from nnstudio.gui.training_job import BestNetwork, training_job
from nnstudio.gui.worker import Worker, is_running


class CountingTrainer(Trainer):
    """A trainer that counts the batches it has started (read from the GUI thread)."""

    batches_started = 0

    def _batch_inputs(self, index, *where):
        self.batches_started += 1
        return super()._batch_inputs(index, *where)


KINDS = {BatchProgress: "batch", EpochReport: "epoch", BestNetwork: "network", SettingChanged: "setting",
         TrainingResult: "finished"}


class Recorder(QObject):
    """Lives in the GUI thread: records what the worker sent and relays its end as a GUI-thread signal."""

    ended = Signal()

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.events: list[tuple[str, object]] = []
        worker.started.connect(self.on_started)
        worker.yielded.connect(self.on_yielded)
        worker.returned.connect(self.on_returned)
        worker.errored.connect(self.on_failed)
        worker.finished.connect(self.on_done)

    def of(self, kind: str) -> list:
        return [payload for k, payload in self.events if k == kind]

    @Slot()
    def on_started(self):
        self.events.append(("started", None))

    @Slot(object)
    def on_yielded(self, value):
        kind = KINDS.get(type(value), "value")
        if isinstance(value, BestNetwork):
            value = (value.network, value.report)
        self.events.append((kind, value))

    @Slot(object)
    def on_returned(self, value):
        self.events.append(("returned", value))

    @Slot(str)
    def on_failed(self, message):
        self.events.append(("failed", message))

    @Slot()
    def on_done(self):
        self.events.append(("done", None))
        self.ended.emit()


def training_worker(trainer, epochs):
    return Worker(lambda: training_job(trainer, epochs), name="training")


def run_worker(qtbot, trainer, epochs, timeout=60_000):
    worker = training_worker(trainer, epochs)
    recorder = Recorder(worker)
    with qtbot.waitSignal(recorder.ended, timeout=timeout):
        thread = worker.start()
    assert thread.wait(5000)
    return recorder


def test_any_generator_job_reports_its_values_its_return_value_and_its_failure(qtbot):
    def counting():
        for i in range(3):
            yield i
        return "done"

    def broken():
        yield 1
        raise ValueError("a bad input")

    for job, expected in ((counting, [("started", None), ("value", 0), ("value", 1), ("value", 2),
                                      ("returned", "done"), ("done", None)]),
                          (broken, [("started", None), ("value", 1), ("failed", "a bad input"), ("done", None)])):
        worker = Worker(job, name=job.__name__)
        recorder = Recorder(worker)
        with qtbot.waitSignal(recorder.ended, timeout=60_000):
            thread = worker.start()
        assert thread.wait(5000)
        assert recorder.events == expected


def test_a_run_reports_every_epoch_and_its_result_as_plain_data(qtbot, small_split):
    trainer = Trainer(TrainingConfig(max_epochs=3, patience=0), small_split)
    recorder = run_worker(qtbot, trainer, 3)
    kinds = [k for k, _ in recorder.events]
    assert kinds[0] == "started" and kinds[-3:] == ["finished", "returned", "done"]
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
    worker = training_worker(trainer, 50)
    recorder = Recorder(worker)
    thread = worker.start()
    qtbot.waitUntil(lambda: trainer.batches_started > 50)

    trainer.pause()
    at_pause = trainer.batches_started
    qtbot.wait(300)
    assert trainer.batches_started - at_pause <= 1
    assert is_running(thread)

    paused_at = trainer.batches_started
    trainer.resume()
    qtbot.waitUntil(lambda: trainer.batches_started > paused_at + 20)

    with qtbot.waitSignal(recorder.ended, timeout=60_000):
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
    worker = training_worker(trainer, 50)
    recorder = Recorder(worker)
    worker.start()
    qtbot.waitUntil(lambda: trainer.batches_started > 10)
    trainer.pause()
    qtbot.wait(50)  # (a stop must wake the run however long it has been paused)
    with qtbot.waitSignal(recorder.ended, timeout=60_000):
        trainer.request_stop()
    assert recorder.of("finished")[0].reason == "stopped"


def test_a_live_learning_rate_change_applies_from_the_next_batch(qtbot, small_split):
    trainer = long_run(small_split)
    worker = training_worker(trainer, 50)
    recorder = Recorder(worker)
    worker.start()
    qtbot.waitUntil(lambda: trainer.batches_started > 10)
    trainer.set_learning_rate(0.05)
    at_change = trainer.batches_started
    qtbot.waitUntil(lambda: bool(recorder.of("setting")))
    with qtbot.waitSignal(recorder.ended, timeout=60_000):
        trainer.request_stop()
    (change,) = recorder.of("setting")
    assert (change.name, change.old, change.new) == ("learning_rate", 0.01, 0.05)
    assert trainer.learning_rate == 0.05
    # Applied at the next batch boundary: the batch after the one running when the change was asked for.
    applied_at = (change.epoch - 1) * BATCHES + change.batch  # batches started before the change applied
    assert at_change <= applied_at <= at_change + 1 and change.batches == BATCHES
