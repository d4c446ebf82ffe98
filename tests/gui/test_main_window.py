"""The dashboard driven as a user would: clicks, typing, shortcuts, on small real MNIST subsets."""

from __future__ import annotations

import csv
import re
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QObject, QPoint, Qt, QTimer, Slot
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QFileDialog, QMessageBox, QScrollArea, QStyle,
                               QStyleOptionSlider, QWidget)

import nnstudio.gui.data_dialogs as data_dialogs
from nnstudio.core.config import PRESETS
from nnstudio.core.download import DownloadCancelled, DownloadError
from nnstudio.core.formatting import percent, time_left
from nnstudio.core.idx import idx_header
from nnstudio.core.model_file import load_model
from nnstudio.core.png_file import read_png
from nnstudio.core.run_folder import list_runs
from nnstudio.core.trainer import Trainer
from nnstudio.gui.about import about_html
from nnstudio.gui.panels.training_form import TRY_THIS
from nnstudio.gui.run_session import LIVE_EDIT_DELAY_MS
from nnstudio.gui.runs_panel import SETTINGS_COLUMN, duration
from nnstudio.gui.runs_panel import percent as list_percent
from nnstudio.gui.worker import running_threads
from nnstudio.resources import BUNDLED_MODEL
from driving import retype, run_ends

LEFT = Qt.MouseButton.LeftButton


class CountingTrainer(Trainer):
    """A trainer that counts the batches it has started, so a test can see single batches."""

    batches_started = 0

    def _batch_inputs(self, index, *where):
        self.batches_started += 1
        return super()._batch_inputs(index, *where)


class WaitsForALiveChange(Trainer):
    """A trainer that, before its 65th batch, waits until a live learning-rate change is requested: the
    change then lands at the same batch however busy the machine is (the GUI may see batches late).
    Before its 150th batch, enough for the test, it waits for Stop rather than train on for nothing."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches_started = 0
        self.change_requested = threading.Event()
        self.stop_requested = threading.Event()

    def set_learning_rate(self, value):
        super().set_learning_rate(value)
        self.change_requested.set()

    def request_stop(self):
        super().request_stop()
        self.stop_requested.set()

    def _batch_inputs(self, index, *where):
        self.batches_started += 1
        if self.batches_started == 65:
            self.change_requested.wait(timeout=120)
        elif self.batches_started == 150:
            self.stop_requested.wait(timeout=120)
        return super()._batch_inputs(index, *where)


@pytest.fixture
def counting(window):
    window.session.trainer_class = CountingTrainer


def configure(qtbot, window, *, epochs=None, batch=None, patience=None, rate=None) -> None:
    c = window.controls
    for box, value in ((c.max_epochs_box, epochs), (c.batch_size_box, batch), (c.patience_box, patience),
                       (c.learning_rate_box, rate)):
        if value is not None:
            retype(qtbot, box, str(value))


def train(qtbot, window, timeout=60_000):
    """Click Start and wait until the run has ended and is listed; returns the result."""
    with run_ends(qtbot, window, timeout) as end:
        qtbot.mouseClick(window.train.start_button, LEFT)
    return end.args[0]


def message_boxes(window, name="errorBox"):
    return [b for b in window.findChildren(QMessageBox, name) if b.isVisible()]


def test_start_plots_one_point_per_epoch_and_saves_the_run(qtbot, window, tmp_path):
    configure(qtbot, window, epochs=3, patience=0)
    shown = []
    window.session.epoch_finished.connect(shown.append)
    result = train(qtbot, window)
    assert [r.epoch for r in shown] == [1, 2, 3]
    x, y = window.train.plots.val_acc_curve.getData()
    assert list(x) == [1, 2, 3]
    assert list(y) == pytest.approx([100 * r.val_accuracy for r in shown])
    assert result.reason == "max_epochs" and result.test_accuracy > 0.7
    assert result.message == "reached the maximum of 3 epochs"  # not "trained 3 more epochs"
    assert "Epoch 3 of 3" in window.status.epoch_label.text()
    assert window.train.start_button.isEnabled() and not window.train.stop_button.isEnabled()
    # The run is saved in the runs folder and listed.
    runs, problems = list_runs(tmp_path / "runs")
    assert len(runs) == 1 and not problems
    folder = runs[0].folder
    assert (folder / "model.npz").is_file() and (folder / "history.csv").is_file()
    assert (folder / "training_history.png").stat().st_size > 1000
    assert [r.folder for r in window.train.runs_panel.runs()] == [folder]
    # The sketch panel got the best network of the run.
    assert window.session.run_name in window.sketch_panel.caption.text()


def test_progress_bar_and_status_show_the_epoch(qtbot, window):
    configure(qtbot, window, epochs=50, batch=8)
    latest = []  # the last report of each progressed: a lagging window may take two in one turn
    window.session.progressed.connect(lambda reports: latest.append(reports[-1]))
    with qtbot.waitSignal(window.session.progressed, timeout=60_000):
        qtbot.mouseClick(window.train.start_button, LEFT)
    bar = window.status.progress_bar
    assert bar.value() == int(100 * latest[-1].fraction)  # whole percent of the epoch
    # The epoch under way or just finished (epochs of this small set may end within one batching interval).
    shown = re.fullmatch(r"epoch (\d+) of 50: \d+% · .+ left", bar.format())
    assert shown, bar.format()
    assert int(shown[1]) == latest[-1].epoch  # the epoch under way, as last reported
    with qtbot.waitSignal(window.session.epoch_finished, timeout=60_000):
        pass
    assert "best" in window.status.epoch_label.text() and "patience" in window.status.epoch_label.text()
    assert " · lr " not in window.status.epoch_label.text(), "a constant rate is in the title already"
    with run_ends(qtbot, window, 60_000):
        qtbot.mouseClick(window.train.stop_button, LEFT)
    # Stopped partway: the bar says so and stays where the run stopped, not "done" at 100%.
    stopped = window.session.last_result
    assert bar.format() == f"stopped at epoch {stopped.epochs + 1}"


def test_the_time_left_is_the_runs_not_the_epochs():
    from nnstudio.core.reports import BatchProgress
    from nnstudio.gui.panels.status import run_time_left

    halfway = BatchProgress(epoch=2, batch=50, batches=100, first_batch=0, losses=np.zeros(50), seconds=3.0)
    # 3 s more for this epoch, then 8 epochs at the 5 s the finished epoch took.
    assert run_time_left(halfway, 10, [5.0]) == pytest.approx(3.0 + 8 * 5.0)
    assert run_time_left(halfway, 2, [5.0]) == pytest.approx(3.0)
    first = BatchProgress(epoch=1, batch=25, batches=100, first_batch=0, losses=np.zeros(25), seconds=1.0)
    assert run_time_left(first, 3, []) == pytest.approx(3.0 + 2 * 4.0)  # before any epoch: this one's pace


def test_a_scheduled_learning_rate_is_shown_as_it_changes(qtbot, make_window, small_split):
    window = make_window(split=small_split.head(500, 200, 100))
    window.controls.schedule_combo.setCurrentText("cosine")
    configure(qtbot, window, epochs=3, patience=0)
    shown = []
    window.session.epoch_finished.connect(lambda report: shown.append(window.status.epoch_label.text()))
    result = train(qtbot, window)
    rates = [report.learning_rate for report in result.history]
    assert rates[0] > rates[1] > rates[2]
    assert [text.split(" · lr ")[1] for text in shown] == [f"{rate:.3g}" for rate in rates]


def test_pause_resume_and_stop_buttons_act_within_one_batch(qtbot, window, counting):
    configure(qtbot, window, epochs=50, batch=1, rate="1e-2")
    qtbot.mouseClick(window.train.start_button, LEFT)
    trainer = window.session.trainer
    qtbot.waitUntil(lambda: trainer.batches_started > 50)

    qtbot.mouseClick(window.train.pause_button, LEFT)
    at_pause = trainer.batches_started
    assert trainer.paused and window.run_actions.pause.text() == "Resume"
    qtbot.wait(300)
    assert trainer.batches_started - at_pause <= 1

    qtbot.mouseClick(window.train.pause_button, LEFT)
    assert not trainer.paused and window.run_actions.pause.text() == "Pause"
    qtbot.waitUntil(lambda: trainer.batches_started > at_pause + 50)

    with run_ends(qtbot, window, 60_000) as blocker:
        qtbot.mouseClick(window.train.stop_button, LEFT)
        at_stop = trainer.batches_started
    assert trainer.batches_started - at_stop <= 1
    assert blocker.args[0].reason == "stopped"
    assert window.train.start_button.isEnabled()


def test_a_live_learning_rate_change_reaches_the_trainer_and_is_marked(qtbot, window):
    configure(qtbot, window, epochs=50, batch=1, rate="1e-2")
    with qtbot.waitSignal(window.session.progressed, timeout=60_000):
        qtbot.mouseClick(window.train.start_button, LEFT)
    assert not window.controls.hidden_edit.isEnabled()  # the network's shape is fixed during a run
    with qtbot.waitSignal(window.session.setting_changed, timeout=60_000) as blocker:
        retype(qtbot, window.controls.learning_rate_box, "3e-2")
    change = blocker.args[0]
    assert (change.name, change.old, change.new) == ("learning_rate", 0.01, 0.03)
    assert window.session.trainer.learning_rate == 0.03
    assert window.train.plots.change_positions() == [pytest.approx(change.position)]
    assert "(lr 0.01→0.03)" in window.train.plots.title_label.text()
    with qtbot.waitSignal(window.session.epoch_finished, timeout=60_000):
        pass  # a run is kept once it has an epoch
    with run_ends(qtbot, window, 60_000):
        qtbot.mouseClick(window.train.stop_button, LEFT)
    # The runs list shows the run as it ended, not only as it started.
    (run,) = window.train.runs_panel.runs()
    assert window.train.runs_panel.item_of(run.folder).text(SETTINGS_COLUMN).startswith("lr 0.01→0.03 · ")
    assert "(lr 0.01→0.03)" in window.train.plots.title_label.text()


def test_early_stopping_ends_the_run_and_marks_the_best_epoch(qtbot, window):
    configure(qtbot, window, epochs=60, patience=2, rate=1)
    result = train(qtbot, window)
    assert result.reason == "early_stopping"
    assert result.epochs == result.best_epoch + 2 < 60
    assert window.train.plots.best_marker.value() == result.best_epoch and window.train.plots.best_marker.isVisible()
    assert len(window.train.plots.val_loss_curve.getData()[0]) == result.epochs
    assert "early stopping" in window.status.status_label.text()


def test_one_more_epoch_continues_the_finished_run(qtbot, window):
    configure(qtbot, window, epochs=2, patience=0)
    train(qtbot, window)
    folder = window.session.run_folder
    with run_ends(qtbot, window, 60_000) as blocker:
        qtbot.mouseClick(window.train.one_more_button, LEFT)
    assert blocker.args[0].epochs == 3
    assert "Epoch 3 of 3" in window.status.epoch_label.text()  # the epochs this launch trains up to
    assert len(window.train.plots.val_acc_curve.getData()[0]) == 3
    assert [len(r.history) for r in window.train.runs_panel.runs()] == [3]  # the same run, updated
    assert window.session.run_folder == folder

    qtbot.mouseClick(window.train.reset_button, LEFT)
    assert window.session.trainer is None and not window.train.one_more_button.isEnabled()
    assert window.status.epoch_label.text() == "" and window.status.progress_bar.format() == "idle"
    assert window.train.plots.val_acc_curve.getData()[0] is None or len(window.train.plots.val_acc_curve.getData()[0]) == 0


def test_one_more_epoch_after_an_early_stop_goes_on_from_the_restored_best_epoch_and_marks_it(
        qtbot, make_window, small_split):
    window = make_window(split=small_split.head(600, 300, 100))
    configure(qtbot, window, epochs=60, patience=1, rate=1)
    first = train(qtbot, window)
    assert first.reason == "early_stopping" and first.best_epoch < first.epochs
    best = window.session.history[first.best_epoch - 1]
    with run_ends(qtbot, window) as end:
        qtbot.mouseClick(window.train.one_more_button, LEFT)
    assert end.args[0].epochs == first.epochs + 1
    plots = window.train.plots
    assert plots.restored_at == [first.epochs]
    x, y = plots.val_acc_curve.getData()
    # The curve breaks after the early stop and goes on from the restored epoch's figures.
    assert np.isnan(x[-3]) and list(x[-2:]) == [first.epochs, first.epochs + 1]
    assert y[-2] == pytest.approx(100 * best.val_accuracy)
    line = [item for item in plots.accuracy_plot.items if getattr(item, "label", None) is not None
            and item.label.toPlainText() == f"restored epoch {first.best_epoch}"]
    assert len(line) == 1 and line[0].value() == first.epochs


def test_invalid_hidden_layers_disable_start_until_fixed(qtbot, window):
    assert window.train.start_button.isEnabled()
    edit = window.controls.hidden_edit
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_End)
    qtbot.keyClicks(edit, ",0")
    assert not window.train.start_button.isEnabled() and not window.run_actions.start.isEnabled()
    assert "1 to 8192" in window.controls.problems_label.text()
    assert window.train.start_reason.isVisible()
    qtbot.mouseClick(window.train.start_button, LEFT)
    assert window.session.trainer is None
    qtbot.keyClicks(edit, "16")  # 128,64,016
    assert window.train.start_button.isEnabled()


def test_space_starts_and_pauses_but_not_in_a_text_field(qtbot, window):
    configure(qtbot, window, epochs=50, batch=1)
    edit = window.controls.hidden_edit
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_End)
    qtbot.keyClick(edit, Qt.Key.Key_Space)
    assert window.session.trainer is None and edit.text() == "128,64 "

    window.train.plots.setFocus()
    with qtbot.waitSignal(window.session.started, timeout=5000):
        qtbot.keyClick(window.train.plots, Qt.Key.Key_Space)
    qtbot.keyClick(window.train.plots, Qt.Key.Key_Space)
    assert window.session.trainer.paused
    # Esc on the sketch pad clears the pad and leaves the run alone; elsewhere it stops the run.
    window.sketch_panel.pad.setFocus()
    qtbot.keyClick(window.sketch_panel.pad, Qt.Key.Key_Escape)
    assert window.session.running
    window.train.plots.setFocus()
    with run_ends(qtbot, window, 60_000) as blocker:
        qtbot.keyClick(window.train.plots, Qt.Key.Key_Escape)
    assert blocker.args[0].reason == "stopped"


def test_closing_during_training_stops_and_keeps_the_run(qtbot, window, tmp_path):
    configure(qtbot, window, epochs=50, batch=4)
    with qtbot.waitSignal(window.session.epoch_finished, timeout=60_000):
        qtbot.mouseClick(window.train.start_button, LEFT)
    assert running_threads()
    window.close()
    assert not running_threads()
    runs, _ = list_runs(tmp_path / "runs")
    assert len(runs) == 1 and runs[0].summary["reason"] == "stopped"


def test_a_failing_run_shows_the_reason_in_a_dialog(qtbot, window, monkeypatch, caplog):
    def broken_epoch(self):
        raise MemoryError("Unable to allocate 1.31 GiB for an array with shape (6000, 6000)")
        yield  # pragma: no cover

    window.session.trainer_class = type("BrokenTrainer", (Trainer,), {"_train_epoch": broken_epoch})
    with qtbot.waitSignal(window.session.failed, timeout=60_000) as blocker:
        qtbot.mouseClick(window.train.start_button, LEFT)
    reason = "Not enough memory: Unable to allocate 1.31 GiB for an array with shape (6000, 6000)"
    assert blocker.args == [reason]
    (box,) = message_boxes(window)
    assert reason in box.text() and "Traceback" not in box.text()
    assert "Traceback" in caplog.text  # the log keeps the details
    box.close()
    qtbot.waitUntil(lambda: window.train.start_button.isEnabled())
    assert window.status.status_label.text() == f"{window.session.run_name} failed: {reason}"
    # The weights may be half-updated: no "+1 epoch" on them, but Reset and Start.
    assert not window.train.one_more_button.isEnabled() and window.train.reset_button.isEnabled()


def test_export_writes_the_history_csv_and_the_plot_png(qtbot, window, tmp_path, monkeypatch):
    configure(qtbot, window, epochs=2, patience=0)
    train(qtbot, window)
    targets = iter([tmp_path / "out" / "history.csv", tmp_path / "out" / "plots.png"])
    (tmp_path / "out").mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(next(targets)), ""))
    window.file_actions.export_csv.trigger()
    window.file_actions.export_png.trigger()
    with open(tmp_path / "out" / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["val_accuracy"]) == window.session.trainer.history[1].val_accuracy
    png = (tmp_path / "out" / "plots.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_save_and_load_a_model(qtbot, window, tmp_path, monkeypatch):
    configure(qtbot, window, epochs=1)
    train(qtbot, window)
    path = tmp_path / "mine.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.file_actions.save_model.trigger()
    assert path.is_file()
    window.file_actions.load_model.trigger()
    assert window.session.run_name in window.sketch_panel.caption.text()
    path.write_bytes(b"not a model")
    window.file_actions.load_model.trigger()
    (box,) = message_boxes(window)
    assert "not an nnstudio model file" in box.text()
    box.close()


def test_missing_data_offers_download_or_a_folder(qtbot, make_window, tmp_path, mnist_dir, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    window = make_window(data_dir=empty)
    qtbot.waitUntil(lambda: window.banner.isVisible())
    assert "No MNIST" in window.banner.message.text()
    assert not window.train.start_button.isEnabled() and "download" in window.train.start_reason.text().lower()
    # The sketch pad works meanwhile, with the bundled model.
    bundled = load_model(BUNDLED_MODEL)
    accuracy = bundled.metadata.get("test_accuracy")
    note = f", {accuracy:.1%} on the test set" if isinstance(accuracy, float) else ""
    shape = "–".join(str(size) for size in bundled.network.sizes)
    assert window.sketch_panel.network.sizes == bundled.network.sizes
    assert window.sketch_panel.caption.text() == f"Model: bundled with nnstudio{note} ({shape})"

    # A folder without MNIST: a dialog says why, the offer stays.
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(empty))
    qtbot.mouseClick(window.banner.choose_button, LEFT)
    (box,) = message_boxes(window)
    assert "missing" in box.text()
    box.close()
    assert window.banner.isVisible()

    # The right folder: data loads, the offer goes, Start can be pressed, and the folder is remembered.
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(mnist_dir))
    with qtbot.waitSignal(window.workspace.data_changed, timeout=60_000):
        qtbot.mouseClick(window.banner.choose_button, LEFT)
    assert not window.banner.isVisible() and window.train.start_button.isEnabled()
    assert len(window.workspace.split.x_train) == 54000
    assert window.settings.data_dir == mnist_dir


def test_a_cancelled_download_leaves_no_thread(qtbot, make_window, tmp_path, monkeypatch):
    def slow_download(dest, *, progress, cancel):
        progress(0, 100)
        cancel.wait(10)
        raise DownloadCancelled("cancelled")

    monkeypatch.setattr(data_dialogs, "download_mnist", slow_download)
    window = make_window(data_dir=tmp_path / "nowhere")
    qtbot.waitUntil(lambda: window.banner.isVisible())
    qtbot.mouseClick(window.banner.download_button, LEFT)
    dialog = window.banner.download_dialog
    qtbot.waitUntil(lambda: dialog.isVisible())
    assert running_threads()
    qtbot.mouseClick(dialog.findChild(data_dialogs.QPushButton), LEFT)  # Cancel
    qtbot.waitUntil(lambda: not running_threads())
    assert window.banner.isVisible() and not message_boxes(window)
    assert window.banner.download_dialog is None

    # Download works again after a cancel, and Esc cancels too.
    qtbot.mouseClick(window.banner.download_button, LEFT)
    again = window.banner.download_dialog
    assert again is not None and again is not dialog
    qtbot.waitUntil(lambda: again.isVisible())
    assert running_threads()
    qtbot.keyClick(again, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not running_threads())
    assert window.banner.download_dialog is None and not message_boxes(window)
    qtbot.mouseClick(window.banner.download_button, LEFT)
    assert window.banner.download_dialog is not None
    qtbot.keyClick(window.banner.download_dialog, Qt.Key.Key_Escape)


def test_a_failed_download_says_why(qtbot, make_window, tmp_path, monkeypatch):
    def failing_download(dest, *, progress, cancel):
        raise DownloadError("could not download MNIST: no network")

    monkeypatch.setattr(data_dialogs, "download_mnist", failing_download)
    window = make_window(data_dir=tmp_path / "nowhere")
    qtbot.waitUntil(lambda: window.banner.isVisible())
    qtbot.mouseClick(window.banner.download_button, LEFT)
    qtbot.waitUntil(lambda: len(message_boxes(window)) == 1)
    (box,) = message_boxes(window)
    assert "no network" in box.text() and "Choose folder" in box.text()
    box.close()


def test_settings_remember_the_form_and_the_layout(qtbot, make_window, small_split, settings):
    first = make_window(split=small_split)
    configure(qtbot, first, rate="2e-2", patience=0)
    first.resize(1100, 760)
    first.resizeDocks([first.sketch_dock], [320], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: first.sketch_dock.width() == 320)
    first.train.main_splitter.setSizes([310, 450])
    first.train.centre_splitter.setSizes([450, 250])
    first.tabs.setCurrentIndex(1)
    column, rows = first.train.main_splitter.sizes()[0], first.train.centre_splitter.sizes()
    first.close()
    for key in ("geometry", "state", "columnsSplitter", "plotsSplitter"):
        assert not settings.byte_array(key).isEmpty()
    second = make_window(split=small_split)
    assert second.controls.config().learning_rate == 0.02 and second.controls.config().patience == 0
    assert second.controls.learning_rate_box.text() == "2e-2"
    assert second.tabs.currentIndex() == 1 and second.panel("Evaluate").isVisible()
    # The offscreen screen is 800×800, so the restored window may be clamped; the form column, the
    # sketch dock and the runs list do not stretch, so they keep the remembered sizes whatever the
    # window's size (to within the few pixels a clamped frame takes); the defaults are 330, 340 and 165.
    assert column > 250 and rows[1] == pytest.approx(250, abs=4)
    second.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: second.train.main_splitter.sizes()[0] > 0)
    assert second.train.main_splitter.sizes()[0] == pytest.approx(column, abs=4)
    assert second.train.centre_splitter.sizes()[1] == pytest.approx(rows[1], abs=4)
    assert second.sketch_dock.width() == pytest.approx(320, abs=4)


def test_default_layout_gives_the_plots_most_of_the_window(qtbot, window):
    """1400×900 without saved settings: plots over a compact runs list, the sketch pad on the right."""
    qtbot.waitUntil(lambda: window.train.plots.height() > 0)
    assert (window.width(), window.height()) == (1400, 900)
    assert window.train.plots.height() >= 0.6 * window.height()
    assert 110 <= window.train.runs_panel.height() <= 200
    panel = window.sketch_panel
    assert 300 <= panel.width() <= 360
    assert panel.pad.canvas_rect().width() >= 280
    pad_bottom = panel.pad.mapTo(window, panel.pad.rect().bottomLeft()).y()
    assert panel.prediction_view.mapTo(window, panel.prediction_view.rect().topLeft()).y() > pad_bottom
    header = window.train.runs_panel.tree.header()
    settings_column = header.sectionViewportPosition(SETTINGS_COLUMN)
    assert settings_column < window.train.runs_panel.tree.viewport().width(), "the Settings column is visible"


def test_the_window_can_shrink_to_1100_by_700(qtbot, window):
    window.resize(1000, 600)
    qtbot.wait(10)
    assert (window.width(), window.height()) == (1100, 700)
    panel = window.sketch_panel
    assert panel.caption.height() >= 2 * panel.caption.fontMetrics().lineSpacing()
    assert panel.prediction_view.plot.height() >= 100 and window.train.plots.height() > 350


def test_the_run_is_saved_without_blocking_the_window(qtbot, window, tmp_path):
    """Saving a finished run keeps the event loop turning: the picture is drawn in a turn of its own and
    the files are written on a worker thread."""
    turns = []
    ticker = QTimer()
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: turns.append((window.session.phase, window.run_actions.start.isEnabled())))
    window.session.phase_changed.connect(lambda phase: ticker.start() if phase == "saving" else ticker.stop())
    configure(qtbot, window, epochs=1, patience=0)
    train(qtbot, window)
    assert len(turns) >= 2, "the event loop turned between the steps of saving"
    assert all(phase == "saving" and not enabled for phase, enabled in turns), "Start stays off until saved"
    assert window.train.start_button.isEnabled()
    (run,) = window.train.runs_panel.runs()
    picture = read_png((run.folder / "training_history.png").read_bytes())  # written on the worker thread
    assert picture.shape == (500, 1200, 3) and picture.min() < 100 and picture.max() == 255


def test_about_names_every_version():
    text = about_html()
    for name in ("nnstudio", "Python", "NumPy", "Qt", "PySide6", "pyqtgraph"):
        assert name in text


def slider_handle(slider) -> QPoint:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    return slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                         QStyle.SubControl.SC_SliderHandle, slider).center()


class UnhurriedTrainer(Trainer):
    """A trainer that rests a millisecond before each batch: a run that goes on for a whole test without
    taking a core from the other tests (it still trains many batches between two moves of a hand)."""

    def _batch_inputs(self, index, *where):
        time.sleep(0.001)
        return super()._batch_inputs(index, *where)


def test_a_slider_drag_or_held_arrows_mid_run_make_one_change_each(qtbot, window):
    configure(qtbot, window, epochs=1000, batch=32, patience=0, rate="1e-2")
    window.session.trainer_class = UnhurriedTrainer
    with qtbot.waitSignal(window.session.progressed, timeout=60_000):
        qtbot.mouseClick(window.train.start_button, LEFT)
    slider, box = window.controls.learning_rate_slider, window.controls.learning_rate_box
    scroll = slider.parentWidget()
    while not isinstance(scroll, QScrollArea):
        scroll = scroll.parentWidget()
    scroll.ensureWidgetVisible(slider)  # the mouse reaches the slider only where it is on screen
    qtbot.waitUntil(lambda: not slider.visibleRegion().isEmpty())
    start = slider_handle(slider)
    passed = set()
    with qtbot.waitSignal(window.session.setting_changed, timeout=60_000) as blocker:
        qtbot.mousePress(slider, LEFT, pos=start)
        assert slider.isSliderDown(), "the press caught the handle"
        for dx in range(3, 45, 3):  # at a hand's pace: the trainer takes many batches between moves
            qtbot.mouseMove(slider, QPoint(start.x() + dx, start.y()))
            passed.add(box.value())
            qtbot.wait(20)
        qtbot.mouseRelease(slider, LEFT, pos=QPoint(start.x() + 45, start.y()))
    dragged_to = box.value()
    assert len(passed) > 5, "the drag went through many values"
    assert (blocker.args[0].old, blocker.args[0].new) == (0.01, dragged_to)

    # A held arrow key repeats faster than the value rests; the window waits for it to rest. (The
    # presses come in one go: on a busy machine any pause between them, however short, may look
    # like a rest.)
    box.setFocus()
    with qtbot.waitSignal(window.session.setting_changed, timeout=60_000) as blocker:
        for _ in range(3):
            qtbot.keyClick(box, Qt.Key.Key_Down)
    assert (blocker.args[0].old, blocker.args[0].new) == (dragged_to, box.value())
    qtbot.wait(2 * LIVE_EDIT_DELAY_MS)  # time for any straggling change to show
    assert len(window.train.plots.change_positions()) == 2, "one marker per deliberate change"
    assert window.session.trainer.learning_rate == box.value()
    with run_ends(qtbot, window, 60_000):
        qtbot.mouseClick(window.train.stop_button, LEFT)


def test_after_choosing_the_data_folder_space_starts_a_run(qtbot, make_window, tmp_path, mnist_dir, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    window = make_window(data_dir=empty)
    qtbot.waitUntil(lambda: window.banner.isVisible())
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    dialog = QWidget()  # stands in for the folder dialog, which has the keyboard while the folder loads
    qtbot.addWidget(dialog)
    asked = []

    def choose_folder(*args, **kwargs):
        asked.append(args)
        dialog.show()
        dialog.activateWindow()
        qtbot.waitUntil(dialog.isActiveWindow)
        return str(mnist_dir)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", choose_folder)
    with qtbot.waitSignal(window.workspace.data_changed, timeout=60_000):
        qtbot.mouseClick(window.banner.choose_button, LEFT)
    assert not window.banner.isVisible()
    # The keys go back to the window, not to the hidden "Choose folder…" button.
    focus = window.focusWidget()
    assert focus is not None and focus.isVisible()
    dialog.close()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    with qtbot.waitSignal(window.session.started, timeout=5000):
        qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Space)
    assert len(asked) == 1, "Space did not open the folder dialog again"
    with run_ends(qtbot, window, 60_000):
        qtbot.mouseClick(window.train.stop_button, LEFT)


def test_a_new_run_clears_the_last_runs_status_at_once(qtbot, window):
    configure(qtbot, window, epochs=2, patience=0)
    train(qtbot, window)
    assert window.status.progress_bar.format() == "done" and window.status.progress_bar.value() == 100
    assert "Epoch 2 of 2" in window.status.epoch_label.text()
    qtbot.mouseClick(window.train.start_button, LEFT)
    # The new run's first report needs the event loop to turn: nothing has come yet.
    assert window.status.progress_bar.value() == 0 and window.status.progress_bar.format() == "starting…"
    assert "starting" in window.status.status_label.text() and window.status.epoch_label.text() == "Epoch 0 of 2"
    # Read as the first progress arrives: on a slow machine the whole run may be delivered in the
    # same turn of the event loop that delivers it, and the status then says how the run ended.
    seen = []
    window.session.progressed.connect(lambda *_: seen or seen.append((window.status.status_label.text(),
                                                                       window.session.trainer.threads)))
    qtbot.waitUntil(lambda: bool(seen), timeout=60_000)
    text, threads = seen[0]  # the count chosen for this run (1 on two cores), shown
    assert text == f"Training {window.session.run_name} on {threads} thread{'s' * (threads > 1)}…"
    with run_ends(qtbot, window, 60_000):
        qtbot.mouseClick(window.train.stop_button, LEFT)


def test_saved_files_get_their_extension(qtbot, window, tmp_path, monkeypatch):
    configure(qtbot, window, epochs=1)
    train(qtbot, window)
    out = tmp_path / "out"
    out.mkdir()
    names = iter(["mymodel", "history", "plots"])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out / next(names)), ""))
    for action in (window.file_actions.save_model, window.file_actions.export_csv, window.file_actions.export_png):
        action.trigger()
    assert sorted(p.name for p in out.iterdir()) == ["history.csv", "mymodel.npz", "plots.png"]
    assert load_model(out / "mymodel.npz").network is not None


def test_after_reset_save_model_saves_the_run_selected_in_the_list(qtbot, window, tmp_path, monkeypatch):
    configure(qtbot, window, epochs=1)
    train(qtbot, window)
    qtbot.mouseClick(window.train.reset_button, LEFT)
    assert window.train.plots.title_label.text() == "no run yet"
    assert not window.file_actions.save_model.isEnabled(), "no live run and no run selected"
    tree = window.train.runs_panel.tree
    row = tree.visualItemRect(tree.topLevelItem(0))
    qtbot.mouseClick(tree.viewport(), LEFT, pos=QPoint(tree.header().sectionViewportPosition(1) + 5,
                                                       row.center().y()))
    assert window.file_actions.save_model.isEnabled() and window.file_actions.export_csv.isEnabled()
    path = tmp_path / "chosen.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window.file_actions.save_model.trigger()
    (run,) = window.train.runs_panel.runs()
    assert path.read_bytes() == run.model_path.read_bytes()
    assert not list(tmp_path.glob(".chosen*")), "no temporary file is left behind"


# The "Try this" tips, tried.

def test_try_this_raising_the_learning_rate_of_seed_slow_makes_the_loss_fall_at_once(qtbot, window):
    assert "seed-slow" in TRY_THIS and "learning rate to 1e-1" in TRY_THIS
    combo = window.controls.preset_combo
    combo.setCurrentIndex(combo.findData("seed-slow"))
    combo.activated.emit(combo.findData("seed-slow"))
    assert window.controls.config() == PRESETS["seed-slow"]
    window.session.trainer_class = WaitsForALiveChange  # 64 batches at 0.001, then the change
    configure(qtbot, window, epochs=10000, patience=0)  # a small validation set plateaus
    qtbot.mouseClick(window.train.start_button, LEFT)
    qtbot.waitUntil(lambda: len(window.train.plots.batch_trace()[0]) >= 60, timeout=60_000)
    with qtbot.waitSignal(window.session.setting_changed, timeout=60_000) as blocker:
        retype(qtbot, window.controls.learning_rate_box, "1e-1")
    at = blocker.args[0].position
    qtbot.waitUntil(lambda: (window.train.plots.batch_trace()[0] > at).sum() >= 40, timeout=60_000)
    with run_ends(qtbot, window, 60_000):
        qtbot.mouseClick(window.train.stop_button, LEFT)
    x, losses, _ = window.train.plots.batch_trace()
    before, after = losses[x < at][-30:], losses[x > at][10:40]
    assert np.mean(after) < np.mean(before) - 0.3, (np.mean(before), np.mean(after))


def test_try_this_a_learning_rate_of_3_diverges_and_says_so_in_a_short_title(qtbot, window):
    assert "Learning rate 3" in TRY_THIS
    configure(qtbot, window, rate=3)
    result = train(qtbot, window)
    assert result.reason == "diverged" and "lower the learning rate" in result.message
    title = window.train.plots.title_label
    assert title.text().endswith(" — diverged at epoch 1") and title.toolTip() == result.message
    assert result.message in window.status.status_label.text()
    # The batch losses up to the blow-up are drawn, and the run is kept, marked diverged.
    x, losses, _ = window.train.plots.batch_trace()
    blow_up = int(result.message.split("batch ")[1].split(":")[0])
    assert 1 <= len(losses) <= blow_up and x[-1] < 1 and losses[-1] > losses[0]
    (run,) = window.train.runs_panel.runs()
    assert run.summary["reason"] == "diverged" and run.history == ()
    row = window.train.runs_panel.item_of(run.folder)
    assert "diverged" in [row.text(c) for c in range(row.columnCount())]
    assert not window.train.one_more_button.isEnabled()


def test_try_this_patience_1_stops_at_the_first_epoch_that_does_not_improve(qtbot, window):
    assert "Patience 1" in TRY_THIS
    configure(qtbot, window, patience=1)
    result = train(qtbot, window, timeout=60_000)
    assert result.reason == "early_stopping"
    assert not result.history[-1].improved and all(r.improved for r in result.history[:-1])


def test_time_left_reads_like_a_clock():
    assert [time_left(s) for s in (0.0, 0.4, 1.2, 59.4, 61, 3600)] == ["<1 s", "<1 s", "1 s", "59 s", "1:01", "60:00"]


# A Stop or Pause that lands as a run ends.

class ResultWatcher(QObject):
    """A GUI-thread object that sees the first run's result just after the window did, and acts then."""

    def __init__(self, window, act) -> None:
        super().__init__()
        self.window, self.act = window, act
        self.seen: list[tuple[bool, bool, str, bool]] = []
        window.session.started.connect(self.watch)

    @Slot()
    def watch(self) -> None:
        if not self.seen:
            self.window.session.ended.connect(self.on_result)  # after the window's own slots

    @Slot(object)
    def on_result(self, result) -> None:
        if self.seen:
            return
        w = self.window
        self.seen.append((w.run_actions.stop.isEnabled(), w.run_actions.pause.isEnabled(), w.run_actions.pause.text(),
                          w.run_actions.pause.isChecked()))
        self.act(w)


@pytest.mark.parametrize("press", ["stop", "pause"])
def test_a_stop_or_pause_as_the_run_ends_does_not_carry_into_one_more_epoch(qtbot, window, press):
    def act(w):
        # Stop and Pause are off now; a press that came a moment earlier (during the test-set
        # evaluation) has reached the trainer all the same.
        if press == "stop":
            w.session.trainer.request_stop()
        else:
            w.session.trainer.pause()
        getattr(w.run_actions, press).trigger()

    watcher = ResultWatcher(window, act)
    configure(qtbot, window, epochs=2, patience=0)
    train(qtbot, window)
    assert watcher.seen == [(False, False, "Pause", False)]
    assert window.run_actions.pause.text() == "Pause" and not window.run_actions.pause.isChecked()
    with run_ends(qtbot, window, 60_000) as blocker:
        qtbot.mouseClick(window.train.one_more_button, LEFT)
    assert (blocker.args[0].reason, blocker.args[0].epochs) == ("max_epochs", 3)


# Closing while a thread cannot stop at once.

class StallingTrainer(Trainer):
    """Its second epoch's first batch waits for ``release`` (a batch of a huge network, say)."""

    stalled = threading.Event()
    release = threading.Event()

    def _batch_inputs(self, index, *where):
        if self.epoch >= 1 and not self.release.is_set():
            self.stalled.set()
            self.release.wait(30)
        return super()._batch_inputs(index, *where)


def test_closing_during_a_long_batch_closes_once_the_batch_ends_and_keeps_the_run(
        qtbot, window, tmp_path, monkeypatch):
    window.close_wait_ms = 100
    window.session.trainer_class = StallingTrainer
    monkeypatch.setattr(StallingTrainer, "stalled", threading.Event())
    monkeypatch.setattr(StallingTrainer, "release", threading.Event())
    configure(qtbot, window, epochs=5, patience=0)
    try:
        qtbot.mouseClick(window.train.start_button, LEFT)
        qtbot.waitUntil(StallingTrainer.stalled.is_set, timeout=60_000)
        assert not window.close()
        assert window.isVisible() and running_threads()
        assert window.status.status_label.text() == "Stopping… the window closes when the current batch ends"
        assert not window.train.start_button.isEnabled() and not window.train.one_more_button.isEnabled()
    finally:
        StallingTrainer.release.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    assert not running_threads()
    runs, _ = list_runs(tmp_path / "runs")
    assert len(runs) == 1 and runs[0].summary["reason"] == "stopped" and runs[0].summary["epochs"] == 1


def test_closing_during_a_stalled_download_closes_once_it_has_stopped(qtbot, make_window, tmp_path, monkeypatch):
    release = threading.Event()

    def stalled_download(dest, *, progress, cancel):
        progress(0, 100)
        release.wait(30)  # stuck in a read: the cancel is not seen until it returns
        raise DownloadCancelled("cancelled")

    monkeypatch.setattr(data_dialogs, "download_mnist", stalled_download)
    window = make_window(data_dir=tmp_path / "nowhere")
    window.close_wait_ms = 100
    qtbot.waitUntil(lambda: window.banner.isVisible())
    try:
        qtbot.mouseClick(window.banner.download_button, LEFT)
        assert not window.close()
        assert window.isVisible() and running_threads()
        assert "download" in window.status.status_label.text()
    finally:
        release.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    assert not running_threads()


# Data folders that cannot be used.

def write_idx_folder(folder, mnist, train: int, test: int) -> None:
    """Four valid, uncompressed IDX files holding the first images of real MNIST."""
    folder.mkdir()
    for name, array in {"train-images-idx3-ubyte": mnist.train_images[:train],
                        "train-labels-idx1-ubyte": mnist.train_labels[:train],
                        "t10k-images-idx3-ubyte": mnist.test_images[:test],
                        "t10k-labels-idx1-ubyte": mnist.test_labels[:test]}.items():
        (folder / name).write_bytes(idx_header(array.shape) + np.ascontiguousarray(array, np.uint8).tobytes())


def test_a_small_idx_folder_trains_with_a_smaller_validation_set_and_says_so(qtbot, make_window, mnist, tmp_path):
    folder = tmp_path / "small"
    write_idx_folder(folder, mnist, 3000, 200)
    window = make_window(data_dir=folder)
    qtbot.waitUntil(lambda: window.workspace.split is not None)
    assert not window.banner.isVisible() and window.train.start_button.isEnabled()
    split = window.workspace.split
    assert (len(split.x_train), len(split.x_val)) == (2700, 300)  # 10% validate, not the default 6,000
    status = window.status.status_label.text()
    assert "3,000 training images cannot spare 6,000 for validation: validating on the last 300" in status
    # The form's validation size re-splits the data at once.
    box = window.findChild(QAbstractSpinBox, "validationSize")
    retype(qtbot, box, "500")
    split = window.workspace.split
    assert (len(split.x_train), len(split.x_val)) == (2500, 500)
    assert "2,500 training, 500 validation and 200 test images" in window.status.status_label.text()
    configure(qtbot, window, epochs=1)
    train(qtbot, window)
    (run,) = window.train.runs_panel.runs()
    assert run.config.validation_size == 500


def test_a_folder_too_small_to_split_says_why(qtbot, make_window, small_split, mnist, tmp_path, monkeypatch):
    folder = tmp_path / "mini"
    write_idx_folder(folder, mnist, 1, 100)
    window = make_window(split=small_split)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    window.file_actions.open_data.trigger()
    (box,) = message_boxes(window)
    assert box.windowTitle() == "Cannot use this folder" and "validation size" in box.text()
    assert "loaded before is still in use" in box.text()
    box.close()
    assert window.workspace.split is small_split and window.train.start_button.isEnabled()
    assert "still training on the data loaded before" in window.status.status_label.text()
    assert QApplication.overrideCursor() is None

    # The same folder at start-up (remembered, or --data-dir): the offer to download, and why.
    second = make_window(data_dir=folder)
    qtbot.waitUntil(lambda: second.banner.isVisible())
    assert "validation size" in second.banner.message.text()
    assert second.status.status_label.text().startswith("No training data: 1 training images cannot spare 1")
    assert not second.train.start_button.isEnabled() and not message_boxes(second)


# The sketch caption names the epoch of the network it shows.

def test_the_sketch_caption_names_the_epoch_of_the_network_even_when_the_window_lags(
        qtbot, make_window, small_split, tmp_path, monkeypatch):
    window = make_window(split=small_split.head(300, 300, 100))
    configure(qtbot, window, epochs=4, patience=0)
    captions = []
    window.workspace.model_changed.connect(lambda network, description: captions.append(description))
    shown = []
    window.session.epoch_finished.connect(shown.append)
    qtbot.mouseClick(window.train.start_button, LEFT)
    # The window lags behind: the whole run ends before it handles any of its reports.
    assert window.session.thread.wait(30_000)
    # The exported history is what the window has shown, not what the trainer has done meanwhile.
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "early.csv"), ""))
    window.file_actions.export_csv.trigger()
    (box,) = message_boxes(window)
    assert box.windowTitle() == "Nothing to export"
    box.close()
    with run_ends(qtbot, window, 60_000):
        pass
    improved = [r for r in shown if r.improved]
    assert len(improved) >= 2
    assert captions == [f"{window.session.run_name}, epoch {r.epoch}, val acc {percent(r.val_accuracy, '–')}"
                        for r in improved]


# Odd values and empty exports.

def test_values_that_are_not_numbers_read_as_blank():
    assert [list_percent(v) for v in (0.975, None, "97%", float("nan"), True)] == ["97.50%", "", "", "", ""]
    assert [duration(v) for v in (75, 12.4, None, "12", 0)] == ["1:15", "12 s", "", "", ""]
    assert [percent(v, "–") for v in (0.5, None, "x")] == ["50.00%", "–", ""]


def test_export_plot_png_with_nothing_plotted_says_so(qtbot, window, tmp_path, monkeypatch):
    target = tmp_path / "plots.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.file_actions.export_png.trigger()
    (box,) = message_boxes(window)
    assert box.windowTitle() == "Nothing to export"
    box.close()
    assert not target.exists()
