"""The ten probabilities of the sketch, with a softmax temperature slider and what it does, in one line.

The bars are painted with plain QPainter calls (ten rectangles and a few labels), not a plot
widget: they change on every stroke and a plot's scene costs several times more to repaint.
``softmax(logits / T)``: at T = 1 the network's own probabilities; a higher temperature evens
the bars out, a lower one sharpens them; the ranking never changes.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRect, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from nnstudio.core.softmax import MAX_TEMPERATURE, MIN_TEMPERATURE, explain_temperature, softmax
from nnstudio.gui.naming import named
from nnstudio.gui.steady_label import steady_label

TOP = QColor(64, 156, 255)
OTHER = QColor(110, 116, 128)
STEPS = 100  # slider steps per factor of 10


def one_line(temperature: float) -> str:
    """What ``temperature`` does to the bars, short enough for one line under them."""
    if abs(temperature - 1) < 1e-9:
        return "T = 1: the network's own probabilities"
    if temperature > 1:
        return f"scores ÷ {temperature:.2g}: bars even out, less sure; same ranking"
    return f"scores × {1 / temperature:.2g}: top bar takes more, surer; same ranking"


def temperature_at(position: int) -> float:
    return 10 ** (position / STEPS)


def position_of(temperature: float) -> int:
    return round(math.log10(temperature) * STEPS)


class BarChart(QWidget):
    """Ten bars from 0 to 100%, the highest one blue, digits below and 0/50/100% on the left."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heights = np.zeros(10)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._cache = QPixmap()
        self._cache_key: tuple | None = None

    def set_heights(self, heights: np.ndarray) -> None:
        heights = np.asarray(heights, dtype=float)
        if not np.array_equal(heights, self.heights):
            self.heights = heights
            left, top, bottom, width = self._layout()
            # Only the bars change: the grid and labels around them stay as painted.
            self.update(QRect(int(left), int(top) - 1, int(width) + 2, int(bottom - top) + 3))

    def _layout(self) -> tuple[float, float, float, float]:
        """Where the bars go: left edge, top (100%), bottom (0%), width."""
        metrics = self.fontMetrics()
        line = metrics.height()
        left = metrics.horizontalAdvance("100%") + 6
        return left, line // 2 + 2, self.height() - line - 4, self.width() - left - 4

    def _background(self) -> QPixmap:
        """The grid and the labels, painted once per size (the bars change, they do not)."""
        ratio = self.devicePixelRatioF()
        key = (self.width(), self.height(), ratio, self.palette().cacheKey())
        if self._cache_key == key:
            return self._cache
        pixmap = QPixmap(round(self.width() * ratio), round(self.height() * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(self.palette().window().color())
        left, top, bottom, width = self._layout()
        if width > 10 and bottom - top > 10:
            painter = QPainter(pixmap)
            line = self.fontMetrics().height()
            text = self.palette().windowText().color()
            grid = QColor(text)
            grid.setAlpha(60)
            for value in (0.0, 0.5, 1.0):
                y = bottom - value * (bottom - top)
                painter.setPen(grid)
                painter.drawLine(round(left), round(y), round(left + width), round(y))
                painter.setPen(text)
                painter.drawText(QRectF(0, y - line / 2, left - 4, line),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{value:.0%}")
            slot = width / 10
            for d in range(10):
                painter.drawText(QRectF(left + d * slot, bottom + 2, slot, line), Qt.AlignmentFlag.AlignCenter, str(d))
            painter.end()
        self._cache, self._cache_key = pixmap, key
        return pixmap

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        dirty = event.rect()
        ratio = self.devicePixelRatioF()
        source = QRectF(dirty.x() * ratio, dirty.y() * ratio, dirty.width() * ratio, dirty.height() * ratio)
        painter.drawPixmap(QRectF(dirty), self._background(), source)
        left, top, bottom, width = self._layout()
        if width <= 10 or bottom - top <= 10:
            return
        slot = width / 10
        top_digit = int(self.heights.argmax()) if self.heights.any() else -1
        for d in range(10):
            h = float(np.clip(self.heights[d], 0, 1)) * (bottom - top)
            if h > 0:
                painter.fillRect(QRectF(left + d * slot + slot * 0.15, bottom - h, slot * 0.7, h),
                                 TOP if d == top_digit else OTHER)


class ProbabilityBars(QWidget):
    """:class:`BarChart` of ``softmax(logits / T)``, the temperature slider under it and one line on T."""

    temperature_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = BarChart()
        self.chart.setMinimumHeight(100)
        named(self.chart, "probabilityChart", "Bars: the probability of each digit")
        self.chart.setToolTip("The network's probability for each digit, at the temperature below")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(position_of(MIN_TEMPERATURE * 2), position_of(MAX_TEMPERATURE / 2))
        self.slider.setValue(0)
        self.slider.setToolTip("Softmax temperature: the scores are divided by it before softmax")
        named(self.slider, "temperatureSlider", "Softmax temperature")
        self.value_label = QLabel()
        self.value_label.setFixedWidth(self.value_label.fontMetrics().horizontalAdvance("0.000") + 6)
        self.explanation = steady_label("temperatureExplanation", 1)
        self.explanation.setAccessibleName("What the temperature does")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Temperature"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.chart, 1)
        layout.addLayout(row)
        layout.addWidget(self.explanation)
        named(self, "probabilityBars", "Probability of each digit")
        self._logits: np.ndarray | None = None
        self._probabilities: np.ndarray | None = None
        self.slider.valueChanged.connect(self._on_slider)
        self._on_slider()

    @property
    def temperature(self) -> float:
        return temperature_at(self.slider.value())

    def set_temperature(self, temperature: float) -> None:
        self.slider.setValue(position_of(temperature))

    def show_logits(self, logits: np.ndarray | None) -> None:
        """Show ``softmax(logits / T)`` for ten ``logits``; None empties the bars."""
        self._logits = None if logits is None else np.asarray(logits, dtype=np.float64).reshape(-1).copy()
        self._show()

    def probabilities(self) -> np.ndarray | None:
        """The probabilities shown (at the current temperature), or None."""
        return None if self._probabilities is None else self._probabilities.copy()

    @Slot()
    def _on_slider(self, *_: object) -> None:
        t = self.temperature
        self.value_label.setText(f"{t:.2g}")
        self.explanation.setText(one_line(t))
        self.explanation.setToolTip(explain_temperature(t))
        self._show()
        self.temperature_changed.emit(t)

    def _show(self) -> None:
        if self._logits is None:
            self._probabilities = None
            self.chart.set_heights(np.zeros(10))
            return
        self._probabilities = softmax(self._logits, self.temperature)
        self.chart.set_heights(self._probabilities)
