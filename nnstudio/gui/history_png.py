"""``training_history.png``: a run's accuracy and loss per epoch, side by side, drawn with QPainter.

Works from the headless command line as well as inside the app: without a running
QApplication it creates one, on the "offscreen" platform when there is no display.

The picture is painted straight onto a :class:`QImage` (no widgets, no scene), which takes a
few milliseconds, so the dashboard can draw it on the GUI thread at the end of a run:
:func:`draw_history` and :func:`save_png` are the two steps :func:`write_history_png` takes,
and the dashboard runs them in separate turns of its event loop.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QApplication

from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.reports import EpochReport
from nnstudio.gui.colors import BEST_COLOR, FOREGROUND, TRAIN_COLOR, VALIDATION_COLOR

WIDTH, HEIGHT = 1200, 500
PNG_QUALITY = 70  # Qt's PNG "quality" sets zlib's effort: 70 writes in ~2/3 of the default time, ~15% larger
GRID_COLOR = "#EAEAEA"
FRAME_COLOR = "#9A9A9A"
_app: QApplication | None = None  # the application this module had to create, kept alive


def ensure_application() -> QApplication:
    """The running QApplication, or a new one: offscreen when no display is available."""
    global _app
    app = QApplication.instance()
    if app is None:
        no_display = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if no_display and sys.platform not in ("win32", "darwin"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = _app = QApplication([sys.argv[0] if sys.argv else "nnstudio"])
    return app


def write_history_png(path: str | os.PathLike, history: Sequence[EpochReport], *, title: str = "") -> Path:
    """Draw accuracy and loss (train and validation per epoch) to a 1200×500 PNG, atomically."""
    history = tuple(history)
    if not history:
        raise ValueError("cannot draw a training history without epochs: the run has no completed epoch")
    ensure_application()
    return save_png(draw_history(history, title), path)


def save_png(image: QImage, path: str | os.PathLike, *, what: str = "training history picture",
             quality: int = PNG_QUALITY) -> Path:
    """Write ``image`` to ``path`` as PNG through :func:`~nnstudio.core.atomic_file.atomic_write`, so no
    half-written file is ever seen; an OSError says what could not be written where."""
    path = Path(path)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG", quality):
        raise OSError(f"could not write the {what} to {path}: the image could not be encoded")
    try:
        with atomic_write(path) as f:
            f.write(bytes(buffer.data()))
    except OSError as exc:
        raise OSError(f"could not write the {what} to {path}: {exc.strerror or exc}") from exc
    return path


def image_pixels(image: QImage) -> np.ndarray:
    """``image``'s pixels as a ``(height, width, 3)`` uint8 RGB array (a copy: plain data any thread may
    write with :func:`~nnstudio.core.png_file.write_png`)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w = rgb.height(), rgb.width()
    rows = np.frombuffer(rgb.constBits(), np.uint8, count=h * rgb.bytesPerLine()).reshape(h, rgb.bytesPerLine())
    return rows[:, :w * 3].reshape(h, w, 3).copy()


def draw_history(history: Sequence[EpochReport], title: str = "") -> QImage:
    """The picture: an optional title over two panels, accuracy (%) on the left and loss on the right."""
    history = tuple(history)
    if not history:
        raise ValueError("cannot draw a training history without epochs: the run has no completed epoch")
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        top = 12.0
        if title:
            font = QFont()
            font.setPixelSize(17)
            painter.setFont(font)
            painter.setPen(QColor(FOREGROUND))
            painter.drawText(QRectF(0, 8, WIDTH, 26), Qt.AlignmentFlag.AlignCenter, title)
            top = 40.0
        epochs = [float(r.epoch) for r in history]
        best = history[-1].best_epoch or None
        panels = (
            ("accuracy", "accuracy (%)", [100 * r.train_accuracy for r in history],
             [100 * r.val_accuracy for r in history], "bottom"),
            ("loss", "loss", [r.train_loss for r in history], [r.val_loss for r in history], "top"),
        )
        for i, (name, unit, train, validation, legend_at) in enumerate(panels):
            area = QRectF(i * WIDTH / 2, top, WIDTH / 2, HEIGHT - top)
            _Panel(painter, area, name, unit, epochs, {"train": train, "validation": validation},
                   best, legend_at).draw()
    finally:
        painter.end()
    return image


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """About ``count`` round values (1, 2 or 5 times a power of ten apart) covering ``low``..``high``."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + 1e-9 * step:
        ticks.append(round(value, 12))
        value += step
    return ticks


def tick_text(value: float, step: float) -> str:
    """``value`` with as many decimals as the tick ``step`` (1, 2 or 5 times a power of ten) needs."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f}"


class _Panel:
    """One framed plot: grid, curves with dots, the best epoch dashed, a legend in a free corner."""

    LEFT, RIGHT, TOP, BOTTOM = 70.0, 24.0, 30.0, 52.0

    def __init__(self, painter: QPainter, area: QRectF, name: str, unit: str, epochs: list[float],
                 curves: dict[str, list[float]], best: int | None, legend_at: str) -> None:
        self.p, self.area, self.name, self.unit = painter, area, name, unit
        self.epochs, self.curves, self.best, self.legend_at = epochs, curves, best, legend_at
        self.plot = QRectF(area.left() + self.LEFT, area.top() + self.TOP,
                           area.width() - self.LEFT - self.RIGHT, area.height() - self.TOP - self.BOTTOM)
        values = [v for column in curves.values() for v in column if math.isfinite(v)] or [0.0, 1.0]
        low, high = min(values), max(values)
        pad = (high - low) * 0.06 or max(abs(high) * 0.05, 0.01)
        self.y0, self.y1 = low - pad, high + pad
        self.x0, self.x1 = min(0.0, epochs[0] - 1), max(epochs[-1], 1.0) + 0.5
        self.font = QFont()
        self.font.setPixelSize(12)

    def x(self, epoch: float) -> float:
        return self.plot.left() + (epoch - self.x0) / (self.x1 - self.x0) * self.plot.width()

    def y(self, value: float) -> float:
        return self.plot.bottom() - (value - self.y0) / (self.y1 - self.y0) * self.plot.height()

    def draw(self) -> None:
        p = self.p
        p.setFont(self.font)
        title = QFont(self.font)
        title.setPixelSize(15)
        p.setFont(title)
        p.setPen(QColor(FOREGROUND))
        p.drawText(QRectF(self.plot.left(), self.area.top(), self.plot.width(), self.TOP - 6),
                   Qt.AlignmentFlag.AlignCenter, self.name)
        p.setFont(self.font)
        self._draw_axes()
        if self.best:
            p.setPen(QPen(QColor(BEST_COLOR), 1.5, Qt.PenStyle.DashLine))
            p.drawLine(QLineF(self.x(self.best), self.plot.top(), self.x(self.best), self.plot.bottom()))
        p.save()
        p.setClipRect(self.plot)
        for label, values in self.curves.items():
            self._draw_curve(values, QColor(TRAIN_COLOR if label == "train" else VALIDATION_COLOR))
        p.restore()
        self._draw_legend()

    def _draw_axes(self) -> None:
        p, plot = self.p, self.plot
        metrics = QFontMetricsF(self.font)
        x_ticks = [t for t in nice_ticks(self.x0, self.x1, 8) if t == int(t)]
        y_ticks = nice_ticks(self.y0, self.y1, 6)
        y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
        p.setPen(QPen(QColor(GRID_COLOR), 1))
        for t in x_ticks:
            p.drawLine(QLineF(self.x(t), plot.top(), self.x(t), plot.bottom()))
        for t in y_ticks:
            p.drawLine(QLineF(plot.left(), self.y(t), plot.right(), self.y(t)))
        p.setPen(QPen(QColor(FRAME_COLOR), 1))
        p.drawRect(plot)
        p.setPen(QColor(FOREGROUND))
        for t in x_ticks:
            p.drawLine(QLineF(self.x(t), plot.bottom(), self.x(t), plot.bottom() + 4))
            p.drawText(QRectF(self.x(t) - 30, plot.bottom() + 6, 60, metrics.height()),
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, f"{t:g}")
        for t in y_ticks:
            p.drawLine(QLineF(plot.left() - 4, self.y(t), plot.left(), self.y(t)))
            p.drawText(QRectF(plot.left() - 64, self.y(t) - metrics.height() / 2, 58, metrics.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, tick_text(t, y_step))
        p.drawText(QRectF(plot.left(), plot.bottom() + 24, plot.width(), metrics.height() + 4),
                   Qt.AlignmentFlag.AlignHCenter, "epoch")
        p.save()
        p.translate(self.area.left() + 14, plot.center().y())
        p.rotate(-90)
        p.drawText(QRectF(-plot.height() / 2, -metrics.height() / 2, plot.height(), metrics.height() + 2),
                   Qt.AlignmentFlag.AlignCenter, self.unit)
        p.restore()

    def _draw_curve(self, values: list[float], color: QColor) -> None:
        p = self.p
        points = [QPointF(self.x(e), self.y(v)) for e, v in zip(self.epochs, values) if math.isfinite(v)]
        if len(points) > 1:
            path = QPainterPath(points[0])
            for point in points[1:]:
                path.lineTo(point)
            p.setPen(QPen(color, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        for point in points:
            p.drawEllipse(point, 3.0, 3.0)
        p.setBrush(Qt.BrushStyle.NoBrush)

    def _draw_legend(self) -> None:
        """Bottom-right for accuracy (its curves rise to the top), top-right for loss (they fall)."""
        p = self.p
        metrics = QFontMetricsF(self.font)
        entries = [("train", QPen(QColor(TRAIN_COLOR), 2)), ("validation", QPen(QColor(VALIDATION_COLOR), 2))]
        if self.best:
            entries.append((f"best epoch {self.best}", QPen(QColor(BEST_COLOR), 1.5, Qt.PenStyle.DashLine)))
        line = metrics.height() + 4
        width = 40 + max(metrics.horizontalAdvance(text) for text, _ in entries)
        height = line * len(entries) + 8
        left = self.plot.right() - width - 10
        top = self.plot.bottom() - height - 10 if self.legend_at == "bottom" else self.plot.top() + 10
        box = QRectF(left, top, width, height)
        p.setPen(QPen(QColor(FRAME_COLOR), 1))
        p.setBrush(QColor(255, 255, 255, 225))
        p.drawRoundedRect(box, 3, 3)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for i, (text, pen) in enumerate(entries):
            y = top + 4 + line * i + line / 2
            p.setPen(pen)
            p.drawLine(QLineF(left + 8, y, left + 30, y))
            p.setPen(QColor(FOREGROUND))
            p.drawText(QRectF(left + 36, y - line / 2, width - 38, line),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
