"""What the network makes of a drawing: its answer, its ten probabilities, and its input.

The enlarged 28×28 input ("what the network sees") is the honest part: it shows the
drawing after preprocessing, exactly as the network receives it, so a surprising answer
can usually be explained by looking at it. The bars carry a softmax temperature slider.

Everything here changes on every stroke, so nothing here asks the window to lay itself out
again: the headline has a fixed height and paints its own text, and the bars are painted
with QPainter (see :mod:`nnstudio.gui.probability_bars`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from nnstudio.gui.naming import named
from nnstudio.gui.probability_bars import ProbabilityBars

INPUT_SCALE = 3  # each input pixel shown as a 3×3 block
INPUT_BORDER = 2
BORDER = QColor(0x46, 0x4C, 0x56)
PLACEHOLDER = "Draw a digit"


class Headline(QWidget):
    """One line of large text, centred; setting it repaints the line and moves nothing (a QLabel
    would ask the whole dock to lay itself out again on every stroke). Opaque: Qt paints nothing
    behind it (repainting the dock behind a see-through line cost ten times the line itself)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paints its own background: nothing behind

    def setFont(self, font: QFont) -> None:  # noqa: N802 (Qt's name)
        super().setFont(font)
        self.setFixedHeight(self.fontMetrics().height() + 4)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel's name)
        if text != self._text:
            self._text = text
            self.setAccessibleDescription(text)
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(event.rect(), self.palette().brush(self.backgroundRole()))
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._text)


class InputImage(QWidget):
    """The network's 28×28 input, every pixel a visible block, in a dark frame. Painted directly
    (a QLabel with a style sheet and a pixmap cost several times more on every stroke)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        side = 28 * INPUT_SCALE + 2 * INPUT_BORDER
        self.setFixedSize(side, side)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._image: QImage | None = None

    def set_input(self, network_input: np.ndarray | None) -> None:
        """Show ``(28, 28)`` floats in [0, 1]; None: nothing."""
        if network_input is None:
            self._image = None
        else:
            gray = np.clip(np.asarray(network_input, dtype=np.float32) * 255, 0, 255).astype(np.uint8)
            pixels = np.ascontiguousarray(0xFF000000 | gray.astype(np.uint32) * 0x010101)
            h, w = pixels.shape
            self._image = QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()
        self.update()

    def pixmap(self) -> QPixmap:
        """What is shown, enlarged (a null pixmap when nothing is)."""
        if self._image is None:
            return QPixmap()
        side = 28 * INPUT_SCALE
        return QPixmap.fromImage(self._image.scaled(side, side))

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._image is not None:
            painter.drawImage(QRect(INPUT_BORDER, INPUT_BORDER, 28 * INPUT_SCALE, 28 * INPUT_SCALE), self._image)
        painter.setPen(QPen(BORDER, INPUT_BORDER))
        half = INPUT_BORDER / 2
        painter.drawRect(self.rect().toRectF().adjusted(half, half, -half, -half))


class PredictionView(QWidget):
    """The top digit with its confidence, ten probability bars, and the network's 28×28 input."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = Headline(PLACEHOLDER)
        font = QFont(self.headline.font())
        font.setPointSizeF(font.pointSizeF() * 2.6)
        font.setBold(True)
        self.headline.setFont(font)
        self.headline.setMinimumWidth(220)

        self.detail = QLabel("")  # "true label: 3", or why there is no prediction
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)

        self.bars = ProbabilityBars()
        self.plot = self.bars.chart  # the bars themselves (the slider and its line sit under them)

        self.input_caption = QLabel("what the network\nsees (28×28)")
        self.input_caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.input_image = InputImage()
        self.input_image.setToolTip("Your drawing after preprocessing: cropped, scaled to 20×20 and centred "
                                    "by its centre of mass in 28×28, as MNIST's digits were")

        seen = QHBoxLayout()
        seen.setSpacing(10)
        seen.addWidget(self.input_image)
        seen.addWidget(self.input_caption, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.headline)
        layout.addWidget(self.detail)
        layout.addWidget(self.bars, 1)
        layout.addLayout(seen)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

        named(self, "predictionView", "Prediction")
        named(self.headline, "predictionLabel", "Predicted digit")
        named(self.detail, "predictionDetail", "Prediction detail")
        named(self.input_image, "networkInput", "What the network sees")
        self._probabilities: np.ndarray | None = None
        self._logits: np.ndarray | None = None
        self._true_label: int | None = None
        self.bars.temperature_changed.connect(self._on_temperature)
        self.show_placeholder()

    # -- public API -----------------------------------------------------------------------

    def show_prediction(self, probabilities: np.ndarray | None, network_input: np.ndarray,
                        true_label: int | None = None, *, logits: np.ndarray | None = None) -> None:
        """Show ten class ``probabilities`` for the ``(28, 28)`` ``network_input`` (floats in [0, 1]).

        With ``logits`` the bars follow the temperature slider: ``softmax(logits / T)``;
        without, the probabilities' logarithms stand in for them (the same bars).
        """
        if logits is None:
            with np.errstate(divide="ignore"):
                logits = np.log(np.asarray(probabilities, dtype=np.float64).reshape(-1))
        self._logits = np.asarray(logits, dtype=np.float64).reshape(-1)
        self._true_label = true_label
        self.bars.show_logits(self._logits)
        self._show_answer()
        self._show_input(network_input)

    def _show_answer(self) -> None:
        p = self._probabilities = self.bars.probabilities()
        if p is None:
            return
        top = int(p.argmax())
        true_label = self._true_label
        self.headline.setText(f"{top} · {p[top]:.1%}")
        self.headline.setEnabled(True)
        if true_label is None:
            self.detail.setText("")
        else:
            verdict = "✓" if int(true_label) == top else "✗"
            self.detail.setText(f"true label: {int(true_label)} {verdict}")

    def show_placeholder(self, message: str = PLACEHOLDER, detail: str = "") -> None:
        """No prediction: a friendly ``message`` (and optionally why) instead of bars."""
        self._probabilities = self._logits = None
        self.headline.setText(message)
        self.headline.setEnabled(False)
        self.detail.setText(detail)
        self.bars.show_logits(None)
        self.input_image.set_input(None)

    def _on_temperature(self, _temperature: float) -> None:
        if self._logits is not None:
            self._show_answer()

    @property
    def temperature(self) -> float:
        return self.bars.temperature

    def probabilities(self) -> np.ndarray | None:
        """The probabilities shown (at the slider's temperature), or ``None`` when showing the placeholder."""
        return None if self._probabilities is None else self._probabilities.copy()

    def headline_text(self) -> str:
        return self.headline.text()

    def detail_text(self) -> str:
        return self.detail.text()

    # -- helpers ----------------------------------------------------------------------------

    def _show_input(self, network_input: np.ndarray) -> None:
        self.input_image.set_input(network_input)
