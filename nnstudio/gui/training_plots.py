"""The live plots of a training run: accuracy, loss and the per-batch loss on one epoch axis.

:class:`TrainingPlots` is fed from GUI-thread slots (see :mod:`nnstudio.gui.panels.plots`):
:meth:`~TrainingPlots.start_run`, then :meth:`~TrainingPlots.add_batches`, :meth:`~TrainingPlots.mark_change`
and :meth:`~TrainingPlots.add_epoch` as the trainer reports, and :meth:`~TrainingPlots.show_result` at the end.
Every plot item is created once and only ever given new data, so an update costs no more than the
points it adds; finished runs can stay on screen as dashed *overlays* for comparison. The parts live in
their own modules: the epoch points and marks (:mod:`~nnstudio.gui.epoch_points`), the batch trace
(:mod:`~nnstudio.gui.batch_plot`), the view (:mod:`~nnstudio.gui.plot_view`),
the marks (:mod:`~nnstudio.gui.plot_marks`), the overlays, readout and export (:mod:`~nnstudio.gui.plot_overlays`)
and the style (:mod:`~nnstudio.gui.plot_style`).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton,
                               QVBoxLayout, QWidget)

from nnstudio.core.reports import EpochReport, TrainingResult
from nnstudio.gui.batch_plot import MAX_SMOOTHING, BatchPlotMixin
from nnstudio.gui.colors import BEST_COLOR, GREEN, TRAIN_COLOR, VALIDATION_COLOR, plot_colors
from nnstudio.gui.epoch_points import EpochPointsMixin
from nnstudio.gui.naming import named
from nnstudio.gui.plot_marks import MarksMixin
from nnstudio.gui.plot_overlays import Overlay, OverlaysMixin
from nnstudio.gui.plot_style import (EpochColumns, GridAxis, GrowingArray, LossAxis, layer_axes, percent,
                                     short_ending, style_plot)
from nnstudio.gui.plot_view import PlotViewMixin
from nnstudio.gui.when_shown import behind_a_tab

NO_RUN = "no run yet"


class TrainingPlots(EpochPointsMixin, BatchPlotMixin, MarksMixin, PlotViewMixin, OverlaysMixin, QWidget):
    """Accuracy, loss and per-batch loss of the live run, sharing the epoch axis, plus comparison runs.

    The x range follows the run until the user zooms or pans; "fit" (or a new run) resumes following.
    """

    smoothing_changed = Signal(float)
    log_loss_changed = Signal(bool)
    # An epoch's points and marks are on every plot. On screen the loss plot gets them one turn of the
    # event loop after the accuracy plot (once that is painted), so neither turn holds the GUI long.
    epoch_drawn = Signal(object)  # EpochReport

    def __init__(self, parent: QWidget | None = None, *, smoothing: float = 0.9) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self._label = ""
        self._max_epochs = 0
        self._patience = 0
        self._alpha = float(smoothing)
        self._log_loss = False
        self._history: list[EpochReport] = []
        self._columns = EpochColumns()
        self._batch_x = GrowingArray(8192)
        self._batch_loss = GrowingArray(8192)
        self._batch_ema = GrowingArray(8192)
        self._overlays: dict[str, Overlay] = {}
        self._change_lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self.restored_at: list[int] = []  # where a continuation restored the best weights (marked)
        self.change_labels: list[tuple[float, float]] = []  # each live change's x and its label's position
        self._legend_groups: dict[int, list[pg.GraphicsObject]] = {}
        self._following = True
        self._accuracy_placeholder = False  # the accuracy plot shows 0-100 % while it has nothing to show
        self._held = False  # batches or epochs came while another tab hid the plots: drawn when shown
        self._best_shown: dict[int, tuple] = {}  # per plot (by id), the best epoch its marks show
        self._loss_half: EpochReport | None = None  # an epoch drawn on the accuracy plot, not yet on the loss plot
        self._loss_turn = QTimer(self)  # started by the accuracy plot's repaint (see EpochPointsMixin)
        self._loss_turn.setSingleShot(True)
        self._loss_turn.timeout.connect(self.finish_epoch)

        # The plots follow the system palette: a light card, or a dark one under a dark theme.
        self.background, self.foreground = plot_colors(self.palette())
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(self.background)
        self.graphics.ci.setSpacing(4)
        self.graphics.viewport().installEventFilter(self)  # its paints time the loss plot's turn
        # No context menus (style_plot turns them off): enableMenu=False does not build them at all.
        self.accuracy_plot = self.graphics.addPlot(row=0, col=0, enableMenu=False,
                                                   axisItems={"left": GridAxis("left"), "bottom": GridAxis("bottom")})
        self.loss_plot = self.graphics.addPlot(row=1, col=0, enableMenu=False,
                                               axisItems={"left": LossAxis("left"), "bottom": GridAxis("bottom")})
        self.batch_plot = self.graphics.addPlot(row=2, col=0, enableMenu=False,
                                                axisItems={"left": LossAxis("left"), "bottom": GridAxis("bottom")})
        self.plots = (self.accuracy_plot, self.loss_plot, self.batch_plot)
        colors = {"background": self.background, "foreground": self.foreground}
        style_plot(self.accuracy_plot, "accuracy (%)", None, **colors)
        style_plot(self.loss_plot, "loss", None, **colors)
        style_plot(self.batch_plot, "batch loss", "epoch", **colors)
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
        card = QColor(self.background)
        card.setAlpha(210)
        self.accuracy_legend = self.accuracy_plot.addLegend(offset=(-10, -10), labelTextColor=self.foreground,
                                                            brush=pg.mkBrush(card))
        self.accuracy_legend.sigSampleClicked.connect(self._sync_group_visibility)
        self.batch_legend = self.batch_plot.addLegend(offset=(-10, 10), labelTextColor=self.foreground,
                                                      brush=pg.mkBrush(card))

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
        # A few points each, always in view while the plots follow the run: without pyqtgraph's dynamic
        # range limit a moved y range does not make every epoch curve (and its symbols) set its data again.
        for curve in (self.train_acc_curve, self.val_acc_curve, self.train_loss_curve, self.val_loss_curve):
            curve.setDynamicRangeLimit(None)
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
        # The smoothed line is antialiased and 2 px wide: drawn from about one min-max pair per pixel
        # (pyqtgraph's default keeps ~5 samples a pixel) it looks the same and paints ~3 ms sooner.
        # (The faint raw trace keeps the default: its density is what shows the spread.)
        self.ema_curve.opts["autoDownsampleFactor"] = 1.0  # no setter in pyqtgraph; set before any data

        # The label sits high on the loss plot, left of the line: late in a run the loss curves are
        # low there, while the accuracy plot's lower right holds its legend; below the patience label.
        self.best_marker = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(BEST_COLOR, width=1.5, style=Qt.DashLine))
        self.best_loss_marker = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(BEST_COLOR, width=1.5, style=Qt.DashLine),
                                                label="best {value:.0f}",
                                                labelOpts={"position": 0.72, "color": BEST_COLOR,
                                                           "anchors": [(1, 0), (1, 0)]})
        self.accuracy_plot.addItem(self.best_marker, ignoreBounds=True)
        self.loss_plot.addItem(self.best_loss_marker, ignoreBounds=True)
        best_point = {"pen": None, "symbol": "star", "symbolSize": 16, "symbolPen": pg.mkPen(self.background, width=0.8),
                      "symbolBrush": pg.mkBrush(BEST_COLOR)}
        self.best_accuracy_point = self.accuracy_plot.plot([], [], **best_point)
        self.best_loss_point = self.loss_plot.plot([], [], **best_point)
        for item in self._best_items():
            item.setZValue(10)
            item.hide()
        for point in (self.best_accuracy_point, self.best_loss_point):
            point.setDynamicRangeLimit(None)

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
        self.smoothing_slider.setFixedWidth(100)
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

        self.overlay_train = False
        self.overlay_train_box = QCheckBox("train curves")
        self.overlay_train_box.setToolTip("Draw the ticked runs' train curves too (dotted), not only their "
                                          "validation curves (dashed); a star marks each run's best epoch")
        self.overlay_train_box.toggled.connect(self.set_overlay_train)

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
                                   (self.overlay_train_box, "overlayTrain", "Train curves of compared runs"),
                                   (self.graphics, "plotsView", "Accuracy, loss and batch loss plots")):
            named(widget, name, text)
        header = QHBoxLayout()
        header.addWidget(self.title_label, 1)
        header.addWidget(self.result_label)
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.log_loss_box)
        toolbar.addSpacing(12)
        toolbar.addWidget(QLabel("smoothing"))
        toolbar.addWidget(self.smoothing_slider)
        toolbar.addWidget(self.smoothing_box)
        toolbar.addSpacing(6)
        toolbar.addWidget(self.overlay_train_box)
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
        self.finish_epoch()
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
        self._best_shown.clear()
        self.patience_region.hide()
        for plot, line in self._change_lines:
            plot.removeItem(line)
        self._change_lines.clear()
        self.restored_at.clear()
        self.change_labels.clear()
        self.result_label.setText("")
        self._show_title()
        self.fit_view()

    def set_label(self, label: str) -> None:
        """Rename the live run (e.g. "lr 0.001→0.1" once its learning rate was changed live)."""
        self._label = label
        if not self.result_label.text():  # a finished run's title says how it ended; keep that
            self._show_title()
    def _hold_while_hidden(self) -> bool:
        """True (and the curves are drawn when shown) while another tab hides the plots: redrawing and
        re-ranging thousands of batch points there cost the training thread GUI time for nothing."""
        if behind_a_tab(self):
            self._held = True
        return self._held

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.catch_up()

    def catch_up(self) -> None:
        """Draw what came while another tab hid the plots (when shown, or exported from another tab)."""
        self.finish_epoch()
        if self._held:
            self._held = False
            self._show_batches()
            self.settle_batch_range()
            self._show_epochs()
            self._follow()

    def show_result(self, result: TrainingResult) -> None:
        """Show how the run ended: test accuracy, best epoch and the end reason."""
        self.finish_epoch()
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

