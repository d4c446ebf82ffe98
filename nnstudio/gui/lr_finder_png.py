"""``lr_finder.png``: the learning-rate range test's curves on a log axis, with its zones and suggestion.

Painted with QPainter onto a QImage (no widgets), so ``nnstudio-train --find-lr`` can write it
without a display; written through :func:`~nnstudio.core.atomic_file.atomic_write`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen

from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.lr_finder import END_LR, START_LR, LrFinderResult
from nnstudio.gui.history_png import ensure_application

WIDTH, HEIGHT = 1000, 560
ZONE_COLORS = ("#f3f3f3", "#e3f4e3", "#fbe3e3")  # too slow, learns, diverges
ZONE_NAMES = ("too slow", "learns", "diverges")
CURVE_COLORS = ("#1f77b4", "#2a9d8f", "#7b61ff")
SUGGESTION_COLOR = "#d62728"


def draw_lr_finder(result: LrFinderResult, title: str = "") -> QImage:
    """The picture: smoothed loss against learning rate (log axis) for each run, zones shaded,
    the band of the runs' suggestions and the suggestion marked."""
    ensure_application()
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    p = QPainter(image)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont()
        font.setPixelSize(13)
        p.setFont(font)
        plot = QRectF(80, 50, WIDTH - 110, HEIGHT - 110)
        losses = np.concatenate([c.smoothed for c in result.curves if len(c.smoothed)] or [np.array([0.0, 1.0])])
        low, high = float(np.min(losses)), float(np.percentile(losses, 99))
        high = min(high, 4 * low + 1e-9) if low > 0 else high
        pad = (high - low) * 0.08 or 0.1
        y0, y1 = low - pad, high + pad
        x0, x1 = math.log10(START_LR), math.log10(END_LR)

        def x(lr: float) -> float:
            return plot.left() + (math.log10(lr) - x0) / (x1 - x0) * plot.width()

        def y(value: float) -> float:
            return plot.bottom() - (value - y0) / (y1 - y0) * plot.height()

        learns, diverges = result.zones()
        edges = (START_LR, learns, diverges, END_LR)
        for i, color in enumerate(ZONE_COLORS):
            left, right = x(edges[i]), x(edges[i + 1])
            p.fillRect(QRectF(left, plot.top(), right - left, plot.height()), QColor(color))
            p.setPen(QColor("#555555"))
            p.drawText(QRectF(left, plot.top() + 4, right - left, 20), Qt.AlignmentFlag.AlignHCenter, ZONE_NAMES[i])
        band = QColor(SUGGESTION_COLOR)
        band.setAlpha(40)
        p.fillRect(QRectF(x(result.low), plot.top(), max(x(result.high) - x(result.low), 2), plot.height()), band)
        p.setPen(QPen(QColor("#9a9a9a"), 1))
        p.drawRect(plot)
        p.setPen(QColor("#333333"))
        for decade in range(int(x0), int(x1) + 1):
            px = x(10.0 ** decade)
            p.drawLine(QLineF(px, plot.bottom(), px, plot.bottom() + 4))
            p.drawText(QRectF(px - 30, plot.bottom() + 6, 60, 18), Qt.AlignmentFlag.AlignHCenter, f"1e{decade}")
        for k in range(5):
            value = y0 + (y1 - y0) * k / 4
            p.drawText(QRectF(plot.left() - 70, y(value) - 9, 62, 18),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{value:.2f}")
        p.drawText(QRectF(plot.left(), plot.bottom() + 26, plot.width(), 20), Qt.AlignmentFlag.AlignHCenter,
                   "learning rate (log scale)")
        p.drawText(QRectF(10, plot.top() - 24, 200, 20), Qt.AlignmentFlag.AlignLeft, "smoothed loss")
        p.save()
        p.setClipRect(plot)
        for i, curve in enumerate(result.curves):
            points = [QPointF(x(lr), y(v)) for lr, v in zip(curve.learning_rates, curve.smoothed) if math.isfinite(v)]
            if len(points) > 1:
                path = QPainterPath(points[0])
                for point in points[1:]:
                    path.lineTo(point)
                p.setPen(QPen(QColor(CURVE_COLORS[i % len(CURVE_COLORS)]), 2))
                p.drawPath(path)
        p.setPen(QPen(QColor(SUGGESTION_COLOR), 2, Qt.PenStyle.DashLine))
        p.drawLine(QLineF(x(result.suggestion), plot.top(), x(result.suggestion), plot.bottom()))
        p.restore()
        title_font = QFont(font)
        title_font.setPixelSize(15)
        p.setFont(title_font)
        p.setPen(QColor("#222222"))
        text = result.band_text if not title else f"{title} · {result.band_text}"
        p.drawText(QRectF(0, 10, WIDTH, 24), Qt.AlignmentFlag.AlignHCenter, text)
    finally:
        p.end()
    return image


def write_lr_finder_png(path: str | Path, result: LrFinderResult, *, title: str = "") -> Path:
    """Draw ``result`` and write it to ``path`` as PNG, atomically."""
    image = draw_lr_finder(result, title)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"could not draw the learning-rate finder picture for {path}")
    buffer.close()
    path = Path(path)
    with atomic_write(path) as f:
        f.write(bytes(data))
    return path
