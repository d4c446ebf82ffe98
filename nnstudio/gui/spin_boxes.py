"""The form's own spin boxes: epochs in words, and a learning rate on a log scale in exponent notation."""

from __future__ import annotations

import math
import re

from PySide6.QtCore import QSize
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox, QStyle, QStyleOptionSpinBox, QWidget

from nnstudio.core.limits import LIMITS

LR_MIN, LR_MAX = LIMITS["learning_rate"]
_NUMBER = re.compile(r"^\s*[0-9]*\.?[0-9]*(e[-+]?[0-9]*)?\s*$", re.IGNORECASE)
WIDEST_RATE = "8.88e-5"  # the longest text format_rate gives in range


def format_rate(value: float) -> str:
    """A learning rate as a person writes it: 0.1 -> "1e-1", 0.03 -> "3e-2", 2.5e-4 -> "2.5e-4"."""
    if value <= 0:
        return "0"
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = round(value / 10**exponent, 2)
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:g}e{exponent}"


class EpochsBox(QSpinBox):
    """A count of epochs that reads "1 epoch", "5 epochs" (and typing "5" or "5 epochs" both work)."""

    def textFromValue(self, value: int) -> str:  # noqa: N802 (Qt's name)
        return f"{value} epoch" if value == 1 else f"{value} epochs"

    def valueFromText(self, text: str) -> int:  # noqa: N802
        digits = "".join(ch for ch in text if ch.isdigit())
        return int(digits) if digits else 0

    def validate(self, text: str, position: int):
        digits = "".join(ch for ch in text if ch.isdigit())
        stripped = text.replace("epochs", "").replace("epoch", "").strip()
        if text == self.specialValueText() or (stripped.isdigit() and self.minimum() <= int(digits) <= self.maximum()):
            return QValidator.State.Acceptable, text, position
        if not stripped or stripped.isdigit() or self.specialValueText().startswith(text):
            return QValidator.State.Intermediate, text, position
        return QValidator.State.Invalid, text, position


class LearningRateBox(QDoubleSpinBox):
    """A spin box for a value on a log scale, shown in exponent notation ("1e-1").

    The arrows step through 1, 2, 5 of each decade; any value in range may be typed.
    """

    LADDER = (1.0, 2.0, 5.0)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(8)
        self.setRange(LR_MIN, LR_MAX)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return format_rate(value)

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        if not _NUMBER.match(text):
            return QValidator.State.Invalid, text, pos
        try:
            value = float(text)
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        state = QValidator.State.Acceptable if self.minimum() <= value <= self.maximum() else QValidator.State.Intermediate
        return state, text, pos

    def fixup(self, text: str) -> str:
        return format_rate(self.value())

    def sizeHint(self) -> QSize:  # noqa: N802
        """Wide enough for any rate: Qt sizes a spin box for the texts of its minimum and maximum
        only, and "1e-5" and "1e1" are shorter than "3.2e-1". The sum is Qt's own."""
        hint = super().sizeHint()
        option = QStyleOptionSpinBox()
        self.initStyleOption(option)
        text = QSize(self.fontMetrics().horizontalAdvance(WIDEST_RATE) + 2, hint.height())  # +2: the cursor
        needed = self.style().sizeFromContents(QStyle.ContentsType.CT_SpinBox, option, text, self)
        return QSize(max(hint.width(), needed.width()), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.sizeHint().width(), super().minimumSizeHint().height())

    def stepBy(self, steps: int) -> None:  # noqa: N802
        ladder = [m * 10**e for e in range(-5, 2) for m in self.LADDER if LR_MIN <= m * 10**e <= LR_MAX]
        value = self.value()
        if steps > 0:
            above = [v for v in ladder if v > value * (1 + 1e-9)]
            target = above[min(steps, len(above)) - 1] if above else LR_MAX
        else:
            below = [v for v in ladder if v < value * (1 - 1e-9)]
            target = below[-min(-steps, len(below))] if below else LR_MIN
        self.setValue(target)
