"""The live plots of a training run: accuracy, loss and the per-batch loss on one epoch axis.

:class:`TrainingPlots` is fed by the dashboard from GUI-thread slots: :meth:`~TrainingPlots.start_run`,
then :meth:`~TrainingPlots.add_batches`, :meth:`~TrainingPlots.mark_change` and
:meth:`~TrainingPlots.add_epoch` as the trainer reports, and :meth:`~TrainingPlots.show_result` at the end.
Every plot item is created once and only ever given new data, so an update costs no more than the
points it adds; finished runs can stay on screen as dashed *overlays* for comparison.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QGraphicsItem, QHBoxLayout, QLabel, QSizePolicy,
                               QSlider, QToolButton, QVBoxLayout, QWidget)

from nnstudio.core.reports import BatchProgress, EpochReport, SettingChanged, TrainingResult
from nnstudio.gui.naming import named



# The Okabe-Ito palette: distinguishable with every common colour-vision deficiency.
BLUE, ORANGE, GREEN = "#0072B2", "#E69F00", "#009E73"
VERMILLION, PURPLE, SKY_BLUE, YELLOW = "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"
TRAIN_COLOR, VALIDATION_COLOR, BEST_COLOR = BLUE, ORANGE, GREEN
CHANGE_COLOR = "#6E6E6E"
# Comparison runs: the live run's own colours come last, so the first five never clash with it.
RUN_COLORS = (PURPLE, VERMILLION, "#3A3A3A", SKY_BLUE, "#B8A300", GREEN, BLUE, ORANGE)
BACKGROUND, FOREGROUND = "w", "#303030"
AXIS_WIDTH = 62  # px: equal left axes keep the linked plots' epochs lined up on screen
SETTING_NAMES = {"learning_rate": "lr", "momentum": "momentum", "patience": "patience"}
MAX_SMOOTHING = 0.999
NO_RUN = "no run yet"


def run_color(index: int) -> QColor:
    """The colour of the ``index``-th run in comparisons (the runs list uses it too); cycles after 8."""
    return QColor(RUN_COLORS[index % len(RUN_COLORS)])


def smoothed(values: np.ndarray, alpha: float, previous: float | None = None) -> np.ndarray:
    """The exponential moving average of ``values``, continuing from ``previous`` (the last EMA value).

    ``s = alpha * s + (1 - alpha) * value``; without ``previous`` it starts at the first value.
    """
    out = []
    s = None if previous is None else float(previous)
    for value in values.tolist():
        s = value if s is None else alpha * s + (1.0 - alpha) * value
        out.append(s)
    return np.array(out, dtype=np.float64)


class GrowingArray:
    """A float64 array that grows by doubling: amortised O(1) appends, and views for ``setData``."""

    def __init__(self, capacity: int = 1024) -> None:
        self._data = np.empty(max(capacity, 1))
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        """How many values fit before the next reallocation."""
        return len(self._data)

    @property
    def values(self) -> np.ndarray:
        """The filled part, as a view (valid until the next append)."""
        return self._data[:self._size]

    def extend(self, values) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        end = self._size + len(values)
        if end > len(self._data):
            grown = np.empty(max(end, 2 * len(self._data)))
            grown[:self._size] = self._data[:self._size]
            self._data = grown
        self._data[self._size:end] = values
        self._size = end

    def clear(self) -> None:
        self._size = 0


@dataclass
class Overlay:
    """A finished run drawn for comparison."""

    label: str
    history: tuple[EpochReport, ...]
    color: QColor
    accuracy_curve: pg.PlotDataItem
    loss_curve: pg.PlotDataItem

    @property
    def visible(self) -> bool:
        return self.accuracy_curve.isVisible()


@dataclass
class _Columns:
    """The live run's per-epoch figures, as growing arrays."""

    epoch: GrowingArray = field(default_factory=lambda: GrowingArray(128))
    train_accuracy: GrowingArray = field(default_factory=lambda: GrowingArray(128))
    val_accuracy: GrowingArray = field(default_factory=lambda: GrowingArray(128))
    train_loss: GrowingArray = field(default_factory=lambda: GrowingArray(128))
    val_loss: GrowingArray = field(default_factory=lambda: GrowingArray(128))

    def append(self, report: EpochReport, at: float | None = None) -> None:
        """``report``'s figures, at its epoch (or at ``at``)."""
        self.epoch.extend([report.epoch if at is None else at])
        self.train_accuracy.extend([100.0 * report.train_accuracy])
        self.val_accuracy.extend([100.0 * report.val_accuracy])
        self.train_loss.extend([report.train_loss])
        self.val_loss.extend([report.val_loss])

    def append_break(self) -> None:
        """A gap: the curves (drawn with connect="finite") do not join the points either side."""
        for column in (self.epoch, self.train_accuracy, self.val_accuracy, self.train_loss, self.val_loss):
            column.extend([np.nan])

    def clear(self) -> None:
        for column in (self.epoch, self.train_accuracy, self.val_accuracy, self.train_loss, self.val_loss):
            column.clear()


def percent(fraction: float) -> str:
    return f"{100.0 * fraction:.2f}%"


def nearest_report(history: Sequence[EpochReport], x: float) -> EpochReport:
    return min(history, key=lambda report: abs(report.epoch - x))


def describe_change(change: SettingChanged) -> str:
    """``"lr 0.1→0.01"``, ``"patience 5→2"``, ``"momentum 0→0.9"``."""
    name = SETTING_NAMES.get(change.name, change.name.replace("_", " "))
    return f"{name} {change.old:g}→{change.new:g}"


def short_ending(result: TrainingResult) -> str:
    """How a run ended, in a few words for its title ("diverged at epoch 9"); the full message goes
    in the tooltip and the status bar. A stopped or diverged run ended during the epoch after the
    last one it completed."""
    return {"early_stopping": f"early stopping after {result.epochs} epochs",
            "max_epochs": f"{result.epochs} epochs done",
            "stopped": f"stopped at epoch {result.epochs + 1}",
            "diverged": f"diverged at epoch {result.epochs + 1}"}.get(result.reason, result.reason.replace("_", " "))


class GridAxis(pg.AxisItem):
    """An axis whose grid lines are opaque, pre-blended onto the white background, and sit under the data.

    pyqtgraph draws a grid as translucent tick lines without antialiasing, which Qt's raster engine
    blends pixel by pixel: some 7 ms for one axis's grid on a 700 px plot. Opaque lines of the
    same resulting colour take a twentieth of that. Opaque lines must not cross the curves, so
    :func:`layer_axes` puts the axes (and their grid) below the plot's data.
    """

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802 (pyqtgraph's name)
        super().drawPicture(p, axisSpec, [(on_white(pen), p1, p2) for pen, p1, p2 in tickSpecs], textSpecs)


def on_white(pen: QPen) -> QPen:
    """``pen`` with its translucent colour replaced by the opaque colour it shows on white."""
    color = pen.color()
    alpha = color.alphaF()
    if alpha >= 1.0:
        return pen
    pen = QPen(pen)
    pen.setColor(QColor(*(round(alpha * c + (1.0 - alpha) * 255) for c in color.getRgb()[:3])))
    return pen


class LossAxis(GridAxis):
    """A left axis whose log mode labels only 1, 2 and 5 times a power of ten; the other minor ticks crowd."""

    def tickStrings(self, values, scale, spacing):
        strings = super().tickStrings(values, scale, spacing)
        if self.logMode and spacing is None:  # the minor ticks of a log axis
            mantissas = [10 ** (v - np.floor(v)) for v in values]
            strings = [s if np.isclose(m, (1, 2, 5, 10)).any() else "" for s, m in zip(strings, mantissas)]
        return strings


def layer_axes(plots: Sequence[pg.PlotItem]) -> None:
    """Draw each axis under its plot's data, and keep it as a pixmap redrawn only when its range changes.

    An axis is the costliest thing on a plot to paint (text, and a grid line across the view per
    tick), and most repaints during a run (a new batch on one plot, a moved marker) leave every
    axis as it was: with the cache they blit it instead of drawing it again.
    """
    for plot in plots:
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setZValue(plot.vb.zValue() - 1)  # the grid under the curves
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def nice_end(end: float) -> float:
    """Round the x axis's end up to a step of 5 epochs (10 past 50, 50 past 200): the view then
    grows every few epochs, not at every one, and a grown axis costs a repaint of all three plots."""
    step = 5 if end <= 50 else 10 if end <= 200 else 50
    return float(np.ceil(end / step) * step)


def style_plot(plot: pg.PlotItem, left: str, bottom: str | None = "epoch") -> None:
    """The house style: soft grid, dark-grey axes, readable labels, equal left-axis widths."""
    plot.showGrid(x=True, y=True, alpha=0.12)
    plot.hideButtons()
    font = QFont()
    font.setPointSizeF(9)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(FOREGROUND))
        axis.setTextPen(pg.mkPen(FOREGROUND))
        axis.setTickFont(font)
        axis.enableAutoSIPrefix(False)  # "loss (x0.001)" reads worse than 0.05
    plot.getAxis("left").setWidth(AXIS_WIDTH)
    label_style = {"color": FOREGROUND, "font-size": "10pt"}
    plot.setLabel("left", left, **label_style)
    if bottom:
        plot.setLabel("bottom", bottom, **label_style)
    else:  # the plot below shows the epochs; keep the grid, drop the repeated numbers
        plot.getAxis("bottom").setStyle(showValues=False)
        plot.getAxis("bottom").setHeight(6)
    plot.setMenuEnabled(False)


class TrainingPlots(QWidget):
    """Accuracy, loss and per-batch loss of the live run, sharing the epoch axis, plus comparison runs.

    The x range follows the run until the user zooms or pans; "fit" (or a new run) resumes following.
    """

    smoothing_changed = Signal(float)
    log_loss_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, smoothing: float = 0.9) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self._label = ""
        self._max_epochs = 0
        self._patience = 0
        self._alpha = float(smoothing)
        self._log_loss = False
        self._history: list[EpochReport] = []
        self._columns = _Columns()
        self._batch_x = GrowingArray(8192)
        self._batch_loss = GrowingArray(8192)
        self._batch_ema = GrowingArray(8192)
        self._overlays: dict[str, Overlay] = {}
        self._change_lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self.restored_at: list[int] = []  # where a continuation restored the best weights (marked)
        self._legend_groups: dict[int, list[pg.GraphicsObject]] = {}
        self._following = True
        self._accuracy_placeholder = False  # the accuracy plot shows 0-100 % while it has nothing to show

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.graphics.ci.setSpacing(4)
        self.accuracy_plot = self.graphics.addPlot(row=0, col=0, axisItems={"left": GridAxis("left"),
                                                                            "bottom": GridAxis("bottom")})
        self.loss_plot = self.graphics.addPlot(row=1, col=0, axisItems={"left": LossAxis("left"),
                                                                        "bottom": GridAxis("bottom")})
        self.batch_plot = self.graphics.addPlot(row=2, col=0, axisItems={"left": LossAxis("left"),
                                                                         "bottom": GridAxis("bottom")})
        self.plots = (self.accuracy_plot, self.loss_plot, self.batch_plot)
        style_plot(self.accuracy_plot, "accuracy (%)", None)
        style_plot(self.loss_plot, "loss", None)
        style_plot(self.batch_plot, "batch loss", "epoch")
        for plot in self.plots:
            plot.enableAutoRange(x=False, y=True)
            plot.vb.sigRangeChangedManually.connect(self._stop_following)
            if plot is not self.accuracy_plot:
                plot.setXLink(self.accuracy_plot)
        layer_axes(self.plots)
        self.graphics.ci.layout.setRowStretchFactor(0, 10)
        self.graphics.ci.layout.setRowStretchFactor(1, 10)
        self.graphics.ci.layout.setRowStretchFactor(2, 8)

        self._create_items()
        self._create_controls()
        self.graphics.scene().sigMouseMoved.connect(self._show_readout_at_scene)
        self._show_accuracy_placeholder()
        self._fit_x()

    # -- construction ------------------------------------------------------------------------

    def _create_items(self) -> None:
        self.accuracy_legend = self.accuracy_plot.addLegend(offset=(-10, -10), labelTextColor=FOREGROUND,
                                                            brush=pg.mkBrush(255, 255, 255, 210))
        self.accuracy_legend.sigSampleClicked.connect(self._sync_group_visibility)
        self.batch_legend = self.batch_plot.addLegend(offset=(-10, 10), labelTextColor=FOREGROUND,
                                                      brush=pg.mkBrush(255, 255, 255, 210))

        self.patience_region = pg.LinearRegionItem((0, 0), movable=False, brush=pg.mkBrush(0, 158, 115, 28),
                                                   pen=pg.mkPen(0, 158, 115, 90))
        self.patience_region.setZValue(-20)
        self.patience_region.hide()
        self.patience_label = pg.InfLineLabel(self.patience_region.lines[1], "", position=0.92,
                                              anchors=[(1, 0), (1, 0)], color=GREEN)
        self.loss_plot.addItem(self.patience_region, ignoreBounds=True)

        def epoch_curve(plot: pg.PlotItem, color: str, name: str | None) -> pg.PlotDataItem:
            return plot.plot([], [], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5, connect="finite",
                             symbolPen=pg.mkPen(color), symbolBrush=pg.mkBrush(color), name=name)

        self.train_acc_curve = epoch_curve(self.accuracy_plot, TRAIN_COLOR, "train")
        self.val_acc_curve = epoch_curve(self.accuracy_plot, VALIDATION_COLOR, "validation")
        self.train_loss_curve = epoch_curve(self.loss_plot, TRAIN_COLOR, None)
        self.val_loss_curve = epoch_curve(self.loss_plot, VALIDATION_COLOR, None)
        self._legend_groups[id(self.train_acc_curve)] = [self.train_loss_curve]
        self._legend_groups[id(self.val_acc_curve)] = [self.val_loss_curve]

        self.batch_curve = self.batch_plot.plot([], [], pen=pg.mkPen(QColor(86, 180, 233, 110), width=1),
                                                name="batch loss", antialias=False)
        self.ema_curve = self.batch_plot.plot([], [], pen=pg.mkPen(TRAIN_COLOR, width=2), name="smoothed")
        # The raw trace is thousands of short, faint segments: antialiasing them costs more than the
        # rest of the plots together and shows nothing. The per-epoch curves keep theirs.
        for curve in (self.batch_curve, self.ema_curve):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            curve.setSkipFiniteCheck(True)

        # The label sits high on the loss plot, left of the line: late in a run the loss curves are
        # low there, while the accuracy plot's lower right holds its legend; below the patience label.
        self.best_marker = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(BEST_COLOR, width=1.5, style=Qt.DashLine))
        self.best_loss_marker = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(BEST_COLOR, width=1.5, style=Qt.DashLine),
                                                label="best {value:.0f}",
                                                labelOpts={"position": 0.72, "color": BEST_COLOR,
                                                           "anchors": [(1, 0), (1, 0)]})
        self.accuracy_plot.addItem(self.best_marker, ignoreBounds=True)
        self.loss_plot.addItem(self.best_loss_marker, ignoreBounds=True)
        best_point = {"pen": None, "symbol": "star", "symbolSize": 16, "symbolPen": pg.mkPen("w", width=0.8),
                      "symbolBrush": pg.mkBrush(BEST_COLOR)}
        self.best_accuracy_point = self.accuracy_plot.plot([], [], **best_point)
        self.best_loss_point = self.loss_plot.plot([], [], **best_point)
        for item in self._best_items():
            item.setZValue(10)
            item.hide()

        hover_pen = pg.mkPen(120, 120, 120, 140, width=1)
        self.hover_lines = []
        for plot in self.plots:
            line = pg.InfiniteLine(0, angle=90, pen=hover_pen)
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self.hover_lines.append(line)

    def _best_items(self) -> tuple:
        return self.best_marker, self.best_loss_marker, self.best_accuracy_point, self.best_loss_point

    def _create_controls(self) -> None:
        self.title_label = QLabel(NO_RUN)
        self.title_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # long messages clip
        title_font = self.title_label.font()
        title_font.setBold(True)
        self.title_label.setFont(title_font)
        self.result_label = QLabel("")
        self.result_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.result_label.setFont(title_font)
        self.readout_label = QLabel("")
        self.readout_label.setWordWrap(True)
        self.readout_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        readout_font = self.readout_label.font()
        readout_font.setStyleHint(QFont.Monospace)
        readout_font.setFamily("monospace")
        self.readout_label.setFont(readout_font)
        self.readout_label.setMinimumHeight(2 * self.readout_label.fontMetrics().lineSpacing() + 4)
        self.readout_label.setAlignment(Qt.AlignLeft | Qt.AlignTop)

        self.log_loss_box = QCheckBox("log loss")
        self.log_loss_box.setToolTip("Show the loss axes on a logarithmic scale")
        self.log_loss_box.toggled.connect(self.set_log_loss)

        self.smoothing_slider = QSlider(Qt.Horizontal)
        self.smoothing_slider.setRange(0, round(MAX_SMOOTHING * 1000))
        self.smoothing_slider.setFixedWidth(120)
        self.smoothing_box = QDoubleSpinBox()
        self.smoothing_box.setRange(0.0, MAX_SMOOTHING)
        self.smoothing_box.setDecimals(3)
        self.smoothing_box.setSingleStep(0.01)
        tip = "Exponential smoothing of the batch loss: 0 = raw, 0.999 = very smooth"
        self.smoothing_slider.setToolTip(tip)
        self.smoothing_box.setToolTip(tip)
        self.smoothing_slider.valueChanged.connect(lambda v: self.set_smoothing(v / 1000))
        self.smoothing_box.valueChanged.connect(self.set_smoothing)
        self.set_smoothing(self._alpha)

        self.fit_button = QToolButton()
        self.fit_button.setText("fit")
        self.fit_button.setToolTip("Show the whole run and follow it again")
        self.fit_button.clicked.connect(self.fit_view)

        for widget, name, text in ((self.title_label, "plotTitle", "Run"), (self.result_label, "runResult", "Result"),
                                   (self.readout_label, "plotReadout", "Figures under the mouse"),
                                   (self.log_loss_box, "logLoss", "Log-scale loss"),
                                   (self.smoothing_slider, "smoothingSlider", "Batch-loss smoothing"),
                                   (self.smoothing_box, "smoothing", "Batch-loss smoothing"),
                                   (self.fit_button, "fitButton", "Fit plots"),
                                   (self.graphics, "plotsView", "Accuracy, loss and batch loss plots")):
            named(widget, name, text)
        header = QHBoxLayout()
        header.addWidget(self.title_label, 1)
        header.addWidget(self.result_label)
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.log_loss_box)
        toolbar.addSpacing(12)
        toolbar.addWidget(QLabel("batch-loss smoothing"))
        toolbar.addWidget(self.smoothing_slider)
        toolbar.addWidget(self.smoothing_box)
        toolbar.addSpacing(12)
        toolbar.addWidget(self.fit_button)
        toolbar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addLayout(toolbar)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout_label)
        self._show_readout_hint()

    # -- the live run --------------------------------------------------------------------------

    def start_run(self, label: str, max_epochs: int, patience: int) -> None:
        """Clear the live curves, markers and setting changes for a new run; overlays stay."""
        self._label, self._max_epochs, self._patience = label, int(max_epochs), int(patience)
        self._history.clear()
        self._columns.clear()
        for array in (self._batch_x, self._batch_loss, self._batch_ema):
            array.clear()
        for curve in (self.train_acc_curve, self.val_acc_curve, self.train_loss_curve, self.val_loss_curve,
                      self.batch_curve, self.ema_curve, self.best_accuracy_point, self.best_loss_point):
            curve.setData([], [])
        for item in self._best_items():
            item.hide()
        self.patience_region.hide()
        for plot, line in self._change_lines:
            plot.removeItem(line)
        self._change_lines.clear()
        self.restored_at.clear()
        self.result_label.setText("")
        self._show_title()
        self.fit_view()

    def set_label(self, label: str) -> None:
        """Rename the live run (e.g. "lr 0.001→0.1" once its learning rate was changed live)."""
        self._label = label
        if not self.result_label.text():  # a finished run's title says how it ended; keep that
            self._show_title()
    def add_epoch(self, report: EpochReport) -> None:
        """Add one epoch's point to each per-epoch curve; move the best-epoch marker and patience window."""
        self._history.append(report)
        self._columns.append(report)
        self._show_epochs()
        self._show_best(report)
        if report.patience_left is not None:
            self._patience = report.patience_left + report.epoch - report.best_epoch
        self._show_patience_window(report.epoch, None if report.patience_left is None
                                   else report.epoch + report.patience_left)
        self._show_title()
        self._follow()

    def mark_restored(self, at: int, best: EpochReport) -> None:
        """A continuation ("+1 epoch") starts from the weights of ``best``'s epoch, restored after epoch
        ``at`` (an early stop): mark it on every plot, and draw the continuation from the restored
        figures (placed at ``at``), not from epoch ``at``'s, so the curves do not seem to jump."""
        self._columns.append_break()
        self._columns.append(best, at=at)
        self._show_epochs()
        text = f"restored epoch {best.epoch}"
        pen = pg.mkPen(BEST_COLOR, width=1, style=Qt.DotLine)
        for plot in self.plots:
            line = pg.InfiniteLine(at, angle=90, pen=pen, label=text if plot is self.accuracy_plot else None,
                                   labelOpts={"position": 0.1, "color": BEST_COLOR, "anchors": [(1, 1), (1, 1)]})
            line.setToolTip(f"From here on the run goes on from the weights of epoch {best.epoch}, its best")
            plot.addItem(line, ignoreBounds=True)
            self._change_lines.append((plot, line))
        self.restored_at.append(at)

    def _show_epochs(self) -> None:
        c = self._columns
        x = c.epoch.values
        self.train_acc_curve.setData(x, c.train_accuracy.values)
        self.val_acc_curve.setData(x, c.val_accuracy.values)
        self.train_loss_curve.setData(x, c.train_loss.values)
        self.val_loss_curve.setData(x, c.val_loss.values)

    def _show_best(self, report: EpochReport) -> None:
        if report.best_epoch < 1:
            return
        self.best_marker.setValue(report.best_epoch)
        self.best_loss_marker.setValue(report.best_epoch)
        self.best_accuracy_point.setData([report.best_epoch], [100.0 * report.best_val_accuracy])
        self.best_loss_point.setData([report.best_epoch], [report.best_val_loss])
        for item in self._best_items():
            item.show()

    def _show_patience_window(self, epoch: int, deadline: int | None) -> None:
        """Shade the epochs the run may still go without improving: ``epoch`` to ``deadline``."""
        if deadline is None or deadline <= epoch:
            self.patience_region.hide()
            return
        self.patience_region.setRegion((epoch, deadline))
        left = deadline - epoch
        self.patience_label.setFormat(f"patience: {left} left")
        self.patience_region.show()

    def set_patience(self, patience: int) -> None:
        """A live change of patience (0 = off): recompute the window from the last epoch."""
        self._patience = int(patience)
        if not self._history:
            return
        last = self._history[-1]
        self._show_patience_window(last.epoch, last.best_epoch + self._patience if self._patience > 0 else None)
        self._follow()

    def add_batches(self, *reports: BatchProgress) -> None:
        """Append the batch losses of each report to the trace and extend the EMA, then redraw once.

        The cost is that of the new points, plus one ``setData`` per curve however many reports came.
        """
        added = False
        for progress in reports:
            losses = np.asarray(progress.losses, dtype=np.float64)
            if not len(losses):
                continue
            first = progress.epoch - 1 + progress.first_batch / progress.batches
            self._batch_x.extend(first + np.arange(len(losses)) / progress.batches)
            previous = self._batch_ema.values[-1] if len(self._batch_ema) else None
            self._batch_ema.extend(smoothed(losses, self._alpha, previous))
            self._batch_loss.extend(losses)
            added = True
        if added:
            self._show_batches()
            self._follow()

    def _show_batches(self) -> None:
        x = self._batch_x.values
        self.batch_curve.setData(x, self._batch_loss.values)
        self.ema_curve.setData(x, self._batch_ema.values)

    def batch_trace(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of the batch trace: x (in epochs), raw losses, and their EMA."""
        return self._batch_x.values.copy(), self._batch_loss.values.copy(), self._batch_ema.values.copy()

    @property
    def smoothing(self) -> float:
        return self._alpha

    @Slot(float)
    def set_smoothing(self, alpha: float) -> None:
        """Set the EMA factor of the batch trace (0 = raw … 0.999) and recompute the smoothed line."""
        alpha = float(alpha)
        if not 0.0 <= alpha <= MAX_SMOOTHING:
            raise ValueError(f"smoothing must be from 0 to {MAX_SMOOTHING}, got {alpha}")
        changed = alpha != self._alpha
        self._alpha = alpha
        for control, value in ((self.smoothing_slider, round(alpha * 1000)), (self.smoothing_box, alpha)):
            if control.value() != value:
                control.blockSignals(True)
                control.setValue(value)
                control.blockSignals(False)
        if len(self._batch_loss):
            ema = smoothed(self._batch_loss.values, alpha)
            self._batch_ema.clear()
            self._batch_ema.extend(ema)
            self._show_batches()
        if changed:
            self.smoothing_changed.emit(alpha)

    def mark_change(self, change: SettingChanged) -> None:
        """Draw a labelled vertical line where a live setting changed, on every plot."""
        text = describe_change(change)
        pen = pg.mkPen(CHANGE_COLOR, width=1, style=Qt.DotLine)
        for plot in self.plots:
            label = text if plot is self.accuracy_plot else None
            line = pg.InfiniteLine(change.position, angle=90, pen=pen, label=label,
                                   labelOpts={"position": 0.22, "color": CHANGE_COLOR,
                                              "anchors": [(0, 0), (0, 0)], "fill": pg.mkBrush(255, 255, 255, 200)})
            line.setToolTip(f"{text} at epoch {change.epoch}, batch {change.batch}")
            plot.addItem(line, ignoreBounds=True)
            self._change_lines.append((plot, line))
        if change.name == "patience":
            self.set_patience(int(change.new))

    def change_positions(self) -> list[float]:
        """Where the setting changes of the live run are marked (one per change)."""
        return [line.value() for plot, line in self._change_lines if plot is self.accuracy_plot
                and line.value() not in self.restored_at]

    def show_result(self, result: TrainingResult) -> None:
        """Show how the run ended: test accuracy, best epoch and the end reason."""
        if result.test_accuracy is not None:
            figure = f"test accuracy {percent(result.test_accuracy)}"
        else:
            figure = f"best validation accuracy {percent(result.best_val_accuracy)}"
        best = f" (best epoch {result.best_epoch})" if result.best_epoch else ""
        self.result_label.setText(figure + best)
        self.patience_region.hide()
        self._show_title(ended=short_ending(result))
        self.title_label.setToolTip(result.message)
        self._follow()

    def _show_title(self, ended: str | None = None) -> None:
        """The run's name and progress, or how it ended."""
        name = self._label or "run"
        if not self._label and not self._history and not ended:
            text = NO_RUN
        elif ended:
            text = f"{name} — {ended}"
        else:
            limit = f" of {self._max_epochs}" if self._max_epochs else ""
            text = f"{name} — epoch {len(self._history)}{limit}"
        self.title_label.setText(text)
        self.title_label.setToolTip(text)

    # -- view --------------------------------------------------------------------------------

    @property
    def log_loss(self) -> bool:
        return self._log_loss

    @Slot(bool)
    def set_log_loss(self, on: bool) -> None:
        """Show both loss plots on a log scale, or linear."""
        on = bool(on)
        if self.log_loss_box.isChecked() != on:
            self.log_loss_box.blockSignals(True)
            self.log_loss_box.setChecked(on)
            self.log_loss_box.blockSignals(False)
        if on == self.log_loss:
            return
        self._log_loss = on
        x_range = self.accuracy_plot.viewRange()[0]
        for plot in (self.loss_plot, self.batch_plot):
            plot.setLogMode(x=False, y=on)  # this re-enables auto-range on both axes
            plot.enableAutoRange(x=False, y=True)
        self.accuracy_plot.setXRange(*x_range, padding=0)
        self.log_loss_changed.emit(on)

    @Slot()
    def fit_view(self) -> None:
        """Show the whole run (and overlays) and follow the run as it grows."""
        self._following = True
        for plot in self.plots:
            plot.enableAutoRange(y=True)
        self._accuracy_placeholder = False
        self._show_accuracy_placeholder()
        self._fit_x()

    @Slot()
    def _stop_following(self) -> None:
        self._following = False

    def _follow(self) -> None:
        self._show_accuracy_placeholder()
        if self._following:
            self._fit_x(force=False)
        # pyqtgraph recomputes a changed auto-range when it paints, and a range changed while painting
        # makes every item on that plot ask for a second paint. Settle the ranges now: one paint.
        for plot in self.plots:
            plot.vb.prepareForPaint()

    def _show_accuracy_placeholder(self) -> None:
        """An empty accuracy plot spans 0-100 %, not pyqtgraph's 0-1; the first curve brings auto-range back."""
        empty = not self._history and not self._overlays
        if empty and not self._accuracy_placeholder:
            self.accuracy_plot.setYRange(0, 100, padding=0.02)  # this turns the y auto-range off
        elif not empty and self._accuracy_placeholder:
            self.accuracy_plot.enableAutoRange(y=True)
        self._accuracy_placeholder = empty

    def _fit_x(self, force: bool = True) -> None:
        """Show epoch 0 to the end of whatever is drawn, rounded up by :func:`nice_end`.

        Rounding up means the range changes every few epochs, not on every batch: a range change
        makes each plot item re-clip its data, which costs O(points) per item.
        """
        end = 1.0
        if len(self._batch_x):
            end = max(end, float(np.ceil(self._batch_x.values[-1])))
        if self._history:
            end = max(end, self._history[-1].epoch)
        if self.patience_region.isVisible():
            end = max(end, self.patience_region.getRegion()[1])
        for overlay in self._overlays.values():
            if overlay.visible and overlay.history:
                end = max(end, overlay.history[-1].epoch)
        end = nice_end(end)
        if force or end != self._x_end:
            self._x_end = end
            self.accuracy_plot.setXRange(0, end, padding=0.02)

    # -- overlays ----------------------------------------------------------------------------

    def set_overlay(self, key: str, label: str, history: Sequence[EpochReport], color=None) -> None:
        """Add or update a comparison run, drawn dashed in ``color`` (default: the next palette colour)."""
        history = tuple(history)
        existing = self._overlays.get(key)
        color = pg.mkColor(color) if color is not None else (
            existing.color if existing else run_color(len(self._overlays)))
        pen = pg.mkPen(color, width=2, style=Qt.DashLine)
        epochs = np.array([r.epoch for r in history], dtype=np.float64)
        accuracy = np.array([100.0 * r.val_accuracy for r in history], dtype=np.float64)
        loss = np.array([r.val_loss for r in history], dtype=np.float64)
        if existing is None:
            accuracy_curve = self.accuracy_plot.plot(epochs, accuracy, pen=pen, name=label)
            accuracy_curve.setZValue(-5)
            loss_curve = self.loss_plot.plot(epochs, loss, pen=pen)
            loss_curve.setZValue(-5)
            self._legend_groups[id(accuracy_curve)] = [loss_curve]
            self._overlays[key] = Overlay(label, history, QColor(color), accuracy_curve, loss_curve)
        else:
            for curve, y in ((existing.accuracy_curve, accuracy), (existing.loss_curve, loss)):
                curve.setPen(pen)
                curve.setData(epochs, y)
            self._rename_legend_entry(existing.accuracy_curve, label)
            existing.label, existing.history, existing.color = label, history, QColor(color)
        self._follow()

    def remove_overlay(self, key: str) -> bool:
        """Remove a comparison run; False if there was none under ``key``."""
        overlay = self._overlays.pop(key, None)
        if overlay is None:
            return False
        self.accuracy_plot.removeItem(overlay.accuracy_curve)  # also removes its legend entry
        self.loss_plot.removeItem(overlay.loss_curve)
        self._legend_groups.pop(id(overlay.accuracy_curve), None)
        self._follow()
        return True

    def overlay_keys(self) -> list[str]:
        return list(self._overlays)

    def overlay(self, key: str) -> Overlay:
        return self._overlays[key]

    def _rename_legend_entry(self, item: pg.PlotDataItem, name: str) -> None:
        for sample, label in self.accuracy_legend.items:
            if sample.item is item:
                label.setText(name)

    @Slot(object)
    def _sync_group_visibility(self, item) -> None:
        """A legend click hides a run's accuracy curve; hide its loss curve with it."""
        for partner in self._legend_groups.get(id(item), ()):
            partner.setVisible(item.isVisible())

    # -- hover readout -----------------------------------------------------------------------

    def readout_at(self, x: float) -> str:
        """Exact figures at the epoch nearest ``x``: the live run, then each visible overlay, one per line."""
        lines = []
        if self._history:
            r = nearest_report(self._history, x)
            name = f"{self._label}, " if self._label else ""
            lines.append(f"{name}epoch {r.epoch}: accuracy train {percent(r.train_accuracy)} "
                         f"val {percent(r.val_accuracy)} · loss train {r.train_loss:.4f} val {r.val_loss:.4f}")
        for overlay in self._overlays.values():
            if overlay.visible and overlay.history:
                r = nearest_report(overlay.history, x)
                lines.append(f"{overlay.label}, epoch {r.epoch}: accuracy val {percent(r.val_accuracy)} "
                             f"· loss val {r.val_loss:.4f}")
        return "\n".join(lines)

    @Slot(object)
    def _show_readout_at_scene(self, scene_pos: QPointF) -> None:
        for plot in self.plots:
            if plot.vb.sceneBoundingRect().contains(scene_pos):
                x = plot.vb.mapSceneToView(scene_pos).x()
                text = self.readout_at(x)
                if text:
                    self.readout_label.setText(text)
                    epoch = self._nearest_epoch(x)
                    for line in self.hover_lines:
                        line.setValue(epoch)
                        line.show()
                    return
        self._show_readout_hint()

    def _nearest_epoch(self, x: float) -> float:
        histories = [self._history] + [o.history for o in self._overlays.values() if o.visible]
        epochs = [nearest_report(h, x).epoch for h in histories if h]
        return min(epochs, key=lambda e: abs(e - x)) if epochs else x

    def _show_readout_hint(self) -> None:
        for line in self.hover_lines:
            line.hide()
        self.readout_label.setText("hover over the plots for the exact figures of an epoch")

    def leaveEvent(self, event) -> None:
        self._show_readout_hint()
        super().leaveEvent(event)

    # -- export ------------------------------------------------------------------------------

    def picture(self) -> QImage:
        """The plots as they are on screen, under a line with the run's title and result: no controls."""
        hover = [line.isVisible() for line in self.hover_lines]
        for line in self.hover_lines:
            line.hide()
        try:
            plots = self.graphics.grab().toImage()
        finally:
            for line, shown in zip(self.hover_lines, hover):
                line.setVisible(shown)
        ratio = plots.devicePixelRatio()
        font = QFont(self.title_label.font())
        metrics = self.title_label.fontMetrics()
        band = metrics.height() + 12
        width, height = self.graphics.width(), self.graphics.height()
        image = QImage(round(width * ratio), round((height + band) * ratio), QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(ratio)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.drawImage(0, band, plots)
        painter.setFont(font)
        painter.setPen(QColor(FOREGROUND))
        text_box = (8, 0, width - 16, band)
        painter.drawText(*text_box, Qt.AlignLeft | Qt.AlignVCenter,
                         metrics.elidedText(self.title_label.text(), Qt.ElideRight, max(0, width // 2)))
        painter.drawText(*text_box, Qt.AlignRight | Qt.AlignVCenter, self.result_label.text())
        painter.end()
        return image

    def export_png(self, path: str | os.PathLike) -> Path:
        """Save :meth:`picture` as PNG, atomically; returns the path."""
        path = Path(path)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        if not self.picture().save(str(temporary), "PNG"):
            temporary.unlink(missing_ok=True)
            raise OSError(f"could not write the plot picture to {path}")
        os.replace(temporary, path)
        return path
