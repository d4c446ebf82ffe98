"""The confidence threshold: answer only when sure enough, and see what that buys.

A slider sets the threshold; the curve plots the accuracy of the answered digits against the share
answered, for every threshold, with a marker at the slider's.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from nnstudio.core.evaluation import Evaluation
from nnstudio.gui.colors import BACKGROUND, FOREGROUND, TRAIN_COLOR, VERMILLION
from nnstudio.gui.steady_label import steady

STEPS = 100  # the slider's steps from 0 to 0.99


class ConfidenceThresholdView(QWidget):
    threshold_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confidenceThreshold")
        self.setAccessibleName("Confidence threshold")
        self._evaluation: Evaluation | None = None
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("thresholdSlider")
        self.slider.setAccessibleName("Confidence threshold")
        self.slider.setRange(0, STEPS - 1)
        self.slider.setValue(90)
        self.slider.setToolTip("Answer only digits the network gives at least this probability")
        self.value_label = QLabel()
        self.summary = QLabel("No evaluation yet")
        self.summary.setObjectName("thresholdSummary")
        self.summary.setWordWrap(True)
        steady(self.summary)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.plot = self.graphics.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "share of digits answered", units="%", color=FOREGROUND)
        self.plot.setLabel("left", "accuracy of those", units="%", color=FOREGROUND)
        for side in ("bottom", "left"):
            self.plot.getAxis(side).setPen(FOREGROUND)
            self.plot.getAxis(side).setTextPen(FOREGROUND)
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.curve = self.plot.plot([], [], pen=pg.mkPen(TRAIN_COLOR, width=2))
        self.marker = pg.ScatterPlotItem([], [], size=11, brush=VERMILLION, pen=None)
        self.plot.addItem(self.marker)

        row = QHBoxLayout()
        row.addWidget(QLabel("Threshold"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.graphics, 1)
        self.slider.valueChanged.connect(self._on_slider)
        self._on_slider()

    @property
    def threshold(self) -> float:
        return self.slider.value() / STEPS

    def figures(self) -> tuple[float, float] | None:
        """``(coverage, accuracy)`` at the slider's threshold, or None without an evaluation."""
        return None if self._evaluation is None else self._evaluation.at_threshold(self.threshold)

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        self._evaluation = evaluation
        if evaluation is None:
            self.curve.setData([], [])
        else:
            curve = evaluation.coverage_curve(STEPS + 1)
            keep = curve.coverage > 0
            self.curve.setData(curve.coverage[keep] * 100, curve.accuracy[keep] * 100)
        self._on_slider()
        # Settle the auto-range now: changed while painting, it would ask every item for a second paint.
        self.plot.vb.prepareForPaint()

    def _on_slider(self) -> None:
        t = self.threshold
        self.value_label.setText(f"{t:.2f}")
        figures = self.figures()
        if figures is None:
            self.summary.setText("No evaluation yet")
            self.marker.setData([], [])
        else:
            coverage, accuracy = figures
            if coverage == 0:
                self.summary.setText(f"At confidence ≥ {t:.2f} the network answers no digit at all.")
            else:
                self.summary.setText(f"Answers <b>{coverage:.1%}</b> of digits and gets <b>{accuracy:.1%}</b> "
                                     f"of those right (confidence ≥ {t:.2f}); the rest it leaves to a person.")
            self.marker.setData([coverage * 100], [accuracy * 100])
        self.threshold_changed.emit(t)
