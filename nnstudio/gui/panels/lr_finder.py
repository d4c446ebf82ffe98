"""The learning-rate finder: a range test of the form's network, drawn as loss against learning rate.

One click runs three short range tests (:mod:`nnstudio.core.lr_finder`) off the GUI thread on the
workspace's training data, from the weights the form's settings would start a run with. The plot
shades where learning is too slow, where the network learns and where it diverges, marks the
suggestion and the band the three runs span; a click on the curve (or "Use it") sets the form's
learning rate.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from nnstudio.core.lr_finder import END_LR, START_LR, LrFinderResult, LrProgress, finder_job
from nnstudio.gui.naming import named
from nnstudio.gui.worker import Worker, join

CURVE_COLORS = ("#1f77b4", "#2a9d8f", "#7b61ff")
ZONE_BRUSHES = ((128, 128, 128, 30), (0, 158, 115, 36), (213, 94, 0, 36))  # too slow, learns, diverges
ZONE_NAMES = ("too slow", "learns", "diverges")
LR_LIMITS = (1e-5, 10.0)  # what the form accepts


class Cancelled(Exception):
    pass


class LrFinderPanel(QWidget):
    """``workspace`` gives the data, ``form`` (the hyperparameter form) the network and batch size, and
    takes the learning rate chosen. Signals: ``range_test_finished(LrFinderResult)``,
    ``learning_rate_chosen(float)``."""

    range_test_finished = Signal(object)
    learning_rate_chosen = Signal(float)

    def __init__(self, workspace, form, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "lrFinder", "Learning-rate finder")
        self.workspace, self.form = workspace, form
        self.result: LrFinderResult | None = None
        self.worker: Worker | None = None
        self.thread = None
        self._cancel = threading.Event()
        self.destroyed.connect(self._cancel.set)  # a window closed mid-test ends the test too

        self.find_button = named(QPushButton("Find learning rate"), "findLrButton", "Find learning rate",
                                 "Run three short range tests with the learning rate rising from 1e-6 to 10")
        self.cancel_button = named(QPushButton("Cancel"), "cancelLrButton", "Cancel the range test")
        self.use_button = named(QPushButton("Use it"), "useLrButton", "Use the suggested learning rate")
        self.cancel_button.setEnabled(False)
        self.use_button.setEnabled(False)
        self.status_label = named(QLabel(), "lrFinderStatus", "Range test status")
        self.status_label.setWordWrap(True)
        self.suggestion_label = named(QLabel(), "lrSuggestion", "Suggested learning rate")
        self.suggestion_label.setWordWrap(True)
        self.suggestion_label.setStyleSheet("font-weight: bold;")

        self.plot = named(pg.PlotWidget(background=None), "lrFinderPlot", "Loss against learning rate")
        item = self.plot.getPlotItem()
        item.setLogMode(x=True, y=False)
        item.setLabel("bottom", "learning rate (log scale)")
        item.setLabel("left", "smoothed loss")
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setMouseEnabled(x=False, y=False)
        self.zones = []
        for brush, zone_name in zip(ZONE_BRUSHES, ZONE_NAMES):
            region = pg.LinearRegionItem((0, 0), movable=False, brush=pg.mkBrush(*brush), pen=pg.mkPen(None))
            region.setZValue(-10)
            region.setVisible(False)
            region.setToolTip(zone_name)
            item.addItem(region)
            label = pg.TextItem(zone_name, color="#666666", anchor=(0.5, 0))
            label.setVisible(False)
            item.addItem(label)
            self.zones.append((region, label))
        self.band = pg.LinearRegionItem((0, 0), movable=False, brush=pg.mkBrush(214, 39, 40, 45),
                                        pen=pg.mkPen(None))
        self.band.setZValue(-5)
        self.band.setVisible(False)
        item.addItem(self.band)
        self.curves = [item.plot([], [], pen=pg.mkPen(color, width=2), name=f"run {i + 1}")
                       for i, color in enumerate(CURVE_COLORS)]
        self.suggestion_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#d62728", width=2,
                                                                                       style=Qt.PenStyle.DashLine))
        self.suggestion_line.setVisible(False)
        item.addItem(self.suggestion_line)
        self.plot.scene().sigMouseClicked.connect(self._on_plot_clicked)

        buttons = QHBoxLayout()
        buttons.addWidget(self.find_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.use_button)
        buttons.addStretch(1)
        intro = QLabel("Three quick range tests: the learning rate rises from 1e-6 to 10 on a copy of the network "
                       "the form would train (its weights are left as they are). Click the curve to use a rate.")
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.suggestion_label)

        self.find_button.clicked.connect(self.find)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(lambda: self.result and self.choose_learning_rate(self.result.suggestion))
        workspace.data_changed.connect(self._update_buttons)
        form.validity_changed.connect(self._update_buttons)
        self._update_buttons()

    # -- public ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.worker is not None

    def find(self) -> bool:
        """Start the range test; False (and a message) when there is no data or the form is invalid."""
        if self.running:
            return False
        split, config = self.workspace.split, self.form.config()
        if split is None or config is None:
            self.status_label.setText("Load data and fix the form first." if split is None else
                                      "Fix the form first: " + "; ".join(self.form.problems))
            return False
        self._cancel.clear()
        job = finder_job(config, split)
        cancel = self._cancel

        def run():
            result = None
            while True:
                if cancel.is_set():
                    raise Cancelled("cancelled")
                try:
                    event = next(job)
                except StopIteration as stop:
                    result = stop.value
                    break
                yield event
            return result

        worker = Worker(run, name="learning-rate finder")
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(self._on_result)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.status_label.setText(f"Range test on {len(split.x_train):,} training images, batch "
                                  f"{config.batch_size}…")
        for curve in self.curves:
            curve.setData([], [])
        self.thread = worker.start()
        self._update_buttons()
        return True

    def cancel(self) -> None:
        self._cancel.set()

    def choose_learning_rate(self, learning_rate: float) -> None:
        """Set the form's learning rate (rounded to two significant digits, within what it accepts)."""
        value = float(f"{min(max(learning_rate, LR_LIMITS[0]), LR_LIMITS[1]):.2g}")
        config = self.form.config()
        if config is None:
            self.status_label.setText("Fix the form first: " + "; ".join(self.form.problems))
            return
        self.form.set_config(config.replace(learning_rate=value))
        self.learning_rate_chosen.emit(value)
        self.workspace.post_message(f"Learning rate set to {value:g} from the range test")

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        self.cancel()
        return join(self.thread, timeout_ms)

    # -- the worker's reports ---------------------------------------------------------------------

    @Slot(object)
    def _on_progress(self, event) -> None:
        if isinstance(event, LrProgress):
            self.status_label.setText(f"Range test {event.run + 1} of {event.runs}: learning rate "
                                      f"{event.learning_rate:.1e}, smoothed loss {event.smoothed_loss:.3f}")

    @Slot(object)
    def _on_result(self, result: LrFinderResult) -> None:
        self.show_result(result)
        self.range_test_finished.emit(result)

    @Slot(str)
    def _on_error(self, message: str) -> None:
        self.status_label.setText("Range test cancelled." if message == "cancelled" else
                                  f"The range test failed: {message}")

    @Slot()
    def _on_finished(self) -> None:
        join(self.thread)
        self.worker = self.thread = None
        self._update_buttons()

    def show_result(self, result: LrFinderResult) -> None:
        self.result = result
        lows = []
        for curve_item, curve in zip(self.curves, result.curves):
            curve_item.setData(curve.learning_rates, curve.smoothed)
            if len(curve.smoothed):
                lows.append(float(curve.smoothed.min()))
        learns, diverges = result.zones()
        edges = [math.log10(v) for v in (START_LR, learns, diverges, END_LR)]
        top = 4 * min(lows) if lows else 3.0
        for i, (region, label) in enumerate(self.zones):
            region.setRegion((edges[i], edges[i + 1]))
            region.setVisible(True)
            label.setPos((edges[i] + edges[i + 1]) / 2, min(top, 3.2))
            label.setVisible(True)
        self.band.setRegion((math.log10(result.low), math.log10(result.high)))
        self.band.setVisible(True)
        self.suggestion_line.setValue(math.log10(result.suggestion))
        self.suggestion_line.setVisible(True)
        item = self.plot.getPlotItem()
        item.setXRange(math.log10(START_LR), math.log10(END_LR), padding=0.02)
        if lows:
            item.setYRange(min(lows) * 0.95, min(top, 3.2), padding=0.02)
        self.suggestion_label.setText(result.band_text + ". A single run's suggestion moves with its batches, "
                                      "so the band shows the spread.")
        self.status_label.setText(f"Below {learns:.2g} learning is too slow; above {diverges:.2g} the loss climbs.")
        self.use_button.setText(f"Use {result.suggestion:.2g}")
        self._update_buttons()

    # -- reactions ---------------------------------------------------------------------------------

    def _on_plot_clicked(self, event) -> None:
        if self.result is None:
            return
        view = self.plot.getPlotItem().vb
        if not view.sceneBoundingRect().contains(event.scenePos()):
            return
        log_lr = view.mapSceneToView(event.scenePos()).x()
        self.choose_learning_rate(10 ** float(np.clip(log_lr, math.log10(LR_LIMITS[0]), math.log10(LR_LIMITS[1]))))

    @Slot()
    def _update_buttons(self, *_: object) -> None:
        ready = self.workspace.split is not None and self.form.is_valid
        self.find_button.setEnabled(ready and not self.running)
        self.cancel_button.setEnabled(self.running)
        self.use_button.setEnabled(self.result is not None and not self.running)
