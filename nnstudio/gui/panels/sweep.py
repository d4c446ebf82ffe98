"""Sweeps: choose values for one or two settings, train every point in worker processes, compare.

The sweep runs :func:`nnstudio.core.sweeps.run_sweep` in worker processes (one core left to the
window, but two points race side by side on a 2-core machine), driven by the frame's Worker; each point's validation accuracy is drawn live, one curve per point,
the table fills as points finish, and for two settings a heatmap shows each pair's test accuracy.
Cancel stops every point (keeping what finished). Finished points are listed as runs.
"""

from __future__ import annotations

import os

import threading
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.repeats import worker_count
from nnstudio.core.run_folder import load_run
from nnstudio.core.sweeps import PointResult, SweepEpoch, SweepPoint, parse_axis, run_sweep, sweep_points
from nnstudio.gui.naming import named
from nnstudio.gui.colors import run_color
from nnstudio.gui.worker import Worker, join

CHOICES = ("lr", "hidden", "batch", "patience", "momentum", "dropout")
DEFAULTS = {"lr": "0.001,0.1", "hidden": "64,256", "batch": "32,128", "patience": "1,5",
            "momentum": "0,0.9", "dropout": "0,0.3"}


class SweepPanel(QWidget):
    """Sweeps the form's configuration (``actions.form``) on the workspace's data folder.
    Signals: ``sweep_finished(list[PointResult])``, ``point_finished(PointResult)``."""

    sweep_finished = Signal(object)
    point_finished = Signal(object)

    def __init__(self, workspace, session, form, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "sweepPanel", "Sweeps")
        self.workspace, self.session, self.form = workspace, session, form
        self.points: list[SweepPoint] = []
        self.results: list[PointResult] = []
        self.histories: dict[int, list] = {}
        self.thread = self.worker = None
        self._stop = threading.Event()
        self.destroyed.connect(self._stop.set)

        self.setting_combos, self.value_edits = [], []
        row = QHBoxLayout()
        for k in (1, 2):
            combo = named(QComboBox(), f"sweepSetting{k}", f"Setting {k} to sweep")
            if k == 2:
                combo.addItem("(none)", "")
            for name in CHOICES:
                combo.addItem(name, name)
            edit = named(QLineEdit(), f"sweepValues{k}", f"Values of setting {k}, separated by commas")
            combo.currentIndexChanged.connect(lambda _=0, c=combo, e=edit: e.setText(DEFAULTS.get(c.currentData(), "")))
            self.setting_combos.append(combo)
            self.value_edits.append(edit)
            row.addWidget(QLabel(f"Setting {k}" if k == 1 else "and"))
            row.addWidget(combo)
            row.addWidget(edit, 1)
        self.value_edits[0].setText(DEFAULTS["lr"])
        self.value_edits[1].setEnabled(False)
        self.setting_combos[1].currentIndexChanged.connect(
            lambda: self.value_edits[1].setEnabled(bool(self.setting_combos[1].currentData())))
        self.start_button = named(QPushButton("Run sweep"), "startSweepButton", "Run the sweep")
        self.cancel_button = named(QPushButton("Cancel"), "cancelSweepButton", "Cancel the sweep")
        self.cancel_button.setEnabled(False)
        row.addWidget(self.start_button)
        row.addWidget(self.cancel_button)
        self.status_label = named(QLabel("Every point trains in its own process; the rest of the form is the "
                                         "Train tab's."), "sweepStatus", "Sweep status")
        self.status_label.setWordWrap(True)

        self.plot = named(pg.PlotWidget(background=None), "sweepPlot", "Validation accuracy of every point")
        self.plot.setLabel("left", "validation accuracy (%)")
        self.plot.setLabel("bottom", "epoch")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(-10, -10))
        self.curves: list = []
        self.table = named(QTableWidget(), "sweepTable", "Sweep results")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.heatmap = named(pg.PlotWidget(background=None), "sweepHeatmap", "Test accuracy of each pair")
        self.heat_image = pg.ImageItem(axisOrder="row-major")
        self.heatmap.addItem(self.heat_image)
        self.heatmap.getPlotItem().invertY(True)
        self.heat_texts: list = []
        self.heatmap.setVisible(False)

        lower = QSplitter()
        lower.addWidget(self.table)
        lower.addWidget(self.heatmap)
        splitter = QSplitter()
        splitter.setOrientation(pg.QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.plot)
        splitter.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status_label)
        layout.addWidget(splitter, 1)

        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        workspace.data_changed.connect(self._update_buttons)
        session.phase_changed.connect(self._update_buttons)
        self._update_buttons()

    # -- public ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.thread is not None

    def axes_texts(self) -> list[str]:
        texts = [f"{self.setting_combos[0].currentData()}={self.value_edits[0].text()}"]
        if self.setting_combos[1].currentData():
            texts.append(f"{self.setting_combos[1].currentData()}={self.value_edits[1].text()}")
        return texts

    def start(self) -> bool:
        """Start the sweep the controls describe; False (with the reason shown) when it cannot."""
        if self.running:
            return False
        config, folder = self.form.config(), self.workspace.data_folder
        if config is None:
            return self._refuse("Fix the form first: " + "; ".join(self.form.problems))
        if folder is None:
            return self._refuse("Sweeps read MNIST from a folder in each process: open a data folder first.")
        try:
            points = sweep_points(config, [parse_axis(text) for text in self.axes_texts()])
        except ValueError as exc:
            return self._refuse(str(exc))
        self.points, self.results, self.histories = points, [], {p.index: [] for p in points}
        out = self.workspace.runs_root.parent / "sweeps" / time.strftime("%Y%m%d-%H%M%S")
        workers = worker_count(len(points), app_open=True)
        self._stop.clear()
        stop = self._stop
        worker = Worker(lambda: run_sweep(points, folder, out, workers=workers, name="sweep", stop=stop),
                        name="sweep")
        worker.yielded.connect(self._on_event)
        worker.errored.connect(self._on_failed)  # a method, not a lambda: a lambda would run on the worker's thread
        worker.finished.connect(self._on_finished)
        self.worker, self.out = worker, out
        self._prepare_views()
        self.status_label.setText(f"{len(points)} points in {workers} process{'es' if workers > 1 else ''} "
                                  f"{self._cores_note(workers)} into {out}…")
        self.thread = worker.start()
        self._update_buttons()
        return True

    @staticmethod
    def _cores_note(workers: int) -> str:
        return f"on a machine of {os.cpu_count() or 1} cores"

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.status_label.setText(f"The sweep failed: {message}")

    def cancel(self) -> None:
        self._stop.set()
        if self.running:
            self.status_label.setText("Cancelling: the running points stop at their next batch…")

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        self.cancel()
        return join(self.thread, timeout_ms)

    # -- the sweep's events -----------------------------------------------------------------------

    @Slot(object)
    def _on_event(self, event) -> None:
        if isinstance(event, SweepEpoch):
            history = self.histories[event.point]
            history.append(event.report)
            self.curves[event.point].setData([r.epoch for r in history], [100 * r.val_accuracy for r in history])
            self._set_row(event.point, f"epoch {event.report.epoch}")
        elif isinstance(event, PointResult):
            self.results.append(event)
            self._set_row(event.point, event.reason if not event.error else f"failed: {event.error}")
            if event.folder:
                try:
                    self.workspace.add_run(load_run(event.folder))
                except (OSError, ValueError):
                    pass
            self._update_heatmap()
            self.point_finished.emit(event)

    @Slot()
    def _on_finished(self) -> None:
        join(self.thread)
        self.thread = self.worker = None
        done = [r for r in self.results if r.test_accuracy is not None]
        if done:
            best = max(done, key=lambda r: r.test_accuracy)
            self.status_label.setText(f"{len(done)} of {len(self.points)} points finished; best "
                                      f"{self.points[best.point].label} ({best.test_accuracy:.2%} on test). "
                                      f"sweep.csv and the runs are in {self.out}.")
        elif self._stop.is_set():
            self.status_label.setText("Sweep cancelled before any point finished.")
        self._update_buttons()
        self.sweep_finished.emit(list(self.results))

    # -- views ------------------------------------------------------------------------------------

    def _prepare_views(self) -> None:
        for curve in self.curves:
            self.plot.removeItem(curve)
        self.legend.clear()
        self.curves = [self.plot.plot([], [], pen=pg.mkPen(run_color(i), width=2), symbol="o", symbolSize=4,
                                      symbolBrush=run_color(i), name=p.label) for i, p in enumerate(self.points)]
        names = [name for name, _ in self.points[0].changes]
        headers = [*(n for n in names), "status", "epochs", "best val acc", "test acc"]
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels([h if h != "learning_rate" else "lr" for h in headers])
        self.table.setRowCount(len(self.points))
        for p in self.points:
            for c, (_, value) in enumerate(p.changes):
                self.table.setItem(p.index, c, QTableWidgetItem(p.label.split(" ")[c].split("=")[1]))
            self._set_row(p.index, "waiting")
        self.heatmap.setVisible(len(names) == 2)
        self.heat_image.clear()
        for text in self.heat_texts:
            self.heatmap.removeItem(text)
        self.heat_texts = []

    def _set_row(self, index: int, status: str) -> None:
        first = len(self.points[index].changes)
        history = self.histories.get(index, [])
        result = next((r for r in self.results if r.point == index), None)
        best = max((r.val_accuracy for r in history), default=None)
        cells = [status, str(len(history)), "" if best is None else f"{best:.2%}",
                 "" if result is None or result.test_accuracy is None else f"{result.test_accuracy:.2%}"]
        for c, text in enumerate(cells):
            self.table.setItem(index, first + c, QTableWidgetItem(text))

    def _update_heatmap(self) -> None:
        if not self.heatmap.isVisible():
            return
        first = list(dict.fromkeys(p.changes[0][1] for p in self.points))
        second = list(dict.fromkeys(p.changes[1][1] for p in self.points))
        grid = np.full((len(first), len(second)), np.nan)
        for r in self.results:
            if r.test_accuracy is not None:
                p = self.points[r.point]
                grid[first.index(p.changes[0][1]), second.index(p.changes[1][1])] = 100 * r.test_accuracy
        shown = np.nan_to_num(grid, nan=np.nanmin(grid) if np.isfinite(grid).any() else 0)
        self.heat_image.setImage(shown, autoLevels=True)
        self.heat_image.setColorMap(pg.colormap.get("viridis"))
        for text in self.heat_texts:
            self.heatmap.removeItem(text)
        self.heat_texts = []
        for i in range(len(first)):
            for j in range(len(second)):
                if np.isfinite(grid[i, j]):
                    label = pg.TextItem(f"{grid[i, j]:.1f}%", color="w", anchor=(0.5, 0.5))
                    label.setPos(j + 0.5, i + 0.5)
                    self.heatmap.addItem(label)
                    self.heat_texts.append(label)
        names = [p for p, _ in self.points[0].changes]
        self.heatmap.setLabel("left", f"{names[0]}: " + ", ".join(str(v) for v in first))
        self.heatmap.setLabel("bottom", f"{names[1]}: " + ", ".join(str(v) for v in second))

    def _refuse(self, reason: str) -> bool:
        self.status_label.setText(reason)
        return False

    @Slot()
    def _update_buttons(self, *_: object) -> None:
        self.start_button.setEnabled(not self.running and self.workspace.split is not None)
        self.cancel_button.setEnabled(self.running)
        for widget in (*self.setting_combos, *self.value_edits[:1]):
            widget.setEnabled(not self.running)
