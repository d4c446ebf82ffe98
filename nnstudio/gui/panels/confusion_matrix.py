"""The confusion matrix: a 10x10 heatmap of counts, shaded by each row's share, the diagonal in its own
colour; hover says the count and the share, a click on a cell asks the gallery for its images."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from nnstudio.gui.colors import BACKGROUND, FOREGROUND

CLASSES = 10
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


class CellLabels(pg.GraphicsObject):
    """The counts written in the cells, as one item: 100 TextItems cost ~25 ms to update and ~10 ms to
    paint each epoch; this draws the changed texts in one pass, at a fixed pixel size."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: list[tuple[str, QColor]] = [("", QColor(FOREGROUND))] * (CLASSES * CLASSES)
        self.font = QFont()
        self.font.setPointSizeF(7)

    def set_labels(self, labels: list[tuple[str, QColor]]) -> None:
        self.labels = labels
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        return QRectF(0, 0, CLASSES, CLASSES)

    def paint(self, painter, *_: object) -> None:
        transform = painter.transform()
        painter.resetTransform()  # text at its pixel size, whatever the view's scale
        painter.setFont(self.font)
        cell = transform.mapRect(QRectF(0, 0, 1, 1))
        for i, (text, color) in enumerate(self.labels):
            if text:
                t, p = divmod(i, CLASSES)
                centre = transform.map(QPointF(p + 0.5, t + 0.5))
                painter.setPen(color)
                painter.drawText(QRectF(centre.x() - cell.width() / 2, centre.y() - cell.height() / 2,
                                        cell.width(), cell.height()), Qt.AlignmentFlag.AlignCenter, text)


class ConfusionMatrixView(QWidget):
    """Shows a confusion matrix (rows: true digit, columns: predicted); ``cell_clicked(true, predicted)``."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusionMatrix")
        self.setAccessibleName("Confusion matrix")
        self._confusion: np.ndarray | None = None
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.graphics.setObjectName("confusionMatrixPlot")
        self.plot = self.graphics.addPlot(row=0, col=0)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", "predicted digit", color=FOREGROUND)
        self.plot.setLabel("left", "true digit", color=FOREGROUND)
        ticks = [[(d + 0.5, str(d)) for d in range(CLASSES)]]
        for side in ("bottom", "left"):
            axis = self.plot.getAxis(side)
            axis.setTicks(ticks)
            axis.setPen(FOREGROUND)
            axis.setTextPen(FOREGROUND)
        self.plot.setRange(xRange=(0, CLASSES), yRange=(0, CLASSES), padding=0.02)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.cell_labels = CellLabels()
        self.plot.addItem(self.cell_labels)
        self.highlight = pg.PlotDataItem([], [], pen=pg.mkPen("#202020", width=2.5))
        self.plot.addItem(self.highlight)
        self.color_bar = pg.ColorBarItem(values=(0, 1), colorMap=MISTAKE_MAP, interactive=False, width=12,
                                         label="% of the row read wrong", colorMapMenu=False)
        self.graphics.addItem(self.color_bar, row=0, col=1)
        self.hover = QLabel("Hover over a cell for its count; click it to see its images.")
        self.hover.setObjectName("confusionHover")
        self.hover.setWordWrap(True)
        # Two lines' room from the start: a hover text that wraps would otherwise move the matrix under the mouse.
        self.hover.setMinimumHeight(2 * self.hover.fontMetrics().lineSpacing() + 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover)
        self.graphics.scene().sigMouseMoved.connect(self._on_moved)
        self.graphics.scene().sigMouseClicked.connect(self._on_clicked)

    # -- showing -----------------------------------------------------------------------------

    def matrix(self) -> np.ndarray | None:
        """The counts shown (a copy), or None before any."""
        return None if self._confusion is None else self._confusion.copy()

    def show_matrix(self, confusion: np.ndarray | None) -> None:
        self._confusion = None if confusion is None else np.array(confusion)
        if confusion is None:
            self.image.clear()
            self.cell_labels.set_labels([("", QColor(FOREGROUND))] * (CLASSES * CLASSES))
            return
        rows = np.maximum(self._confusion.sum(axis=1, keepdims=True), 1)
        share = self._confusion / rows
        off = share.copy()
        np.fill_diagonal(off, 0)
        top = nice_ceiling(off.max() * 100)
        rgba = MISTAKE_MAP.map(np.clip(off * 100 / top, 0, 1).ravel(), mode="byte").reshape(CLASSES, CLASSES, -1)
        diagonal = CORRECT_MAP.map(np.clip(np.diag(share), 0, 1), mode="byte")
        rgba[np.arange(CLASSES), np.arange(CLASSES)] = diagonal
        self.image.setImage(rgba[..., :3].astype(np.uint8), autoLevels=False, levels=(0, 255))
        self.image.setRect(0, 0, CLASSES, CLASSES)
        self.color_bar.setLevels((0, top))
        white, ink = QColor("white"), QColor(FOREGROUND)
        dark = np.eye(CLASSES, dtype=bool) & (share > 0.5) | ~np.eye(CLASSES, dtype=bool) & (off * 100 / top > 0.6)
        self.cell_labels.set_labels([(str(count) if count else "", white if is_dark else ink)
                                     for count, is_dark in zip(self._confusion.ravel().tolist(), dark.ravel().tolist())])

    def cell_texts(self) -> list[str]:
        """The figures written in the cells, row by row ("" for an empty cell)."""
        return [text for text, _ in self.cell_labels.labels]

    def select(self, true: int | None, predicted: int | None) -> None:
        """Outline the chosen cell (None: no outline)."""
        if true is None or predicted is None:
            self.highlight.setData([], [])
        else:
            x = [predicted, predicted + 1, predicted + 1, predicted, predicted]
            y = [true, true, true + 1, true + 1, true]
            self.highlight.setData(x, y)

    # -- the mouse -----------------------------------------------------------------------------

    def cell_center(self, true: int, predicted: int) -> QPoint:
        """Where cell ``(true, predicted)`` lies in :attr:`graphics`' viewport, for a click."""
        scene = self.plot.vb.mapViewToScene(QPointF(predicted + 0.5, true + 0.5))
        return self.graphics.mapFromScene(scene)

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        if not self.plot.vb.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.plot.vb.mapSceneToView(scene_pos)
        p, t = int(np.floor(point.x())), int(np.floor(point.y()))
        return (t, p) if 0 <= t < CLASSES and 0 <= p < CLASSES else None

    def describe(self, true: int, predicted: int) -> str:
        count = int(self._confusion[true, predicted])
        total = int(self._confusion[true].sum())
        share = count / total if total else 0.0
        what = "read correctly" if true == predicted else f"read as {predicted}"
        return f"{count:,} of the {total:,} images of {true} {what} ({share:.1%})"

    def _on_moved(self, scene_pos: QPointF) -> None:
        cell = self.cell_at(scene_pos) if self._confusion is not None else None
        text = self.describe(*cell) if cell else ""
        self.graphics.setToolTip(text)
        if cell:
            self.hover.setText(text)

    def _on_clicked(self, event) -> None:
        cell = self.cell_at(event.scenePos()) if self._confusion is not None else None
        if cell is not None:
            self.select(*cell)
            self.hover.setText(self.describe(*cell))
            self.cell_clicked.emit(*cell)
