"""The confusion matrix: a 10x10 heatmap of counts, shaded by each row's share, the diagonal in its own
colour; hover says the count and the share, a click on a cell asks the gallery for its images."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap, QStaticText
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from nnstudio.gui.colors import FOREGROUND
from nnstudio.gui.frame_cache import FrameCache

CLASSES = 10
# pyqtgraph only for its colour maps: the matrix is painted with QPainter (MatrixCanvas).
# Off the diagonal: white to vermillion by share of the row; on it: light to deep blue-green.
MISTAKE_MAP = pg.ColorMap([0.0, 0.5, 1.0], [(255, 255, 255), (240, 160, 110), (190, 50, 20)])
CORRECT_MAP = pg.ColorMap([0.0, 1.0], [(200, 230, 225), (0, 120, 110)])


def nice_ceiling(value: float) -> float:
    """The colour bar's top: 1, 2 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** np.floor(np.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


class MatrixCanvas(QWidget):
    """The heatmap, its counts, the axes and the colour bar, painted with QPainter in one pass.

    Refreshed after every epoch of a run: a pyqtgraph plot with an image, a colour bar and the counts
    re-laid out its axes and repainted about twice per new result; this paints once per new result."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colours: np.ndarray | None = None  # (10, 10, 3) bytes
        self.image = QImage()  # the colours as an image (one pixel a cell), made once per new matrix
        self.labels: list[tuple[str, QColor]] = [("", QColor(FOREGROUND))] * (CLASSES * CLASSES)
        self.top = 1.0  # the colour bar's top (% of the row read wrong)
        self.selected: tuple[int, int] | None = None
        self.small = QFont(self.font())
        self.small.setPointSizeF(7)
        self._bar = QImage()
        self._frame = FrameCache()  # what does not change with the counts, painted once
        self._texts: dict[str, QStaticText] = {}  # the counts' texts, laid out once each
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def viewport(self) -> QWidget:
        """The widget that takes the mouse (itself; a pyqtgraph view's was its viewport)."""
        return self

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(380, 330)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(180, 160)

    def grid_rect(self) -> QRectF:
        """Where the 10x10 cells lie (square), left of the colour bar."""
        line = self.fontMetrics().height()
        left, bottom, right, top = 2 * line + 8, 2 * line + 6, 2 * line + 60, 6
        side = max(10.0, min(self.width() - left - right, self.height() - top - bottom))
        return QRectF(left, top, side, side)

    def paintEvent(self, event) -> None:  # noqa: N802
        # After every epoch only the cells and their counts change: the axes, their digits and titles and
        # the colour bar are painted into a pixmap once per size and colour-bar top (130 texts a paint were
        # most of its cost).
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._frame_pixmap())
        grid = self.grid_rect()
        cell = grid.width() / CLASSES
        if not self.image.isNull():
            painter.drawImage(grid, self.image)  # one pixel a cell, scaled up
        painter.setPen(QPen(QColor(FOREGROUND), 1))
        painter.drawRect(grid)
        painter.setFont(self.small)
        for i, (text, colour) in enumerate(self.labels):
            if text:
                t, p = divmod(i, CLASSES)
                static = self._texts.get(text)
                if static is None:
                    if len(self._texts) > 1000:
                        self._texts.clear()
                    static = self._texts[text] = QStaticText(text)
                    static.prepare(font=self.small)
                size = static.size()
                painter.setPen(colour)
                painter.drawStaticText(QPointF(grid.left() + (p + 0.5) * cell - size.width() / 2,
                                               grid.top() + (t + 0.5) * cell - size.height() / 2), static)
        if self.selected is not None:
            t, p = self.selected
            painter.setPen(QPen(QColor("#202020"), 2.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(grid.left() + p * cell, grid.top() + t * cell, cell, cell))

    def _frame_pixmap(self) -> QPixmap:
        return self._frame.pixmap(self, self.top, self._paint_frame)

    def _paint_frame(self, painter: QPainter) -> None:
        """The digits along both axes, the axes' titles and the colour bar."""
        ink = QColor(FOREGROUND)
        line = self.fontMetrics().height()
        grid = self.grid_rect()
        cell = grid.width() / CLASSES
        painter.setPen(QPen(ink, 1))
        for d in range(CLASSES):  # the digits along both axes
            painter.drawText(QRectF(grid.left() + d * cell, grid.bottom() + 2, cell, line),
                             Qt.AlignmentFlag.AlignCenter, str(d))
            painter.drawText(QRectF(grid.left() - line - 4, grid.top() + d * cell, line, cell),
                             Qt.AlignmentFlag.AlignCenter, str(d))
        painter.drawText(QRectF(grid.left(), grid.bottom() + 2 + line, grid.width(), line),
                         Qt.AlignmentFlag.AlignCenter, "predicted digit")
        self._vertical_text(painter, grid.left() - line - 6, grid.center().y(), grid.height(), line, "true digit")
        self._paint_colour_bar(painter, grid, ink, line)

    @staticmethod
    def _vertical_text(painter: QPainter, x: float, y: float, length: float, line: int, text: str) -> None:
        """``text`` turned to read upwards, its baseline's centre at ``(x, y)``."""
        painter.save()
        painter.translate(x, y)
        painter.rotate(-90)
        painter.drawText(QRectF(-length / 2, -line, length, line), Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def _paint_colour_bar(self, painter: QPainter, grid: QRectF, ink: QColor, line: int) -> None:
        bar = QRectF(grid.right() + 12, grid.top(), 12, grid.height())
        if self._bar.isNull():
            shades = np.ascontiguousarray(MISTAKE_MAP.map(np.linspace(1.0, 0.0, 64), mode="byte")[:, :3], np.uint8)
            self._bar = QImage(shades.data, 1, 64, 3, QImage.Format.Format_RGB888).copy()
        painter.drawImage(bar, self._bar)
        painter.setPen(QPen(ink, 1))
        painter.drawRect(bar)
        widest = 0
        for k in range(6):
            value = self.top * k / 5
            y = bar.bottom() - bar.height() * k / 5
            text = f"{value:g}"
            widest = max(widest, self.fontMetrics().horizontalAdvance(text))
            painter.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 3, y))
            painter.drawText(QRectF(bar.right() + 5, y - line / 2, 40, line),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        self._vertical_text(painter, bar.right() + 8 + widest + line, bar.center().y(), bar.height(), line,
                            "% of the row read wrong")


class ConfusionMatrixView(QWidget):
    """Shows a confusion matrix (rows: true digit, columns: predicted); ``cell_clicked(true, predicted)``."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusionMatrix")
        self.setAccessibleName("Confusion matrix")
        self._confusion: np.ndarray | None = None
        self.graphics = MatrixCanvas()
        self.graphics.setObjectName("confusionMatrixPlot")
        self.hover = QLabel("Hover over a cell for its count; click it to see its images.")
        self.hover.setObjectName("confusionHover")
        self.hover.setWordWrap(True)
        # Two lines' room from the start: a hover text that wraps would otherwise move the matrix under the mouse.
        self.hover.setMinimumHeight(2 * self.hover.fontMetrics().lineSpacing() + 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover)
        self.graphics.installEventFilter(self)

    # -- showing -----------------------------------------------------------------------------

    def matrix(self) -> np.ndarray | None:
        """The counts shown (a copy), or None before any."""
        return None if self._confusion is None else self._confusion.copy()

    def show_matrix(self, confusion: np.ndarray | None) -> None:
        self._confusion = None if confusion is None else np.array(confusion)
        canvas = self.graphics
        if confusion is None:
            canvas.colours, canvas.image = None, QImage()
            canvas.labels = [("", QColor(FOREGROUND))] * (CLASSES * CLASSES)
            canvas.update()
            return
        rows = np.maximum(self._confusion.sum(axis=1, keepdims=True), 1)
        share = self._confusion / rows
        off = share.copy()
        np.fill_diagonal(off, 0)
        top = nice_ceiling(off.max() * 100)
        rgba = MISTAKE_MAP.map(np.clip(off * 100 / top, 0, 1).ravel(), mode="byte").reshape(CLASSES, CLASSES, -1)
        diagonal = CORRECT_MAP.map(np.clip(np.diag(share), 0, 1), mode="byte")
        rgba[np.arange(CLASSES), np.arange(CLASSES)] = diagonal
        canvas.colours = np.ascontiguousarray(rgba[..., :3].astype(np.uint8))
        canvas.image = QImage(canvas.colours.data, CLASSES, CLASSES, 3 * CLASSES, QImage.Format.Format_RGB888).copy()
        canvas.top = top
        white, ink = QColor("white"), QColor(FOREGROUND)
        dark = np.eye(CLASSES, dtype=bool) & (share > 0.5) | ~np.eye(CLASSES, dtype=bool) & (off * 100 / top > 0.6)
        canvas.labels = [(str(count) if count else "", white if is_dark else ink)
                         for count, is_dark in zip(self._confusion.ravel().tolist(), dark.ravel().tolist())]
        canvas.update()

    def cell_texts(self) -> list[str]:
        """The figures written in the cells, row by row ("" for an empty cell)."""
        return [text for text, _ in self.graphics.labels]

    def select(self, true: int | None, predicted: int | None) -> None:
        """Outline the chosen cell (None: no outline)."""
        self.graphics.selected = None if true is None or predicted is None else (true, predicted)
        self.graphics.update()

    # -- the mouse -----------------------------------------------------------------------------

    def cell_center(self, true: int, predicted: int) -> QPoint:
        """Where cell ``(true, predicted)`` lies in :attr:`graphics`, for a click."""
        grid = self.graphics.grid_rect()
        cell = grid.width() / CLASSES
        return QPoint(round(grid.left() + (predicted + 0.5) * cell), round(grid.top() + (true + 0.5) * cell))

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        """The cell ``(true, predicted)`` under ``pos`` (in :attr:`graphics`), or None."""
        grid = self.graphics.grid_rect()
        p = int(np.floor((pos.x() - grid.left()) / grid.width() * CLASSES))
        t = int(np.floor((pos.y() - grid.top()) / grid.height() * CLASSES))
        return (t, p) if 0 <= t < CLASSES and 0 <= p < CLASSES else None

    def describe(self, true: int, predicted: int) -> str:
        count = int(self._confusion[true, predicted])
        total = int(self._confusion[true].sum())
        share = count / total if total else 0.0
        what = "read correctly" if true == predicted else f"read as {predicted}"
        return f"{count:,} of the {total:,} images of {true} {what} ({share:.1%})"

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.graphics:
            if event.type() == QEvent.Type.MouseMove:
                self._on_moved(event.position())
            elif event.type() == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
                self._on_clicked(event.position())
        return super().eventFilter(watched, event)

    def _on_moved(self, pos: QPointF) -> None:
        cell = self.cell_at(pos) if self._confusion is not None else None
        text = self.describe(*cell) if cell else ""
        self.graphics.setToolTip(text)
        if cell:
            self.hover.setText(text)

    def _on_clicked(self, pos: QPointF) -> None:
        cell = self.cell_at(pos) if self._confusion is not None else None
        if cell is not None:
            self.select(*cell)
            self.hover.setText(self.describe(*cell))
            self.cell_clicked.emit(*cell)
