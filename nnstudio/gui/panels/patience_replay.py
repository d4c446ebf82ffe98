"""Patience, replayed: where early stopping would have stopped a finished run, without retraining.

Shows the run selected in the runs list (or the run just saved): its validation loss per epoch, and
for the patience on the slider and the min-delta typed, the epoch the run would have stopped after
(the epochs it would not have trained are greyed) and the epoch whose weights it would have kept.
The test accuracy of every epoch, from the run's checkpoints, stays hidden until the student asks:
then it shows whether the epoch with the best validation loss was also the best on the test set.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.checkpoints import load_checkpoints
from nnstudio.core.patience_replay import Replay, patience_table, replay_patience
from nnstudio.gui.naming import named
from nnstudio.gui.worker import Worker, join

STOP_COLOR, KEPT_COLOR, LOSS_COLOR, TEST_COLOR = "#D55E00", "#009E73", "#0072B2", "#CC79A7"
COMPARED_PATIENCES = (1, 5, 20)


def test_accuracy_job(path, x_test, y_test):
    """Each checkpoint's test accuracy, ``{epoch: accuracy}`` (a generator for the Worker)."""
    saved = load_checkpoints(path)
    accuracies = {}
    for epoch in saved.checkpoints.epochs:
        _, accuracies[epoch] = saved.network(epoch).evaluate(x_test, y_test)
        yield epoch
    return accuracies


class PatienceReplayPanel(QWidget):
    """Replays early stopping on ``workspace``'s selected run (or ``session``'s run just saved).
    Signals: ``replay_changed(Replay)``, ``test_accuracy_ready(dict)`` ({epoch: accuracy})."""

    replay_changed = Signal(object)
    test_accuracy_ready = Signal(object)

    def __init__(self, workspace, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "patienceReplay", "Patience, replayed")
        self.workspace = workspace
        self.run = None
        self.history: tuple = ()
        self.replay: Replay | None = None
        self.test_accuracy: dict[int, float] = {}
        self.thread = self.worker = None
        self._computing_for = None

        self.run_label = named(QLabel("Select a finished run in the Train tab's list (best: one trained with "
                                      "patience 0, for many epochs)."), "replayRun", "Run replayed")
        self.run_label.setWordWrap(True)
        self.patience_slider = named(QSlider(Qt.Orientation.Horizontal), "patienceSlider", "Patience to replay")
        self.patience_slider.setRange(0, 20)
        self.patience_slider.setValue(5)
        self.patience_value = named(QLabel(), "patienceValue", "Patience replayed")
        self.min_delta_box = named(QDoubleSpinBox(), "minDeltaBox", "Min delta",
                                   "Smallest fall of validation loss that counts as an improvement")
        self.min_delta_box.setDecimals(4)
        self.min_delta_box.setRange(0, 1)
        self.min_delta_box.setSingleStep(0.001)
        self.test_check = named(QCheckBox("Show test accuracy per epoch"), "showTestAccuracy",
                                "Show test accuracy per epoch")
        self.verdict = named(QLabel(), "replayVerdict", "What early stopping would have done")
        self.verdict.setWordWrap(True)
        self.verdict.setStyleSheet("font-weight: bold;")
        self.costs = named(QLabel(), "patienceCosts", "What patience 1, 5 or 20 would have cost")
        self.costs.setWordWrap(True)

        self.plots = named(pg.GraphicsLayoutWidget(), "replayPlots", "Validation loss and test accuracy per epoch")
        self.plots.setBackground(None)
        self.loss_plot = self.plots.addPlot(row=0, col=0)
        self.loss_plot.setLabel("left", "validation loss")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen(LOSS_COLOR, width=2), symbol="o", symbolSize=4,
                                              symbolBrush=LOSS_COLOR)
        self.untrained = pg.LinearRegionItem((0, 0), movable=False, brush=pg.mkBrush(128, 128, 128, 50),
                                             pen=pg.mkPen(None))
        self.untrained.setZValue(-10)
        self.stop_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(STOP_COLOR, width=2), label="stops",
                                         labelOpts={"position": 0.92, "color": STOP_COLOR})
        self.kept_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(KEPT_COLOR, width=2, style=Qt.PenStyle.DashLine),
                                         label="keeps", labelOpts={"position": 0.08, "color": KEPT_COLOR})
        for item in (self.untrained, self.stop_line, self.kept_line):
            item.setVisible(False)
            self.loss_plot.addItem(item)
        self.test_plot = self.plots.addPlot(row=1, col=0)
        self.test_plot.setLabel("left", "test accuracy (%)")
        self.test_plot.setLabel("bottom", "epoch")
        self.test_plot.setXLink(self.loss_plot)
        self.test_plot.showGrid(x=True, y=True, alpha=0.2)
        self.test_curve = self.test_plot.plot([], [], pen=pg.mkPen(TEST_COLOR, width=2), symbol="o", symbolSize=4,
                                              symbolBrush=TEST_COLOR)
        self.test_plot.setVisible(False)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Patience"))
        controls.addWidget(self.patience_slider, 1)
        controls.addWidget(self.patience_value)
        controls.addWidget(QLabel("min delta"))
        controls.addWidget(self.min_delta_box)
        controls.addWidget(self.test_check)
        layout = QVBoxLayout(self)
        layout.addWidget(self.run_label)
        layout.addLayout(controls)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.verdict)
        layout.addWidget(self.costs)

        self.patience_slider.valueChanged.connect(self.update_replay)
        self.min_delta_box.valueChanged.connect(self.update_replay)
        self.test_check.toggled.connect(self._on_test_toggled)
        workspace.selection_changed.connect(self._on_selected)
        session.saved.connect(self.show_run)
        self.update_replay()

    # -- public ---------------------------------------------------------------------------------

    @property
    def monitor(self) -> str:
        """What the run's early stopping watched (its config's ``monitor``), which the replay watches too."""
        config = self.run.config if self.run is not None else None
        return getattr(config, "monitor", "val_loss") or "val_loss"

    def show_run(self, run) -> None:
        """Replay on ``run`` (a listed :class:`~nnstudio.core.run_folder.Run`)."""
        if run is None or not run.history:
            return
        self.run, self.history = run, tuple(run.history)
        self.test_accuracy = {}
        self.test_curve.setData([], [])
        patience = run.config.patience if run.config else 0
        note = (f", trained with patience {patience}: it could not go past epoch {len(self.history)}"
                if patience else ", trained with patience off")
        watched = "validation accuracy" if self.monitor == "val_accuracy" else "validation loss"
        self.run_label.setText(f"Replaying {run.name}: {len(self.history)} epochs{note}; watching {watched}.")
        self.patience_slider.setMaximum(max(20, len(self.history)))
        epochs = np.array([r.epoch for r in self.history], dtype=float)
        self.loss_curve.setData(epochs, [r.val_loss for r in self.history])
        self.update_replay()
        if self.test_check.isChecked():
            self._compute_test_accuracy()

    @Slot()
    def update_replay(self, *_: object) -> None:
        patience = self.patience_slider.value()
        self.patience_value.setText("off" if patience == 0 else str(patience))
        if not self.history:
            self.verdict.setText("")
            return
        min_delta = self.min_delta_box.value()
        monitor = self.monitor
        replay = self.replay = replay_patience(self.history, patience, min_delta, monitor)
        last = self.history[-1].epoch
        self.stop_line.setValue(replay.stop_epoch)
        self.kept_line.setValue(replay.restored_epoch)
        self.untrained.setRegion((replay.stop_epoch, last + 0.5))
        self.stop_line.setVisible(replay.stopped_early)
        self.untrained.setVisible(replay.stopped_early)
        self.kept_line.setVisible(replay.restored_epoch > 0)
        self.verdict.setText(replay.describe(self.test_accuracy if self.test_check.isChecked() else None))
        lines = []
        for r in patience_table(self.history, COMPARED_PATIENCES, min_delta, monitor):
            line = f"patience {r.patience}: " + (f"stops after epoch {r.stop_epoch}" if r.stopped_early
                                                  else "does not stop in this run")
            line += f", keeps epoch {r.restored_epoch}"
            accuracy = self.test_accuracy.get(r.restored_epoch) if self.test_check.isChecked() else None
            if accuracy is not None:
                line += f" ({accuracy:.2%} on test)"
            lines.append(line)
        if self.test_check.isChecked() and self.test_accuracy:
            best_test = max(self.test_accuracy, key=self.test_accuracy.get)
            best_val = min(self.history, key=lambda r: r.val_loss).epoch
            lines.append(f"best validation loss at epoch {best_val}; best test accuracy at epoch {best_test} "
                         f"({self.test_accuracy[best_test]:.2%})")
        self.costs.setText(" · ".join(lines))
        self.replay_changed.emit(replay)

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        return join(self.thread, timeout_ms)

    # -- test accuracy, off the GUI thread --------------------------------------------------------

    @Slot(bool)
    def _on_test_toggled(self, shown: bool) -> None:
        self.test_plot.setVisible(shown)
        if shown and not self.test_accuracy:
            self._compute_test_accuracy()
        self.update_replay()

    def _compute_test_accuracy(self) -> None:
        run, split = self.run, self.workspace.split
        if run is None or self.thread is not None:
            return
        path = run.folder / "checkpoints.npz"
        if split is None or not path.exists():
            self.costs.setText("This run has no checkpoints (or no test data is loaded): its test accuracy per "
                               "epoch is unknown.")
            return
        x_test, y_test = split.x_test, split.y_test
        worker = Worker(lambda: test_accuracy_job(path, x_test, y_test), name="test accuracy per epoch")
        # Methods, not lambdas: a lambda connected to the worker would run on the worker's thread.
        worker.returned.connect(self._on_read)
        worker.errored.connect(self._on_read_failed)
        worker.finished.connect(self._on_finished)
        self.worker, self._computing_for = worker, run
        self.thread = worker.start()

    @Slot(object)
    def _on_read(self, accuracies: dict) -> None:
        self._on_test_accuracy(self._computing_for, accuracies)

    @Slot(str)
    def _on_read_failed(self, message: str) -> None:
        self.costs.setText(f"Could not read the checkpoints: {message}")

    def _on_test_accuracy(self, run, accuracies: dict) -> None:
        if run is not self.run:
            return
        self.test_accuracy = dict(accuracies)
        epochs = sorted(accuracies)
        self.test_curve.setData(np.array(epochs, dtype=float), [100 * accuracies[e] for e in epochs])
        self.update_replay()
        self.test_accuracy_ready.emit(self.test_accuracy)

    @Slot()
    def _on_finished(self) -> None:
        join(self.thread)
        self.thread = self.worker = None
        if self.test_check.isChecked() and not self.test_accuracy and self.run is not self._computing_for:
            self._compute_test_accuracy()  # another run was selected while the last one was read

    @Slot(object)
    def _on_selected(self, run) -> None:
        if run is not None:
            self.show_run(run)

