"""Labels whose text changes after every epoch (or stroke) without moving anything around them.

:class:`SteadyLabel` is a widget that never asks the window to lay itself out again; :func:`steady`
fixes a QLabel's height instead.

A word-wrapped QLabel grows or shrinks by a line when its new text wraps differently; the layout then
resizes the plots beside it, and every resized plot repaints in full (a scatter of 2,000 points, say),
once per epoch and per label. A steady label keeps a fixed height of ``lines`` lines (longer text is
cut, and its tooltip holds all of it).
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QFont, QPainter, QTextCharFormat, QTextLayout, QTextOption
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

MARKUP = re.compile(r"<[^>]*>")
KEPT_LAYOUTS = 24  # laid-out texts a steady label keeps


def steady(label: QLabel, lines: int = 2, width: str | None = None) -> QLabel:
    """Fix ``label``'s height to ``lines`` lines of its font (and its width to that of ``width``'s text,
    if given); returns it."""
    metrics = label.fontMetrics()
    margins = label.contentsMargins()
    label.setFixedHeight(lines * metrics.lineSpacing() + margins.top() + margins.bottom() + 2)
    if width is not None:
        label.setFixedWidth(metrics.horizontalAdvance(width) + margins.left() + margins.right() + 8)
    else:
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # its text never widens it
    return label


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
        self._alignment = Qt.AlignmentFlag.AlignLeft
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

    def setAlignment(self, alignment: Qt.AlignmentFlag) -> None:  # noqa: N802 (QLabel's name)
        """Where the lines sit across the label: left (the default), right or centred."""
        self._alignment = alignment
        self._layouts.clear()
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
            option = QTextOption(self._alignment)
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
