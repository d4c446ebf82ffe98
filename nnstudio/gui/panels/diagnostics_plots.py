"""Live training diagnostics, per layer and epoch: update-to-weight ratios, gradient norms,
dead ReLU units, and each layer's weight histogram against the one training started from.
With "every N batches" set (``diagnosticsEvery``), the update ratios (and, for plain SGD, the
gradient norms) of every N-th step are drawn as thin lines between the epoch points.

They are redrawn during training, on the GUI thread, so they are four small QPainter charts
(:mod:`~nnstudio.gui.panels.mini_chart`) whose ranges move in coarse steps (whole decades, a
"nice" number of epochs or counts): an epoch repaints a cached background and a few short
lines. (Four pyqtgraph plots cost tens of milliseconds per epoch, enough to stall the window.)
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from nnstudio.core.diagnostics import HEALTHY_UPDATE_RATIO
from nnstudio.core.limits import LIMITS
from nnstudio.gui.panels.inside_style import layer_colour
from nnstudio.gui.steady_label import steady_label
from nnstudio.gui.panels.mini_chart import MiniChart, Series

START_COLOUR = QColor(230, 120, 0)

EXPLANATION = ("Update ratio ‖lr·g‖/‖W‖: how much one step changes a layer's weights. Around 1e-3 (dashed) "
               "is healthy; far above, the learning rate is too high; far below, training crawls.")


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 × 10^k at or above ``value`` (1 for anything up to 1)."""
    if not value > 1:
        return 1.0
    decade = 10 ** math.floor(math.log10(value))
    return next(step * decade for step in (1, 2, 5, 10) if step * decade >= value)


def decades(values: np.ndarray, low: int, high: int) -> tuple[int, int]:
    """Whole decades (log10) around the positive finite ``values``, at least ``low`` .. ``high``."""
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return low, high
    return min(math.floor(math.log10(values.min())), low), max(math.ceil(math.log10(values.max())), high)


class DiagnosticsPlots(QWidget):
    """Filled from ``session.epoch_finished`` reports that carry diagnostics; cleared when a new run starts."""

    def __init__(self, session=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diagnosticsPlots")
        self.setAccessibleName("Training diagnostics")
        self.ratio_plot = MiniChart("update / weight ratio", log_y=True, x_label="epoch", legend=True)
        self.gradient_plot = MiniChart("gradient norm ‖g‖", log_y=True, x_label="epoch")
        self.dead_plot = MiniChart("dead ReLU units (%)", x_label="epoch")
        self.histogram_plot = MiniChart("weights: now (filled) vs start (dashed)", x_label="weight")
        self.charts = (self.ratio_plot, self.gradient_plot, self.dead_plot, self.histogram_plot)
        for chart, name in zip(self.charts, ("ratioChart", "gradientChart", "deadChart", "histogramChart")):
            chart.setObjectName(name)
            chart.setAccessibleName(chart.title)
            chart.setMinimumHeight(110)
        self.ratio_plot.set_reference(HEALTHY_UPDATE_RATIO, "1e-3")
        self.dead_plot.set_ranges((0.5, 5.5), (-2, 102))

        self.layer_box = QComboBox()
        self.layer_box.setObjectName("histogramLayer")
        self.layer_box.setAccessibleName("Layer of the weight histogram")
        self.layer_box.currentIndexChanged.connect(self._show_histogram)
        self.caption = steady_label("diagnosticsCaption", 2, "Train a network to see inside it, epoch by epoch.")
        self.caption.setToolTip(EXPLANATION)
        self.every_box = QSpinBox()
        self.every_box.setObjectName("diagnosticsEvery")
        self.every_box.setAccessibleName("Diagnostics every N batches")
        self.every_box.setRange(0, int(LIMITS["diagnostics_every"][1]))
        self.every_box.setSingleStep(50)
        self.every_box.setPrefix("also every ")
        self.every_box.setSuffix(" batches")
        self.every_box.setSpecialValueText("per epoch only")
        self.every_box.setToolTip("Also measure the update ratios every N training steps (0: at each epoch's "
                                  "end only); they show between the epoch points. Applies at once.")
        self.every_box.valueChanged.connect(self._on_every_changed)
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.every_box)
        top.addWidget(QLabel("histogram of"))
        top.addWidget(self.layer_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        charts = QHBoxLayout()
        charts.setContentsMargins(0, 0, 0, 0)
        for chart in self.charts:
            charts.addWidget(chart, 1)
        layout.addLayout(charts, 1)
        self.layers = 0  # layers in the records shown
        self._dirty = False
        self._timer = QTimer(self)  # redraws at most a few times a second, however fast epochs come
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self._redraw)
        self.epochs: list[int] = []
        self.records: list = []  # Diagnostics, one per epoch shown
        self.batch_points: list = []  # BatchDiagnostics, every N batches
        self.session = session
        if session is not None:
            session.started.connect(self._on_started)
            session.epoch_finished.connect(self.add_epoch)
            if hasattr(session, "launching"):
                session.launching.connect(self._apply_every)
            if hasattr(session, "progressed"):
                session.progressed.connect(self.add_progress)
            if hasattr(session, "cleared"):
                session.cleared.connect(self.clear)

    # -- public API -----------------------------------------------------------------------------

    @Slot(object)
    def add_epoch(self, report) -> None:
        """Append one epoch's diagnostics (a report without any is ignored)."""
        d = getattr(report, "diagnostics", None)
        if d is None:
            return
        if self.records and len(self.records[-1].layers) != len(d.layers):
            self.clear()
        if self.epochs and report.epoch <= self.epochs[-1]:  # a new run of the same shape
            self.clear()
        self.epochs.append(report.epoch)
        self.records.append(d)
        self._schedule()

    @Slot(object)
    def add_progress(self, reports) -> None:
        """Append the every-N-batches diagnostics that batch reports (a tuple of BatchProgress) carry."""
        points = [d for report in reports for d in getattr(report, "diagnostics", ())]
        if not points:
            return
        if self.records and len(self.records[-1].layers) != len(points[0].update_ratios):
            self.clear()
        self.batch_points.extend(points)
        self._schedule()

    def batch_positions(self) -> np.ndarray:
        """Where the every-N-batches points lie, in epochs (``epoch - 1 + batch / batches``)."""
        return np.array([p.position for p in self.batch_points], dtype=float)

    def batch_update_ratios(self) -> np.ndarray:
        """The every-N-batches ratios shown, ``(points, layers)``."""
        if not self.batch_points:
            return np.zeros((0, self.layers))
        return np.array([p.update_ratios for p in self.batch_points], dtype=float)

    def set_every(self, batches: int) -> None:
        """Measure every ``batches`` batches too (0: per epoch only): the run going on, and the next."""
        self.every_box.setValue(batches)

    def _schedule(self) -> None:
        """Redraw soon, once for however many epochs came meanwhile; when hidden, when shown."""
        if not self.isVisible():
            self._dirty = True
        elif not self._timer.isActive():
            self._timer.start()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._dirty:
            self._redraw()

    def _redraw(self) -> None:
        self._dirty = False
        if not self.records:
            self._draw_batch_points_only()
            return
        d = self.records[-1]
        self._ensure_layers(d)
        x = np.array(self.epochs, dtype=float)
        last = len(d.layers) - 1
        ratios, gradients, dead = self._batch_series(len(d.layers)), self._batch_series(len(d.layers), True), []
        for i, layer in enumerate(d.layers):
            colour = QColor(*layer_colour(i))
            name = "output" if i == last else f"layer {layer.layer}"
            ratios.append(Series(x, np.array([max(r.layers[i].update_ratio, 1e-12) for r in self.records]),
                                 colour, name))
            gradients.append(Series(x, np.array([max(r.layers[i].gradient_norm, 1e-12) for r in self.records]),
                                    colour))
            if layer.dead_share is not None:
                dead.append(Series(x, np.array([100 * r.layers[i].dead_share for r in self.records]), colour))
        # Epochs up to a nice number; at least three decades of ratios, the 1e-3 line always in
        # view: the scale itself tells the story.
        epochs = (0.5, nice_ceiling(max(self.epochs[-1], 5)) + 0.5)
        shown = np.concatenate([np.ravel([r.update_ratios for r in self.records]), self.batch_update_ratios().ravel()])
        low, high = decades(shown, -4, -1)
        self.ratio_plot.set_ranges(epochs, (low, high))
        self.ratio_plot.set_series(ratios)
        shown = np.concatenate([np.ravel([[la.gradient_norm for la in r.layers] for r in self.records]),
                                np.ravel([p.gradient_norms for p in self.batch_points if p.gradient_norms])])
        low, high = decades(shown, 0, 0)
        self.gradient_plot.set_ranges(epochs, (low, high))
        self.gradient_plot.set_series(gradients)
        self.dead_plot.set_ranges(epochs, (-2, 102))
        self.dead_plot.set_series(dead)
        ratios = " / ".join(f"{layer.update_ratio:.1e}" for layer in d.layers)
        dead_text = " / ".join(f"{100 * layer.dead_share:.0f}%" for layer in d.layers if layer.dead_share is not None)
        self.caption.setText(f"Epoch {self.epochs[-1]} · update ratios by layer {ratios}"
                             + (f" · dead units {dead_text}" if dead_text else "") + " (1e-3 is healthy)")
        self._show_histogram()

    def _batch_series(self, layers: int, gradients: bool = False) -> list[Series]:
        """Thin lines through the every-N-batches points of each layer (before the epoch points)."""
        points = [p for p in self.batch_points if not gradients or p.gradient_norms is not None]
        if not points:
            return []
        x = np.array([p.position for p in points], dtype=float)
        values = np.array([p.gradient_norms if gradients else p.update_ratios for p in points], dtype=float)
        return [Series(x, np.maximum(values[:, i], 1e-12), QColor(*layer_colour(i)), markers=False, width=1.0)
                for i in range(min(layers, values.shape[1]))]

    def _draw_batch_points_only(self) -> None:
        """Before the first epoch's end: the every-N-batches points alone."""
        if not self.batch_points:
            return
        last = self.batch_points[-1]
        epochs = (0.5, nice_ceiling(max(last.epoch, 5)) + 0.5)
        self.ratio_plot.set_ranges(epochs, decades(self.batch_update_ratios().ravel(), -4, -1))
        self.ratio_plot.set_series(self._batch_series(len(last.update_ratios)))
        gradients = np.ravel([p.gradient_norms for p in self.batch_points if p.gradient_norms])
        self.gradient_plot.set_ranges(epochs, decades(gradients, 0, 0))
        self.gradient_plot.set_series(self._batch_series(len(last.update_ratios), True))
        ratios = " / ".join(f"{r:.1e}" for r in last.update_ratios)
        self.caption.setText(f"Epoch {last.epoch}, batch {last.batch} · update ratios by layer {ratios} (1e-3 is healthy)")

    @Slot(int)
    def _on_every_changed(self, batches: int) -> None:
        self._apply_every()

    @Slot()
    def _apply_every(self) -> None:
        """Hand the interval to the session's trainer: before a run starts, or live (a plain int it
        reads between batches)."""
        trainer = getattr(self.session, "trainer", None)
        if trainer is not None and hasattr(trainer, "set_diagnostics_every"):
            trainer.set_diagnostics_every(self.every_box.value())

    @Slot()
    def clear(self) -> None:
        self.epochs, self.records, self.batch_points = [], [], []
        self._timer.stop()
        self._dirty = False
        for chart in self.charts:
            chart.set_series([])
        self.caption.setText("Train a network to see inside it, epoch by epoch.")

    def update_ratios(self) -> np.ndarray:
        """The ratios shown, ``(epochs, layers)``."""
        return np.array([r.update_ratios for r in self.records]).reshape(len(self.records), -1)

    def dead_shares(self) -> np.ndarray:
        return np.array([[np.nan if layer.dead_share is None else layer.dead_share for layer in r.layers]
                         for r in self.records])

    def histograms(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The histogram shown (now, start) for the layer picked, or None."""
        if not self.records:
            return None
        layer = self.records[-1].layers[max(self.layer_box.currentIndex(), 0)]
        return layer.histogram, layer.initial_histogram

    # -- helpers ----------------------------------------------------------------------------------

    @Slot(object)
    def _on_started(self, launch=None) -> None:
        if not getattr(launch, "continued", False):
            self.clear()

    def _ensure_layers(self, d) -> None:
        """One entry per layer in the histogram's layer box."""
        if self.layers == len(d.layers):
            return
        self.layers = len(d.layers)
        last = len(d.layers) - 1
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        for i, layer in enumerate(d.layers):
            name = "output" if i == last else f"layer {layer.layer}"
            self.layer_box.addItem(f"{name} ({layer.units} units)")
        self.layer_box.blockSignals(False)

    @Slot()
    def _show_histogram(self, *_: object) -> None:
        if not self.records:
            return
        i = max(self.layer_box.currentIndex(), 0)
        layer = self.records[-1].layers[i]
        colour = QColor(*layer_colour(i))
        top = nice_ceiling(1.05 * max(float(layer.histogram.max()), float(layer.initial_histogram.max())))
        self.histogram_plot.set_ranges((float(layer.edges[0]), float(layer.edges[-1])), (0, top))
        self.histogram_plot.set_series([
            Series(layer.edges, layer.histogram, colour, markers=False, fill=True, width=1.0),
            Series(layer.edges, layer.initial_histogram, START_COLOUR, markers=False, dashed=True, width=1.5)])
