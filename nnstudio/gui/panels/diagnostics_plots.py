"""Live training diagnostics, per layer and epoch: update-to-weight ratios, gradient norms,
dead ReLU units, and each layer's weight histogram against the one training started from."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from nnstudio.core.diagnostics import HEALTHY_UPDATE_RATIO
from nnstudio.gui.panels.inside_style import layer_colour, steady_label, style_axes

EXPLANATION = ("Update ratio ‖lr·g‖/‖W‖: how much one step changes a layer's weights. Around 1e-3 (dashed) "
               "is healthy; far above, the learning rate is too high; far below, training crawls.")


class DiagnosticsPlots(QWidget):
    """Filled from ``session.epoch_finished`` reports that carry diagnostics; cleared when a new run starts."""

    def __init__(self, session=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diagnosticsPlots")
        self.setAccessibleName("Training diagnostics")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(None)
        self.graphics.setMinimumHeight(110)
        self.ratio_plot = self._plot(0, 0, "update / weight ratio", log=True)
        self.gradient_plot = self._plot(0, 1, "gradient norm ‖g‖", log=True)
        self.dead_plot = self._plot(0, 2, "dead ReLU units (%)")
        self.histogram_plot = self._plot(0, 3, "weights: now (filled) vs start (dashed)")
        self.dead_plot.setYRange(0, 100, padding=0.02)
        self.dead_plot.getViewBox().setLimits(yMin=-1, yMax=101)
        self.healthy_line = pg.InfiniteLine(pos=math.log10(HEALTHY_UPDATE_RATIO), angle=0,
                                            pen=pg.mkPen((150, 150, 150), width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
                                            label="1e-3", labelOpts={"position": 0.05, "color": (150, 150, 150)})
        self.ratio_plot.addItem(self.healthy_line)
        self.ratio_plot.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self.histogram_now = pg.PlotDataItem(stepMode="center", fillLevel=0, pen=pg.mkPen(layer_colour(0)),
                                             brush=pg.mkBrush(*layer_colour(0), 90))
        self.histogram_start = pg.PlotDataItem(stepMode="center", pen=pg.mkPen((230, 120, 0), width=1.5,
                                                                                style=pg.QtCore.Qt.PenStyle.DashLine))
        self.histogram_plot.addItem(self.histogram_now)
        self.histogram_plot.addItem(self.histogram_start)

        self.layer_box = QComboBox()
        self.layer_box.setObjectName("histogramLayer")
        self.layer_box.setAccessibleName("Layer of the weight histogram")
        self.layer_box.currentIndexChanged.connect(self._show_histogram)
        self.caption = steady_label("diagnosticsCaption", 2, "Train a network to see inside it, epoch by epoch.")
        self.caption.setToolTip(EXPLANATION)
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(QLabel("histogram of"))
        top.addWidget(self.layer_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)

        self.curves: list[tuple[pg.PlotDataItem, pg.PlotDataItem, pg.PlotDataItem | None]] = []
        self._dirty = False
        self._timer = QTimer(self)  # redraws at most a few times a second, however fast epochs come
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self._redraw)
        self.epochs: list[int] = []
        self.records: list = []  # Diagnostics, one per epoch shown
        if session is not None:
            session.started.connect(self._on_started)
            session.epoch_finished.connect(self.add_epoch)
            if hasattr(session, "cleared"):
                session.cleared.connect(self.clear)

    def _plot(self, row: int, column: int, title: str, *, log: bool = False) -> pg.PlotItem:
        plot = self.graphics.addPlot(row=row, col=column, title=title)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.showGrid(x=False, y=True, alpha=0.2)
        style_axes(plot, self)
        if log:
            plot.setLogMode(y=True)
        if column < 3:
            plot.setLabel("bottom", "epoch")
        return plot

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
            return
        d = self.records[-1]
        self._ensure_curves(d)
        x = np.array(self.epochs, dtype=float)
        for i, (ratio, gradient, dead) in enumerate(self.curves):
            ratio.setData(x, np.array([max(r.layers[i].update_ratio, 1e-12) for r in self.records]))
            gradient.setData(x, np.array([max(r.layers[i].gradient_norm, 1e-12) for r in self.records]))
            if dead is not None:
                dead.setData(x, np.array([100 * r.layers[i].dead_share for r in self.records]))
        # At least three decades, the 1e-3 line always in view: the scale itself tells the story.
        ratios_all = np.array([[layer.update_ratio for layer in r.layers] for r in self.records])
        ratios_all = ratios_all[np.isfinite(ratios_all) & (ratios_all > 0)]
        if ratios_all.size:
            low = min(math.floor(math.log10(ratios_all.min())), -4)
            high = max(math.ceil(math.log10(ratios_all.max())), -1)
            self.ratio_plot.setYRange(low, high, padding=0)
        ratios = " / ".join(f"{layer.update_ratio:.1e}" for layer in d.layers)
        dead_text = " / ".join(f"{100 * layer.dead_share:.0f}%" for layer in d.layers if layer.dead_share is not None)
        self.caption.setText(f"Epoch {self.epochs[-1]} · update ratios by layer {ratios}"
                             + (f" · dead units {dead_text}" if dead_text else "") + " (1e-3 is healthy)")
        self._show_histogram()

    @Slot()
    def clear(self) -> None:
        self.epochs, self.records = [], []
        self._timer.stop()
        self._dirty = False
        for items in self.curves:
            for item in items:
                if item is not None:
                    item.setData([], [])
        self.histogram_now.setData([], [])
        self.histogram_start.setData([], [])
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

    def _ensure_curves(self, d) -> None:
        if len(self.curves) == len(d.layers):
            return
        for items in self.curves:
            for plot, item in zip((self.ratio_plot, self.gradient_plot, self.dead_plot), items):
                if item is not None:
                    plot.removeItem(item)
        self.curves = []
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        last = len(d.layers) - 1
        for i, layer in enumerate(d.layers):
            pen = pg.mkPen(layer_colour(i), width=2)
            name = "output" if i == last else f"layer {layer.layer}"
            ratio = self.ratio_plot.plot([], [], pen=pen, symbol="o", symbolSize=5, symbolBrush=layer_colour(i),
                                         name=name)
            gradient = self.gradient_plot.plot([], [], pen=pen, symbol="o", symbolSize=5,
                                               symbolBrush=layer_colour(i))
            dead = None
            if layer.dead_units is not None:
                dead = self.dead_plot.plot([], [], pen=pen, symbol="o", symbolSize=5, symbolBrush=layer_colour(i))
            self.curves.append((ratio, gradient, dead))
            self.layer_box.addItem(f"{name} ({layer.units} units)")
        self.layer_box.blockSignals(False)

    @Slot()
    def _show_histogram(self, *_: object) -> None:
        if not self.records:
            return
        i = max(self.layer_box.currentIndex(), 0)
        layer = self.records[-1].layers[i]
        colour = layer_colour(i)
        self.histogram_now.setPen(pg.mkPen(colour))
        self.histogram_now.setBrush(pg.mkBrush(*colour, 90))
        self.histogram_now.setData(layer.edges, layer.histogram)
        self.histogram_start.setData(layer.edges, layer.initial_histogram)
