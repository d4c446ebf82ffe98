"""The canvas of the network diagram: an image, lines in six pens, neurons and labels, painted
with QPainter in view units mapped onto the widget (one scale for both axes, labels in margins).

Neurons come from pre-rendered antialiased sprites and labels from cached static texts: the
diagram follows every stroke, and rasterising forty circles and twenty strings each time cost
more than computing what they show.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QStaticText
from PySide6.QtWidgets import QSizePolicy, QWidget

from nnstudio.gui.panels.inside_style import NEGATIVE, POSITIVE

HEIGHT = 16.0  # the diagram's height in view units; the input image is HEIGHT × HEIGHT
SPACING = 9.0  # between layer columns
WIDTHS = (1.0, 2.0, 3.0)  # connection widths, weakest third to strongest
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
    """Pre-rendered antialiased neurons (one small pixmap per fill) and laid-out texts (QStaticText):
    drawing a cached pixmap or static text costs a fraction of rasterising a circle or a string."""

    def __init__(self) -> None:
        self.circles: dict[int, QPixmap] = {}
        self.texts: dict[str, QStaticText] = {}

    def circle(self, colour: QColor, ratio: float) -> QPixmap:
        key = colour.rgba()
        pixmap = self.circles.get(key)
        if pixmap is None:
            side = NODE + 2
            pixmap = QPixmap(round(side * ratio), round(side * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(60, 60, 60), 1))
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(side / 2, side / 2), NODE / 2, NODE / 2)
            painter.end()
            self.circles[key] = pixmap
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
        self.lines: dict[tuple[int, int], list[QLineF]] = {}
        self.nodes: list[tuple[QPointF, QColor]] = []  # centre (view units), fill
        self.ring: QPointF | None = None
        self.texts: list[tuple[QPointF, tuple[float, float], str, QColor]] = []  # at, anchor, text, colour
        self.pickable: list[QPointF] = []
        self.sprites = Sprites()

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
        """The index in :attr:`pickable` of the neuron within :data:`PICK` pixels of ``pixel``, if any."""
        best, index = PICK * PICK, None
        transform = self._transform()
        for i, centre in enumerate(self.pickable):
            p = self.to_pixels(centre, transform)
            d = (p.x() - pixel.x()) ** 2 + (p.y() - pixel.y()) ** 2
            if d <= best:
                best, index = d, i
        return index

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
        for key, group in sorted(self.lines.items(), key=lambda kv: kv[0][1]):  # strongest on top
            painter.setPen(PENS[key])
            painter.drawLines(group)
        painter.restore()
        ratio = self.devicePixelRatioF()
        half = (NODE + 2) / 2
        for centre, colour in self.nodes:
            p = self.to_pixels(centre, transform)
            painter.drawPixmap(QPointF(p.x() - half, p.y() - half), self.sprites.circle(colour, ratio))
        if self.ring is not None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(255, 200, 0), 2.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self.to_pixels(self.ring, transform), RING / 2, RING / 2)
        for at, (ax, ay), text, colour in self.texts:
            if not text:
                continue
            static = self.sprites.text(text)
            size = static.size()
            p = self.to_pixels(at, transform)
            painter.setPen(colour)
            painter.drawStaticText(QPointF(p.x() - ax * size.width(), p.y() - ay * size.height()), static)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(event.position())
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        over = self.nearest(event.position()) is not None
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)
