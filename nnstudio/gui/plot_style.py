"""The plots' shared style and parts: axes, growing arrays, the smoothing, and how figures read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsItem

from nnstudio.core.reports import EpochReport, SettingChanged, TrainingResult

AXIS_WIDTH = 62  # px: equal left axes keep the linked plots' epochs lined up on screen
SETTING_NAMES = {"learning_rate": "lr", "momentum": "momentum", "patience": "patience"}


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
class EpochColumns:
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


def setting_value(name: str, value: float) -> str:
    """A live setting's value as the form shows it: patience 0 reads "off"."""
    return "off" if name == "patience" and value == 0 else f"{value:g}"


def describe_change(change: SettingChanged) -> str:
    """``"lr 0.1→0.01"``, ``"patience 5→off"``, ``"momentum 0→0.9"``."""
    name = SETTING_NAMES.get(change.name, change.name.replace("_", " "))
    return f"{name} {setting_value(change.name, change.old)}→{setting_value(change.name, change.new)}"


def short_ending(result: TrainingResult) -> str:
    """How a run ended, in a few words for its title ("diverged at epoch 9"); the full message goes
    in the tooltip and the status bar. A stopped or diverged run ended during the epoch after the
    last one it completed."""
    return {"early_stopping": f"early stopping after {result.epochs} epochs",
            "max_epochs": f"{result.epochs} epochs done",
            "stopped": f"stopped at epoch {result.epochs + 1}",
            "diverged": f"diverged at epoch {result.epochs + 1}"}.get(result.reason, result.reason.replace("_", " "))


class GridAxis(pg.AxisItem):
    """An axis whose grid lines are opaque, pre-blended onto the background, and sit under the data.

    pyqtgraph draws a grid as translucent tick lines without antialiasing, which Qt's raster engine
    blends pixel by pixel: some 7 ms for one axis's grid on a 700 px plot. Opaque lines of the
    same resulting colour take a twentieth of that. Opaque lines must not cross the curves, so
    :func:`layer_axes` puts the axes (and their grid) below the plot's data.
    """

    background = QColor("white")  # set per axis by style_plot

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802 (pyqtgraph's name)
        # pyqtgraph makes a pen per tick, a few shades per axis: blend each shade once.
        opaque: dict[tuple, QPen] = {}
        ticks = []
        for pen, p1, p2 in tickSpecs:
            key = (pen.color().rgba(), pen.widthF(), pen.style())
            if key not in opaque:
                opaque[key] = on_background(pen, self.background)
            ticks.append((opaque[key], p1, p2))
        super().drawPicture(p, axisSpec, ticks, textSpecs)


def on_background(pen: QPen, background: QColor) -> QPen:
    """``pen`` with its translucent colour replaced by the opaque colour it shows on ``background``."""
    color = pen.color()
    alpha = color.alphaF()
    if alpha >= 1.0:
        return pen
    pen = QPen(pen)
    under = background.getRgb()[:3]
    pen.setColor(QColor(*(round(alpha * c + (1.0 - alpha) * b) for c, b in zip(color.getRgb()[:3], under))))
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


def settle_y_range(plot: pg.PlotItem, low: float, high: float) -> None:
    """Show ``low``-``high`` (view units: log10 on a log axis) on ``plot``, in round steps, and move the
    range only when the data leaves it or fills less than half of it. pyqtgraph's auto-range moves it
    at every new extreme, and a moved range redraws the axis and its grid (5-10 ms each time)."""
    (shown_low, shown_high), auto = plot.viewRange()[1], plot.vb.state["autoRange"][1]
    if not auto and shown_low <= low and high <= shown_high and high - low >= 0.5 * (shown_high - shown_low):
        return
    span = max(high - low, 1e-3)
    step = 10 ** np.floor(np.log10(span)) / 2
    plot.setYRange(np.floor((low - 0.02 * span) / step) * step, np.ceil((high + 0.02 * span) / step) * step,
                   padding=0)


def nice_end(end: float) -> float:
    """Round the x axis's end up to a step of 5 epochs (10 past 50, 50 past 200): the view then
    grows every few epochs, not at every one, and a grown axis costs a repaint of all three plots."""
    step = 5 if end <= 50 else 10 if end <= 200 else 50
    return float(np.ceil(end / step) * step)


def style_plot(plot: pg.PlotItem, left: str, bottom: str | None = "epoch", *,
               background: QColor = QColor("white"), foreground: QColor = QColor("#303030")) -> None:
    """The house style: soft grid, axes in ``foreground``, readable labels, equal left-axis widths."""
    plot.showGrid(x=True, y=True, alpha=0.12 if background.lightness() > 127 else 0.2)
    plot.hideButtons()
    font = QFont()
    font.setPointSizeF(9)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        if isinstance(axis, GridAxis):
            axis.background = QColor(background)
        axis.setPen(pg.mkPen(foreground))
        axis.setTextPen(pg.mkPen(foreground))
        axis.setTickFont(font)
        axis.enableAutoSIPrefix(False)  # "loss (x0.001)" reads worse than 0.05
    plot.getAxis("left").setWidth(AXIS_WIDTH)
    label_style = {"color": foreground.name(), "font-size": "10pt"}
    plot.setLabel("left", left, **label_style)
    if bottom:
        plot.setLabel("bottom", bottom, **label_style)
    else:  # the plot below shows the epochs; keep the grid, drop the repeated numbers
        plot.getAxis("bottom").setStyle(showValues=False)
        plot.getAxis("bottom").setHeight(6)
    plot.setMenuEnabled(False)

