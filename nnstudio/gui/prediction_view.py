"""What the network makes of a drawing: its answer, its ten probabilities, and its input.

The enlarged 28×28 input ("what the network sees") is the honest part: it shows the
drawing after preprocessing, exactly as the network receives it, so a surprising answer
can usually be explained by looking at it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from nnstudio.gui.naming import named
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

TOP_BRUSH = pg.mkBrush(64, 156, 255)
OTHER_BRUSH = pg.mkBrush(110, 116, 128)
INPUT_SCALE = 4  # each input pixel shown as a 4×4 block
PLACEHOLDER = "Draw a digit"


class PredictionView(QWidget):
    """The top digit with its confidence, ten probability bars, and the network's 28×28 input."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = QLabel(PLACEHOLDER)
        self.headline.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.headline.font())
        font.setPointSizeF(font.pointSizeF() * 2.6)
        font.setBold(True)
        self.headline.setFont(font)
        self.headline.setMinimumWidth(220)

        self.detail = QLabel("")  # "true label: 3", or why there is no prediction
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)

        self.plot = pg.PlotWidget(background=None)  # transparent: sits on the window's colour
        text = self.palette().windowText().color()
        for side in ("left", "bottom"):
            self.plot.getAxis(side).setPen(text)
            self.plot.getAxis(side).setTextPen(text)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setXRange(-0.6, 9.6, padding=0)
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.getAxis("bottom").setTicks([[(d, str(d)) for d in range(10)], []])
        self.plot.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0, 0.5, 1)], []])
        self.plot.setLabel("bottom", "digit")
        self.plot.setMinimumHeight(110)
        self.plot.setToolTip("The network's probability for each digit")
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brushes=[OTHER_BRUSH] * 10)
        self.plot.addItem(self.bars)

        self.input_caption = QLabel("what the network\nsees (28×28)")
        self.input_caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.input_image = QLabel()
        self.input_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input_image.setFixedSize(28 * INPUT_SCALE + 4, 28 * INPUT_SCALE + 4)
        self.input_image.setStyleSheet("background: black; border: 2px solid #464c56;")
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
        layout.addWidget(self.plot, 1)
        layout.addLayout(seen)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

        named(self, "predictionView", "Prediction")
        named(self.headline, "predictionLabel", "Predicted digit")
        named(self.detail, "predictionDetail", "Prediction detail")
        named(self.plot, "probabilityBars", "Probability of each digit")
        named(self.input_image, "networkInput", "What the network sees")
        self._probabilities: np.ndarray | None = None
        self.show_placeholder()

    # -- public API -----------------------------------------------------------------------

    def show_prediction(self, probabilities: np.ndarray, network_input: np.ndarray,
                        true_label: int | None = None) -> None:
        """Show ten class ``probabilities`` for the ``(28, 28)`` ``network_input`` (floats in [0, 1])."""
        p = np.asarray(probabilities, dtype=float).reshape(-1)
        top = int(p.argmax())
        self._probabilities = p
        self.headline.setText(f"{top} · {p[top]:.1%}")
        self.headline.setEnabled(True)
        if true_label is None:
            self.detail.setText("")
        else:
            verdict = "✓" if int(true_label) == top else "✗"
            self.detail.setText(f"true label: {int(true_label)} {verdict}")
        brushes = [OTHER_BRUSH] * 10
        brushes[top] = TOP_BRUSH
        self.bars.setOpts(height=p, brushes=brushes)
        self._show_input(network_input)

    def show_placeholder(self, message: str = PLACEHOLDER, detail: str = "") -> None:
        """No prediction: a friendly ``message`` (and optionally why) instead of bars."""
        self._probabilities = None
        self.headline.setText(message)
        self.headline.setEnabled(False)
        self.detail.setText(detail)
        self.bars.setOpts(height=np.zeros(10), brushes=[OTHER_BRUSH] * 10)
        self.input_image.setPixmap(QPixmap())

    def probabilities(self) -> np.ndarray | None:
        """The probabilities shown, or ``None`` when showing the placeholder."""
        return None if self._probabilities is None else self._probabilities.copy()

    def headline_text(self) -> str:
        return self.headline.text()

    def detail_text(self) -> str:
        return self.detail.text()

    # -- helpers ----------------------------------------------------------------------------

    def _show_input(self, network_input: np.ndarray) -> None:
        pixels = np.ascontiguousarray(np.clip(np.asarray(network_input) * 255, 0, 255).astype(np.uint8))
        h, w = pixels.shape
        image = QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        enlarged = image.scaled(w * INPUT_SCALE, h * INPUT_SCALE, Qt.AspectRatioMode.IgnoreAspectRatio,
                                Qt.TransformationMode.FastTransformation)  # nearest: keep the pixels visible
        self.input_image.setPixmap(QPixmap.fromImage(enlarged))

