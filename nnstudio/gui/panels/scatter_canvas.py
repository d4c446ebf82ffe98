"""A scatter of a few thousand points coloured by label, painted with QPainter, with hover and click.

The layer map's points change after every epoch of a run: ten pyqtgraph scatter items spent ~30 ms
of the GUI thread per new map on their spot tables and bounds, and repainted more than once. This
draws the points into a cached image with NumPy once per new map (about a millisecond) and finds the
point under the mouse with one NumPy distance computation.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

MARGIN = 6  # pixels around the points
DOT = 5.0  # a point's diameter in pixels
REACH = 6.0  # how near (pixels) the mouse must be to a point to pick it


class ScatterCanvas(QWidget):
    """``hovered(position)`` / ``clicked(position)``: the row of :attr:`points` under the mouse."""

    hovered = Signal(int)
    clicked = Signal(int)

    def __init__(self, colors: tuple[str, ...], background: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rgb = np.array([QColor(c).rgb() for c in colors], np.uint32)
        self._background_rgb = np.uint32(QColor(background).rgb())
        self.points = np.empty((0, 2))
        self.labels = np.empty(0, np.intp)
        self._cache = QImage()
        self._cache_key: tuple | None = None
        self._serial = 0  # bumped by each new set of points
        self._hovered = -1
        self._pixels: tuple[tuple, np.ndarray] | None = None  # (size, serial) and the points' positions
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(300, 240)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(80, 60)

    def set_points(self, points: np.ndarray, labels: np.ndarray) -> None:
        """Show ``points`` (n x 2, any units: framed to fit) coloured by ``labels`` (0-9)."""
        self.points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        self.labels = np.asarray(labels, dtype=np.intp)
        self._serial += 1
        self._hovered = -1
        self.update()

    # -- where the points lie ------------------------------------------------------------------------

    def pixels(self) -> np.ndarray:
        """Every point's position in the widget, in pixels (n x 2; read-only): computed once per new set of
        points and size, not on every move of the mouse."""
        key = (self.width(), self.height(), self._serial)
        if self._pixels is None or self._pixels[0] != key:
            pixels = self._positions()
            pixels.setflags(write=False)
            self._pixels = (key, pixels)
        return self._pixels[1]

    def _positions(self) -> np.ndarray:
        if not len(self.points):
            return np.empty((0, 2))
        low, high = self.points.min(axis=0), self.points.max(axis=0)
        span = np.where(high > low, high - low, 1.0)
        size = np.array([max(self.width() - 2 * MARGIN, 1), max(self.height() - 2 * MARGIN, 1)], float)
        unit = (self.points - low) / span
        unit[:, 1] = 1.0 - unit[:, 1]  # y grows upwards, as on a plot
        return MARGIN + unit * size

    def point_position(self, position: int) -> QPoint:
        """Where row ``position`` of the points lies in the widget, for a click."""
        x, y = self.pixels()[position]
        return QPoint(round(float(x)), round(float(y)))

    def point_at(self, x: float, y: float) -> int | None:
        """The row of the point nearest to ``(x, y)`` within :data:`REACH` pixels, or None."""
        if not len(self.points):
            return None
        d = ((self.pixels() - (x, y)) ** 2).sum(axis=1)
        nearest = int(np.argmin(d))
        return nearest if d[nearest] <= REACH * REACH else None

    # -- the mouse -------------------------------------------------------------------------------------

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        position = self.point_at(event.position().x(), event.position().y())
        if position is not None and position != self._hovered:
            self._hovered = position
            self.hovered.emit(position)
            self.update()
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            position = self.point_at(event.position().x(), event.position().y())
            if position is not None:
                self.clicked.emit(position)
                return
        super().mousePressEvent(event)

    # -- painting --------------------------------------------------------------------------------------

    def _points_image(self) -> QImage:
        """The points drawn into an image by NumPy: a disc of :data:`DOT` pixels stamped at every point
        in a few vectorised assignments (QPainter's antialiased points took ~10 ms for 2,000)."""
        ratio = self.devicePixelRatioF()
        key = (self.width(), self.height(), ratio, self._serial)
        if key == self._cache_key:
            return self._cache
        w, h = max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio))
        pixels = np.full(h * w, self._background_rgb, np.uint32)  # 0xAARRGGBB, one word a pixel
        if len(self.points):
            at = np.rint(self.pixels() * ratio).astype(np.intp)
            colours = self._rgb[np.clip(self.labels, 0, len(self._rgb) - 1)]
            r = DOT * ratio / 2
            reach = int(np.ceil(r))
            for dy in range(-reach, reach + 1):
                for dx in range(-reach, reach + 1):
                    if dx * dx + dy * dy > r * r:
                        continue
                    x, y = at[:, 0] + dx, at[:, 1] + dy
                    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
                    pixels[(y * w + x)[inside]] = colours[inside]
        image = QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()
        image.setDevicePixelRatio(ratio)
        self._cache, self._cache_key = image, key
        return image

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.drawImage(0, 0, self._points_image())
        if 0 <= self._hovered < len(self.points):  # a ring round the point under the mouse
            x, y = self.pixels()[self._hovered].tolist()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(40, 40, 40), 1.5))
            painter.drawEllipse(QPointF(x, y), DOT, DOT)
