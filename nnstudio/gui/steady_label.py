"""Labels whose text changes after every epoch without moving anything around them.

A word-wrapped QLabel grows or shrinks by a line when its new text wraps differently; the layout then
resizes the plots beside it, and every resized plot repaints in full (a scatter of 2,000 points, say),
once per epoch and per label. A steady label keeps a fixed height of ``lines`` lines (longer text is
cut, and its tooltip holds all of it).
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QSizePolicy


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
