"""Precision, recall and F1 of each digit, as grouped bars with the figures.

The bars are painted by one QPainter widget: refreshed after every epoch of a run, 30 pyqtgraph
bars and labels re-laid out their axes and bounds several times per new result (~15 ms a paint,
~9 paints an epoch); this repaints once per new result, in a few milliseconds.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QStaticText
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from nnstudio.core.evaluation import PerDigit
from nnstudio.gui.colors import BEST_COLOR, FOREGROUND, TRAIN_COLOR, VALIDATION_COLOR
from nnstudio.gui.frame_cache import FrameCache
from nnstudio.gui.steady_label import SteadyLabel

SERIES = (("precision", TRAIN_COLOR), ("recall", VALIDATION_COLOR), ("F1", BEST_COLOR))
WIDTH = 0.26  # of a digit's slot, per bar


def bar_floor(figures: PerDigit) -> float:
    """Where the bars start: a round share just under the lowest figure, so differences show."""
    low = float(min(s.min() for s in (figures.precision, figures.recall, figures.f1)))
    return max(0.0, float(np.floor((low - 0.02) * 20) / 20))


class DigitBars(QWidget):
    """Three bars per digit (precision, recall, F1) from :func:`bar_floor` to 100 %, F1 (%) above each
    digit; hovering a digit's slot shows its three figures."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("perDigitBars")
        self.setAccessibleName("Precision, recall and F1 bars per digit")
        self.figures: PerDigit | None = None
        self._frame = FrameCache()  # the grid and labels, painted once per size and floor
        self._texts: dict[str, QStaticText] = {}  # the F1 figures, laid out once each
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(320, 160)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(160, 80)

    def set_figures(self, figures: PerDigit | None) -> None:
        self.figures = figures
        self.update()

    def plot_rect(self) -> QRectF:
        line = self.fontMetrics().height()
        left = self.fontMetrics().horizontalAdvance("100%") + 8
        return QRectF(left, line + 2, max(1.0, self.width() - left - 6), max(1.0, self.height() - 3 * line - 6))

    def digit_at(self, x: float) -> int | None:
        rect = self.plot_rect()
        slot = (x - rect.left()) / rect.width() * 10
        return int(slot) if 0 <= slot < 10 else None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        digit = self.digit_at(event.position().x())
        f = self.figures
        self.setToolTip("" if f is None or digit is None else
                        f"{digit}: precision {f.precision[digit]:.2%}, recall {f.recall[digit]:.2%}, "
                        f"F1 {f.f1[digit]:.2%}")
        super().mouseMoveEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802
        # After every epoch only the bars and the F1 figures change: the grid, its labels and the digits
        # are painted into a pixmap once per size and bar floor.
        painter = QPainter(self)
        figures = self.figures
        floor = bar_floor(figures) if figures is not None else 0.0
        painter.drawPixmap(0, 0, self._frame_pixmap(floor))
        if figures is None:
            return
        rect = self.plot_rect()
        line = self.fontMetrics().height()
        slot = rect.width() / 10
        top = 1.0 + (1.0 - floor) * 0.18  # room for the F1 figures above the highest bars

        def y_of(value: float) -> float:
            return rect.bottom() - (value - floor) / (top - floor) * rect.height()

        painter.setPen(Qt.PenStyle.NoPen)
        bar = slot * WIDTH
        for k, ((_, colour), values) in enumerate(zip(SERIES, (figures.precision, figures.recall, figures.f1))):
            painter.setBrush(QColor(colour))
            for d, value in enumerate(values.tolist()):
                x = rect.left() + (d + 0.5 + (k - 1.5) * WIDTH) * slot
                y = y_of(value)
                painter.drawRect(QRectF(x, y, bar, rect.bottom() - y))
        painter.setPen(QPen(QColor(FOREGROUND)))
        highest = np.maximum(np.maximum(figures.precision, figures.recall), figures.f1).tolist()
        for d, (f1, high) in enumerate(zip(figures.f1.tolist(), highest)):
            text = f"{f1 * 100:.1f}"
            static = self._texts.get(text)
            if static is None:
                if len(self._texts) > 1000:
                    self._texts.clear()
                static = self._texts[text] = QStaticText(text)
                static.prepare(font=self.font())
            size = static.size()
            painter.drawStaticText(QPointF(rect.left() + (d + 0.5) * slot - size.width() / 2,
                                           y_of(high) - 1 - line / 2 - size.height() / 2), static)

    def _frame_pixmap(self, floor: float) -> QPixmap:
        """The background, grid, its labels and the digits, for bars from ``floor``."""
        return self._frame.pixmap(self, floor, lambda painter: self._paint_frame(painter, floor))

    def _paint_frame(self, painter: QPainter, floor: float) -> None:
        ink = QColor(FOREGROUND)
        grid = QColor(ink)
        grid.setAlpha(45)
        rect = self.plot_rect()
        line = self.fontMetrics().height()
        slot = rect.width() / 10
        top = 1.0 + (1.0 - floor) * 0.18

        def y_of(value: float) -> float:
            return rect.bottom() - (value - floor) / (top - floor) * rect.height()

        span = 1.0 - floor
        step = next((s for s, most in ((0.01, 0.06), (0.02, 0.12), (0.05, 0.3), (0.1, 0.6)) if span <= most), 0.2)
        for k in range(int(round((1.0 - floor) / step)) + 1):
            value = floor + k * step
            y = y_of(value)
            painter.setPen(grid)
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            painter.setPen(ink)
            painter.drawText(QRectF(0, y - line / 2, rect.left() - 4, line),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{value:.0%}")
        for d in range(10):
            painter.drawText(QRectF(rect.left() + d * slot, rect.bottom() + 2, slot, line),
                             Qt.AlignmentFlag.AlignCenter, str(d))
        painter.drawText(QRectF(rect.left(), rect.bottom() + 2 + line, rect.width(), line),
                         Qt.AlignmentFlag.AlignCenter, "digit")


class PerDigitView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("perDigitAccuracy")
        self.setAccessibleName("Precision, recall and F1 per digit")
        self._figures: PerDigit | None = None
        self.bars = DigitBars()
        # The colour key never changes; the figures change after every epoch, in a SteadyLabel (a QLabel's
        # new text re-lays out the window, and the tab widget repaints its whole page).
        self.key = QLabel(" ".join(f"<span style='color:{color}'>■</span> {name}" for name, color in SERIES)
                          + "; F1 (%) above each digit.")
        self.key.setObjectName("perDigitKey")
        self.table = SteadyLabel("perDigitFigures", 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bars, 1)
        layout.addWidget(self.key)
        layout.addWidget(self.table)

    def figures(self) -> PerDigit | None:
        return self._figures

    def show_figures(self, figures: PerDigit | None) -> None:
        self._figures = figures
        self.bars.set_figures(figures)
        if figures is None:
            self.table.setText("")
            return
        worst = int(np.argmin(figures.f1))
        self.table.setText(f"Weakest: <b>{worst}</b> (precision "
                           f"{figures.precision[worst]:.1%}, recall {figures.recall[worst]:.1%}).")
