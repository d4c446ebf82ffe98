"""The canvas of the network diagram: an image, lines in six pens, neurons and labels, painted
with QPainter in view units mapped onto the widget (one scale for both axes, labels in margins).

Neurons come from one sheet of pre-rendered antialiased sprites, drawn in one call (pixmap
fragments filled from NumPy), the connections in one call per pen from NumPy too, and labels
from cached static texts: the diagram follows every stroke, and rasterising forty circles and
twenty strings, or making a Qt object per line and neuron, each time cost more than computing
what they show.
"""

from __future__ import annotations

import numpy as np
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QStaticText
from PySide6.QtWidgets import QSizePolicy, QWidget

from nnstudio.gui.panels.inside_style import NEGATIVE, POSITIVE

HEIGHT = 16.0  # the diagram's height in view units; the input image is HEIGHT × HEIGHT
SPACING = 9.0  # between layer columns
# Connection widths, weakest third to strongest. Not exactly 1: Qt draws one-pixel lines one pixel at
# a time, five times slower than the filled outline it draws of a line a hair wider (the same pixels).
WIDTHS = (1.05, 2.0, 3.0)
TINTS = (0.45, 0.75, 1.0)  # and how much of their colour they show over PALE
PALE = (225, 225, 225)
IDLE = np.array((150, 150, 150), dtype=np.float32)
LEVELS = 8  # shades per sign
NODE = 13  # neuron diameter, pixels
RING = 21  # the selected neuron's ring, pixels
PICK = 10  # a click this close to a neuron's centre (pixels) selects it
TITLE = QColor(128, 128, 128)  # readable on light and dark windows
TOP_LABEL = QColor(230, 140, 0)
OTHER_LABEL = QColor(128, 128, 128)


def _shades() -> dict[int, QColor]:
    """Colours from -LEVELS (most inhibited, blue) through 0 (idle gray) to LEVELS (most active, red)."""
    shades = {}
    for level in range(-LEVELS, LEVELS + 1):
        a = abs(level) / LEVELS
        colour = np.array(POSITIVE if level >= 0 else NEGATIVE, dtype=np.float32)
        shades[level] = QColor(*(int(c) for c in IDLE * (1 - a) + colour * a))
    return shades


def _pens() -> dict[tuple[int, int], QPen]:
    """Opaque pens per sign × strength (a weak line is a paler one): blending translucent lines is slow."""
    pens = {}
    for sign, colour in ((1, POSITIVE), (-1, NEGATIVE)):
        for strength, (width, tint) in enumerate(zip(WIDTHS, TINTS)):
            rgb = (np.array(colour) * tint + np.array(PALE) * (1 - tint)).astype(int)
            pen = QPen(QColor(*(int(c) for c in rgb)), width)
            pen.setCosmetic(True)
            pens[sign, strength] = pen
    return pens


SHADES = _shades()
PENS = _pens()


class Sprites:
    """Pre-rendered antialiased neurons (one sheet: a circle per shade, side by side) and laid-out
    texts (QStaticText): drawing those costs a fraction of rasterising circles and strings."""

    def __init__(self) -> None:
        self.sheets: dict[float, QPixmap] = {}
        self.texts: dict[str, QStaticText] = {}

    def sheet(self, ratio: float) -> QPixmap:
        """Circle ``level + LEVELS`` (a shade of :data:`SHADES`) at ``x = (level + LEVELS) * cell``,
        in device pixels (``cell = (NODE + 2) * ratio``)."""
        pixmap = self.sheets.get(ratio)
        if pixmap is None:
            side = NODE + 2
            cell = round(side * ratio)
            pixmap = QPixmap(cell * len(SHADES), cell)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.scale(ratio, ratio)
            painter.setPen(QPen(QColor(60, 60, 60), 1))
            for i, level in enumerate(sorted(SHADES)):
                painter.setBrush(SHADES[level])
                painter.drawEllipse(QPointF(i * cell / ratio + side / 2, side / 2), NODE / 2, NODE / 2)
            painter.end()
            self.sheets[ratio] = pixmap
        return pixmap

    def text(self, text: str) -> QStaticText:
        static = self.texts.get(text)
        if static is None:
            if len(self.texts) > 500:
                self.texts.clear()
            static = self.texts[text] = QStaticText(text)
            static.setTextFormat(Qt.TextFormat.PlainText)
        return static


class DiagramCanvas(QWidget):
    """Paints what :class:`NetworkView` lays out, in view units mapped onto the widget (y down).

    It stands where a plot stood: :meth:`viewport` is the widget itself (clicks land on it).
    """

    clicked = Signal(QPointF)  # a left click, in view units

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paints its own background: nothing behind
        self.range = QRectF(0, 0, 1, 1)  # the view units shown (labels go in margins around them)
        self.image: QImage | None = None  # the input, drawn over (0, 0, HEIGHT, HEIGHT)
        self.ring: QPointF | None = None
        # at (view units), anchor, text, colour[, a shift to the right in pixels]
        self.texts: list[tuple] = []
        self.sprites = Sprites()
        self._lines: dict[tuple[int, int], PrimitiveArray] = {}  # per pen, the lines in view units
        self._centres = np.zeros((0, 2))  # the neurons' centres, view units
        self._levels = np.zeros(0, dtype=int)  # and their shades, -LEVELS..LEVELS
        self._fragments = PrimitiveArray(QPainter.PixmapFragment, 10)

    # -- what to draw ---------------------------------------------------------------------------

    def set_lines(self, buckets: dict[tuple[int, int], np.ndarray]) -> None:
        """The connections: per (sign, strength) pen, an ``(n, 4)`` array of x0, y0, x1, y1 (view units)."""
        lines = {}
        for key, ends in buckets.items():
            if len(ends):
                array = self._lines.get(key) or PrimitiveArray(QLineF, 4)
                array.resize(len(ends))
                array.ndarray()[:] = ends
                lines[key] = array
        self._lines = lines

    def set_nodes(self, centres: np.ndarray, levels: np.ndarray) -> None:
        """The neurons: ``(n, 2)`` centres (view units) and their shades (-LEVELS..LEVELS)."""
        self._centres = np.asarray(centres, dtype=float).reshape(-1, 2)
        self._levels = np.asarray(levels, dtype=int)

    def clear_drawing(self) -> None:
        self.image, self.ring = None, None
        self._lines = {}
        self.set_nodes(np.zeros((0, 2)), np.zeros(0, dtype=int))

    def line_count(self) -> int:
        return sum(len(a.ndarray()) for a in self._lines.values())

    def viewport(self) -> QWidget:
        return self

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(640, 300)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, 160)

    def _transform(self) -> tuple[float, float, float]:
        """Scale and offsets from view units to pixels: one scale for both axes (the input stays
        square), the diagram centred, room kept around it for the titles and the output labels."""
        metrics = self.fontMetrics()
        line = metrics.height()
        right = metrics.horizontalAdvance("9  100%") + 8
        top = bottom = line + 8
        r = self.range
        scale = max(0.1, min((self.width() - 4 - right) / r.width(), (self.height() - top - bottom) / r.height()))
        left = 4 + (self.width() - 4 - right - scale * r.width()) / 2
        above = top + (self.height() - top - bottom - scale * r.height()) / 2
        return scale, left - r.left() * scale, above - r.top() * scale

    def to_pixels(self, point: QPointF, transform: tuple[float, float, float] | None = None) -> QPointF:
        scale, dx, dy = transform or self._transform()
        return QPointF(point.x() * scale + dx, point.y() * scale + dy)

    def nearest(self, pixel: QPointF) -> int | None:
        """The index (in :meth:`set_nodes` order) of the neuron within :data:`PICK` pixels of ``pixel``, if any."""
        if not len(self._centres):
            return None
        scale, dx, dy = self._transform()
        d = ((self._centres * scale + (dx, dy) - (pixel.x(), pixel.y())) ** 2).sum(axis=1)
        index = int(d.argmin())
        return index if d[index] <= PICK * PICK else None

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(event.rect(), self.palette().brush(self.backgroundRole()))
        transform = scale, dx, dy = self._transform()
        if self.image is not None:
            target = QRectF(self.to_pixels(QPointF(0, 0), transform), self.to_pixels(QPointF(HEIGHT, HEIGHT), transform))
            painter.drawImage(target, self.image)  # nearest neighbour: the pixels stay visible
        painter.save()  # lines in view units, never antialiased (wide antialiased lines are slow)
        painter.translate(dx, dy)
        painter.scale(scale, scale)
        for key, lines in sorted(self._lines.items(), key=lambda kv: kv[0][1]):  # strongest on top
            painter.setPen(PENS[key])
            painter.drawLines(*lines.drawargs())
        painter.restore()
        if len(self._centres):  # every neuron in one call, each a fragment of the sprite sheet
            ratio = self.devicePixelRatioF()
            cell = round((NODE + 2) * ratio)
            self._fragments.resize(len(self._centres))
            f = self._fragments.ndarray()  # x, y (the centre), source left, top, width, height, scale x, y, rotation, opacity
            f[:, :2] = self._centres * scale + (dx, dy)
            f[:, 2] = (self._levels + LEVELS) * cell
            f[:, 3] = 0
            f[:, 4:6] = cell
            f[:, 6:8] = 1 / ratio
            f[:, 8] = 0
            f[:, 9] = 1
            painter.drawPixmapFragments(*self._fragments.drawargs(), self.sprites.sheet(ratio))
        if self.ring is not None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(255, 200, 0), 2.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self.to_pixels(self.ring, transform), RING / 2, RING / 2)
        for at, (ax, ay), text, colour, *shift in self.texts:
            if not text:
                continue
            static = self.sprites.text(text)
            size = static.size()
            p = self.to_pixels(at, transform)
            painter.setPen(colour)
            x = p.x() - ax * size.width() + (shift[0] if shift else 0)
            painter.drawStaticText(QPointF(x, p.y() - ay * size.height()), static)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(event.position())
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        over = self.nearest(event.position()) is not None
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)
