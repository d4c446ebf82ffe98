"""A small chart painted with QPainter: a title, a few ticks, lines with markers or step outlines.

For views redrawn while training on the GUI thread (the Inside tab's diagnostics): the grid, the
ticks, the title and the legend are painted once per size and range into a cached pixmap; a
new epoch repaints that pixmap and a few short polylines. A pyqtgraph plot re-lays out its axes
and its items' bounds on each change and cost tens of milliseconds for four small charts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget


@dataclass
class Series:
    """One line: ``x``/``y`` points (markers at each), or with ``edges`` a step outline over bins."""

    x: np.ndarray
    y: np.ndarray
    colour: QColor
    name: str = ""
    markers: bool = True
    dashed: bool = False
    fill: bool = False
    width: float = 2.0


def tick_label(value: float, log: bool) -> str:
    if log:
        return f"1e{int(round(value))}"
    if value == 0:
        return "0"
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1000:
        return f"{value / 1000:g}k"
    if abs(value) < 0.01:
        return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{value:g}"


def ticks(low: float, high: float, log: bool, most: int = 5) -> list[float]:
    """Round values to mark between ``low`` and ``high`` (whole decades on a log scale)."""
    if not high > low:
        return [low]
    if log:
        first, last = math.ceil(low - 1e-9), math.floor(high + 1e-9)
        step = max(1, math.ceil((last - first + 1) / most))
        return [float(v) for v in range(first, last + 1, step)]
    raw = (high - low) / most
    decade = 10 ** math.floor(math.log10(raw))
    step = next(s * decade for s in (1, 2, 5, 10) if s * decade >= raw)
    start = math.ceil(low / step - 1e-9) * step
    return [round(v, 12) for v in np.arange(start, high + step * 1e-6, step)]


class MiniChart(QWidget):
    """Set :attr:`x_range`/:attr:`y_range` (log10 units on a log scale) with :meth:`set_ranges`,
    the lines with :meth:`set_series`, an optional dashed reference with :meth:`set_reference`."""

    def __init__(self, title: str, *, log_y: bool = False, x_label: str = "", legend: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.log_y = log_y
        self.x_label = x_label
        self.legend = legend
        self.x_range = (0.0, 1.0)
        self.y_range = (0.0, 1.0)
        self.series: list[Series] = []
        self.reference: tuple[float, str] | None = None  # y (data units), label
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._cache = QPixmap()
        self._cache_key: tuple | None = None

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(260, 160)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(120, 90)

    # -- data -------------------------------------------------------------------------------------

    def set_ranges(self, x: tuple[float, float], y: tuple[float, float]) -> None:
        x, y = (float(x[0]), float(x[1])), (float(y[0]), float(y[1]))
        if (x, y) != (self.x_range, self.y_range):
            self.x_range, self.y_range = x, y
            self.update()

    def set_series(self, series: list[Series]) -> None:
        self.series = series
        self.update()

    def set_reference(self, y: float | None, label: str = "") -> None:
        self.reference = None if y is None else (float(y), label)
        self.update()

    def series_names(self) -> list[str]:
        return [s.name for s in self.series if s.name]

    # -- painting ---------------------------------------------------------------------------------

    def _plot_rect(self) -> QRectF:
        metrics = self.fontMetrics()
        line = metrics.height()
        left = metrics.horizontalAdvance("1e-10") + 8
        bottom = line + 4 + (line if self.x_label else 0)
        return QRectF(left, line + 4, max(1.0, self.width() - left - 8), max(1.0, self.height() - line - 4 - bottom))

    def _map(self, rect: QRectF, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        if self.log_y:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.log10(np.maximum(y, 1e-300))
        px = rect.left() + (np.asarray(x, dtype=float) - x0) / ((x1 - x0) or 1) * rect.width()
        py = rect.bottom() - (np.asarray(y, dtype=float) - y0) / ((y1 - y0) or 1) * rect.height()
        return px, py

    def _background(self) -> QPixmap:
        ratio = self.devicePixelRatioF()
        names = tuple((s.name, s.colour.rgba()) for s in self.series if s.name) if self.legend else ()
        key = (self.width(), self.height(), ratio, self.palette().cacheKey(), self.x_range, self.y_range,
               self.reference, names)
        if key == self._cache_key:
            return self._cache
        pixmap = QPixmap(max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio)))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(self.palette().window().color())
        painter = QPainter(pixmap)
        text = self.palette().windowText().color()
        grid = QColor(text)
        grid.setAlpha(45)
        metrics = self.fontMetrics()
        line = metrics.height()
        rect = self._plot_rect()
        painter.setPen(text)
        painter.drawText(QRectF(0, 0, self.width(), line + 2), Qt.AlignmentFlag.AlignCenter, self.title)
        for value in ticks(*self.y_range, self.log_y, 4):
            _, (y,) = self._map(rect, np.array([0.0]), np.array([10 ** value if self.log_y else value]))
            painter.setPen(grid)
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            painter.setPen(text)
            painter.drawText(QRectF(0, y - line / 2, rect.left() - 4, line),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, tick_label(value, self.log_y))
        for value in ticks(*self.x_range, False, 5):
            (x,), _ = self._map(rect, np.array([value]), np.array([self.y_range[0]]))
            painter.drawText(QRectF(x - 30, rect.bottom() + 2, 60, line), Qt.AlignmentFlag.AlignCenter,
                             tick_label(value, False))
        if self.x_label:
            painter.drawText(QRectF(rect.left(), rect.bottom() + 2 + line, rect.width(), line),
                             Qt.AlignmentFlag.AlignCenter, self.x_label)
        painter.setPen(QPen(grid, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)
        if self.reference is not None:
            y_value, label = self.reference
            _, (y,) = self._map(rect, np.array([0.0]), np.array([y_value]))
            if rect.top() <= y <= rect.bottom():
                pen = QPen(QColor(150, 150, 150), 1, Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
                painter.drawText(QPointF(rect.left() + 4, y - 3), label)
        if names:
            y = rect.top() + 2
            for name, rgba in names:
                width = metrics.horizontalAdvance(name)
                x = rect.right() - width - 6
                painter.setPen(QColor.fromRgba(rgba))
                painter.drawText(QRectF(x, y, width + 2, line), Qt.AlignmentFlag.AlignLeft, name)
                y += line
        painter.end()
        self._cache, self._cache_key = pixmap, key
        return pixmap

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._background())
        rect = self._plot_rect()
        painter.setClipRect(rect.adjusted(-4, -4, 4, 4))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for s in self.series:
            if len(s.x) == 0:
                continue
            pen = QPen(s.colour, s.width, Qt.PenStyle.DashLine if s.dashed else Qt.PenStyle.SolidLine)
            if len(s.x) == len(s.y) + 1:  # a histogram: a step outline over the bins
                edges, counts = np.asarray(s.x, dtype=float), np.asarray(s.y, dtype=float)
                xs = np.repeat(edges, 2)[1:-1]
                ys = np.repeat(counts, 2)
                px, py = self._map(rect, xs, ys)
                _, (base,) = self._map(rect, np.array([0.0]), np.array([max(self.y_range[0], 0.0)]))
                polygon = QPolygonF([QPointF(a, b) for a, b in zip(px.tolist(), py.tolist())])
                if s.fill:
                    path = QPainterPath(QPointF(px[0], base))
                    path.addPolygon(polygon)
                    path.lineTo(QPointF(px[-1], base))
                    path.closeSubpath()
                    fill = QColor(s.colour)
                    fill.setAlpha(90)
                    painter.fillPath(path, fill)
                painter.setPen(pen)
                painter.drawPolyline(polygon)
                continue
            px, py = self._map(rect, s.x, s.y)
            points = [QPointF(a, b) for a, b in zip(px.tolist(), py.tolist())]
            painter.setPen(pen)
            painter.drawPolyline(QPolygonF(points))
            if s.markers:
                painter.setBrush(QBrush(s.colour))
                painter.setPen(Qt.PenStyle.NoPen)
                for p in points:
                    painter.drawEllipse(p, 2.5, 2.5)
                painter.setBrush(Qt.BrushStyle.NoBrush)
