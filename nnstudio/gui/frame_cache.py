"""What a painted chart's frame does not change with its figures (background, axes, labels, grid),
drawn once into a pixmap per size, font and whatever else the chart says it depends on."""

from __future__ import annotations

from collections.abc import Callable, Hashable

from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

from nnstudio.gui.colors import BACKGROUND


class FrameCache:
    """``cache.pixmap(widget, key, draw)``: the frame ``draw(painter)`` paints on the background,
    drawn again only when the widget's size, pixel ratio or font, or ``key``, changed."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._pixmap: QPixmap | None = None

    def pixmap(self, widget: QWidget, key: Hashable, draw: Callable[[QPainter], None]) -> QPixmap:
        ratio = widget.devicePixelRatioF()
        full_key = (widget.width(), widget.height(), ratio, widget.font().key(), key)
        if self._pixmap is None or self._key != full_key:
            pixmap = QPixmap(max(1, round(widget.width() * ratio)), max(1, round(widget.height() * ratio)))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(QColor(BACKGROUND))
            painter = QPainter(pixmap)
            painter.setFont(widget.font())
            try:
                draw(painter)
            finally:
                painter.end()
            self._key, self._pixmap = full_key, pixmap
        return self._pixmap
