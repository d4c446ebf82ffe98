"""What the "Inside the network" panels share: the diverging colours and a bare plot."""

from __future__ import annotations

import html
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QFont, QPainter, QTextCharFormat, QTextLayout, QTextOption
from PySide6.QtWidgets import QSizePolicy, QWidget

POSITIVE = (214, 96, 77)  # red: excites, raises a score
NEGATIVE = (67, 147, 195)  # blue: inhibits, lowers a score
MARKUP = re.compile(r"<[^>]*>")
KEPT_LAYOUTS = 24  # laid-out texts a steady label keeps
LAYER_COLOURS = ((64, 156, 255), (255, 159, 64), (92, 184, 92), (200, 90, 200), (230, 200, 60), (120, 200, 200))


def diverging_lut(points: int = 256) -> np.ndarray:
    """A blue-white-red lookup table, ``(points, 3)`` uint8: -1 blue, 0 white, +1 red."""
    return pg.colormap.get("CET-D1").getLookupTable(0.0, 1.0, points, alpha=False)


def diverging_rgb(values: np.ndarray, lut: np.ndarray | None = None) -> np.ndarray:
    """Values in [-1, 1] as RGB floats in [0, 1] through :func:`diverging_lut`."""
    lut = diverging_lut() if lut is None else lut
    index = np.clip(((np.nan_to_num(values) + 1) / 2 * (len(lut) - 1)).round().astype(int), 0, len(lut) - 1)
    return lut[index].astype(np.float32) / 255


def layer_colour(i: int) -> tuple[int, int, int]:
    return LAYER_COLOURS[i % len(LAYER_COLOURS)]


def bare_plot(widget_parent=None, *, invert_y: bool = True) -> pg.PlotWidget:
    """A plot without axes, menu or mouse panning, its aspect locked: for images and diagrams."""
    plot = pg.PlotWidget(widget_parent, background=None)
    plot.hideAxis("left")
    plot.hideAxis("bottom")
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.getViewBox().setAspectLocked(True)
    plot.getViewBox().invertY(invert_y)
    return plot


class SteadyLabel(QWidget):
    """Text that changes on every stroke without moving anything: unlike a QLabel, setting its
    text never asks the window to lay itself out again (that relayout cost more than the views).

    The text is plain, or marked up with ``<b>`` and ``<br>`` only (entities unescaped); it is laid
    out once per text and width with a QTextLayout (bold runs as formats), several times cheaper
    than rich text's QTextDocument. The label paints its own background, so Qt paints nothing
    behind it (the dock and window behind a see-through widget cost several times the text itself)."""

    def __init__(self, name: str, lines: int = 1, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * lines + 4)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._text = ""
        self._plain = ""
        self._bold: list[tuple[int, int]] = []  # (start, length) of the bold runs in the plain text
        self._layouts: dict[tuple, QTextLayout] = {}  # (text, width, font): a few recent ones, laid out
        self.setText(text)

    def text(self) -> str:
        return self._text

    def plain_text(self) -> str:
        """The text without its markup."""
        return self._plain

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel's name)
        if text == self._text:
            return
        self._text = text
        self._plain, self._bold = parse_markup(text)
        self.setAccessibleDescription(self._plain)
        self.update()

    def _laid_out(self) -> QTextLayout:
        """The text laid out at the label's width; the last few texts are kept (a caption that names
        the answer comes back to the same few texts again and again while the pen moves)."""
        key = (self._text, self.width(), self.font().key())
        layout = self._layouts.get(key)
        if layout is None:
            layout = QTextLayout(self._plain.replace("\n", "\u2028"), self.font())
            if self._bold:
                bold = QTextCharFormat()
                bold.setFontWeight(QFont.Weight.Bold)
                ranges = []
                for start, length in self._bold:
                    r = QTextLayout.FormatRange()
                    r.start, r.length, r.format = start, length, bold
                    ranges.append(r)
                layout.setFormats(ranges)
            option = QTextOption()
            option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
            layout.setTextOption(option)
            width, y = max(1, self.width() - 2), 0.0
            layout.beginLayout()
            while True:
                line = layout.createLine()
                if not line.isValid():
                    break
                line.setLineWidth(width)
                line.setPosition(QPointF(0, y))
                y += line.height()
            layout.endLayout()
            if len(self._layouts) >= KEPT_LAYOUTS:
                del self._layouts[next(iter(self._layouts))]  # the oldest
            self._layouts[key] = layout
        return layout

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(event.rect(), self.palette().brush(self.backgroundRole()))
        if not self._plain:
            return
        painter.setClipRect(self.rect())
        painter.setPen(self.palette().windowText().color())
        self._laid_out().draw(painter, QPointF(1, 1))


def parse_markup(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` without its tags (``<br>`` a line break, entities unescaped) and its bold runs."""
    if MARKUP.search(text) is None:
        return text, []
    plain, bold, start = [], [], None
    length = 0
    for piece in re.split(r"(<[^>]*>)", text):
        tag = piece.lower().replace(" ", "")
        if tag in ("<b>", "<strong>"):
            start = length
        elif tag in ("</b>", "</strong>"):
            if start is not None and length > start:
                bold.append((start, length - start))
            start = None
        elif tag in ("<br>", "<br/>"):
            plain.append("\n")
            length += 1
        elif not piece.startswith("<"):
            piece = html.unescape(piece)
            plain.append(piece)
            length += len(piece)
    return "".join(plain), bold


def steady_label(name: str, lines: int = 1, text: str = "") -> SteadyLabel:
    return SteadyLabel(name, lines, text)
