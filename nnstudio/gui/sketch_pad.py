"""A square drawing surface for digits: white chalk on a black slate, like MNIST.

Strokes are kept as lists of points in normalised coordinates (0..1 of the canvas side),
so the drawing survives any resize; they are rendered into a QImage backing store, and a
mouse move paints only the new piece of stroke and repaints only the rectangle it
touched. Points are joined by quadratic curves through their midpoints, so a fast
flick draws a smooth arc rather than a polygon. Pen and touch input arrive as Qt's
synthesised mouse events, so one code path serves mouse, stylus and finger.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

INK = QColor(255, 255, 255)
SLATE = QColor(0, 0, 0)
FRAME = QColor(70, 76, 86)
HINT = QColor(120, 126, 136)
MIN_SIDE = 280
FRAME_WIDTH = 2


class SketchPad(QWidget):
    """A square canvas the user draws a digit on; :meth:`image` is what was drawn.

    The canvas is the largest square that fits the widget, centred. Esc or Delete clears
    it, Ctrl+Z (the platform's Undo) removes the last stroke.
    """

    drawing_changed = Signal()
    """The drawing changed: a stroke grew, ended, was undone, or the pad was cleared or shown a sample."""
    stroke_finished = Signal()
    """The user lifted the pen: a good moment for an immediate prediction."""

    def __init__(self, parent: QWidget | None = None, *, brush_fraction: float = 0.075) -> None:
        super().__init__(parent)
        self.setMinimumSize(MIN_SIDE, MIN_SIDE)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit. Esc clears, Ctrl+Z undoes the last stroke.")
        self._brush_fraction = brush_fraction
        self._strokes: list[list[QPointF]] = []  # normalised points, finished strokes
        self._current: list[QPointF] | None = None  # the stroke being drawn
        self._sample: np.ndarray | None = None  # a 28x28 test image shown under the strokes
        self._canvas = QImage()
        self._render(MIN_SIDE)

    # -- public API -----------------------------------------------------------------------

    def set_brush_fraction(self, fraction: float) -> None:
        """Set the pen's width as a fraction of the canvas side (MNIST's strokes are about 0.08)."""
        self._brush_fraction = float(np.clip(fraction, 0.005, 0.5))
        self._render(self._canvas.width())
        self.update()
        if self._strokes:
            self.drawing_changed.emit()

    def brush_fraction(self) -> float:
        return self._brush_fraction

    def clear(self) -> None:
        """Remove every stroke and any sample image."""
        had_content = not self.is_empty()
        self._strokes.clear()
        self._current = None
        self._sample = None
        self._render(self._canvas.width())
        self.update()
        if had_content:
            self.drawing_changed.emit()

    def undo(self) -> None:
        """Remove the last stroke (or, when there is none, the sample image)."""
        if self._strokes:
            self._strokes.pop()
        elif self._sample is not None:
            self._sample = None
        else:
            return
        self._render(self._canvas.width())
        self.update()
        self.drawing_changed.emit()

    def set_image(self, gray: np.ndarray) -> None:
        """Show a grayscale uint8 image (e.g. a 28×28 MNIST digit, white on black), smoothly enlarged.

        It replaces the drawing and counts as content until cleared; the user may draw over it.
        """
        gray = np.asarray(gray)
        if gray.ndim != 2 or gray.dtype != np.uint8:
            raise ValueError(f"expected a 2-D uint8 grayscale image, got {gray.dtype} {gray.shape}")
        self._strokes.clear()
        self._current = None
        self._sample = np.ascontiguousarray(gray).copy()
        self._render(self._canvas.width())
        self.update()
        self.drawing_changed.emit()

    def is_empty(self) -> bool:
        return not self._strokes and self._current is None and self._sample is None

    def stroke_count(self) -> int:
        return len(self._strokes) + (self._current is not None)

    def shows_untouched_sample(self) -> bool:
        """True while the pad shows a sample image nobody has drawn on."""
        return self._sample is not None and self.stroke_count() == 0

    def image(self) -> np.ndarray:
        """The canvas as a grayscale uint8 array (side × side, white ink on black).

        Everything on the canvas is gray (red = green = blue), so one channel of the
        32-bit backing store is the image: no conversion, one strided copy.
        """
        side, stride = self._canvas.width(), self._canvas.bytesPerLine()
        pixels = np.frombuffer(self._canvas.constBits(), np.uint8, count=side * stride)
        return pixels.reshape(side, stride // 4, 4)[:side, :side, 0].copy()

    def canvas_rect(self) -> QRect:
        """Where the square canvas lies in the widget."""
        side = max(1, min(self.width(), self.height()))
        return QRect((self.width() - side) // 2, (self.height() - side) // 2, side, side)

    # -- Qt overrides ---------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(360, 360)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def resizeEvent(self, event) -> None:
        side = self.canvas_rect().width()
        if side != self._canvas.width():
            self._render(side)
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        dirty = event.rect()
        rect = self.canvas_rect()
        if not rect.contains(dirty):
            painter.fillRect(dirty, self.palette().window())
        # Only the piece of the canvas that needs it (a stroke repaints a few dozen pixels of it).
        piece = dirty.intersected(rect)
        if not piece.isEmpty():
            painter.drawImage(piece.topLeft(), self._canvas, piece.translated(-rect.topLeft()))
        inner = FRAME_WIDTH + 1  # the frame, antialiased, stays outside this
        if not rect.adjusted(inner, inner, -inner, -inner).contains(dirty):
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            frame = QColor(120, 160, 255) if self.hasFocus() else FRAME
            painter.setPen(QPen(frame, FRAME_WIDTH))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(rect).adjusted(1, 1, -1, -1))
        if self.is_empty():
            painter.setPen(HINT)
            font = painter.font()
            font.setPointSizeF(max(11.0, rect.width() / 22))
            painter.setFont(font)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "draw a digit here")

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        was_empty = self.is_empty()
        self._current = [self._normalised(event.position())]
        self._paint_segment(self._current)
        if was_empty:
            self.update()  # the hint goes: a stroke's own repaint covers only the rectangle it touched
        self.drawing_changed.emit()

    def mouseMoveEvent(self, event) -> None:
        if self._current is None or not event.buttons() & Qt.MouseButton.LeftButton:
            return super().mouseMoveEvent(event)
        point = self._normalised(event.position())
        if point == self._current[-1]:
            return
        self._current.append(point)
        self._paint_segment(self._current)
        self.drawing_changed.emit()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._current is None:
            return super().mouseReleaseEvent(event)
        stroke, self._current = self._current, None
        point = self._normalised(event.position())
        if point != stroke[-1]:
            stroke.append(point)
        self._paint_segment(stroke, final=True)
        self._strokes.append(stroke)
        self.drawing_changed.emit()
        self.stroke_finished.emit()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear()
        elif event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
        else:
            super().keyPressEvent(event)

    def focusInEvent(self, event) -> None:
        self.update()
        super().focusInEvent(event)

    def focusOutEvent(self, event) -> None:
        self.update()
        super().focusOutEvent(event)

    # -- drawing --------------------------------------------------------------------------

    def _normalised(self, position: QPointF) -> QPointF:
        rect = self.canvas_rect()
        side = float(rect.width())
        x = min(max((position.x() - rect.x()) / side, 0.0), 1.0)
        y = min(max((position.y() - rect.y()) / side, 0.0), 1.0)
        return QPointF(x, y)

    def _pen(self, side: int) -> QPen:
        pen = QPen(INK, max(1.0, self._brush_fraction * side))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        return pen

    def _render(self, side: int) -> None:
        """Redraw the whole canvas at ``side`` pixels: sample image, then every stroke."""
        side = max(1, side)
        self._canvas = QImage(side, side, QImage.Format.Format_RGB32)
        self._canvas.fill(SLATE)
        painter = QPainter(self._canvas)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self._sample is not None:
            h, w = self._sample.shape
            sample = QImage(self._sample.data, w, h, w, QImage.Format.Format_Grayscale8)
            painter.drawImage(QRectF(0, 0, side, side), sample)
        painter.setPen(self._pen(side))
        for stroke in self._strokes + ([self._current] if self._current else []):
            points = [QPointF(p.x() * side, p.y() * side) for p in stroke]
            if len(points) == 1:
                painter.drawPoint(points[0])
            else:
                painter.drawPath(smooth_path(points))
        painter.end()

    def _paint_segment(self, stroke: list[QPointF], *, final: bool = False) -> None:
        """Paint the newest piece of ``stroke`` into the canvas and repaint just around it.

        The piece is the quadratic curve from the midpoint of the previous two points to
        the midpoint of the last two, bent towards the previous point; at the stroke's end
        the last half-segment runs straight into the final point.
        """
        side = self._canvas.width()
        points = [QPointF(p.x() * side, p.y() * side) for p in stroke[-3:]]
        path = QPainterPath()
        if len(points) == 1:
            path.moveTo(points[0])
            path.lineTo(points[0])
        elif final:
            path.moveTo(midpoint(points[-2], points[-1]) if len(points) > 2 else points[-2])
            path.lineTo(points[-1])
        elif len(points) == 2:
            path.moveTo(points[0])
            path.lineTo(midpoint(points[0], points[1]))
        else:
            path.moveTo(midpoint(points[0], points[1]))
            path.quadTo(points[1], midpoint(points[1], points[2]))
        pen = self._pen(side)
        painter = QPainter(self._canvas)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(pen)
        if len(points) == 1:
            painter.drawPoint(points[0])
        else:
            painter.drawPath(path)
        painter.end()
        margin = pen.widthF() / 2 + 2
        dirty = path.boundingRect().adjusted(-margin, -margin, margin, margin)
        self.update(dirty.translated(self.canvas_rect().topLeft()).toAlignedRect())


def midpoint(a: QPointF, b: QPointF) -> QPointF:
    return QPointF((a.x() + b.x()) / 2, (a.y() + b.y()) / 2)


def smooth_path(points: list[QPointF]) -> QPainterPath:
    """A path through ``points`` smoothed by quadratic curves between successive midpoints."""
    path = QPainterPath(points[0])
    if len(points) == 2:
        path.lineTo(points[1])
        return path
    path.lineTo(midpoint(points[0], points[1]))
    for previous, point in zip(points[1:-1], points[2:]):
        path.quadTo(previous, midpoint(previous, point))
    path.lineTo(points[-1])
    return path

