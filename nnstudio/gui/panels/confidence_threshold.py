"""The confidence threshold: answer only when sure enough, and see what that buys.

A slider sets the threshold; the curve plots the accuracy of the answered digits against the share
answered, for every threshold, with a marker at the slider's. The chart is painted with QPainter
(:class:`~nnstudio.gui.panels.mini_chart.MiniChart`): refreshed after every epoch of a run, a
pyqtgraph plot re-laid out its axes and repainted several times per new result.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from nnstudio.core.evaluation import Evaluation
from nnstudio.gui.colors import TRAIN_COLOR, VERMILLION
from nnstudio.gui.panels.mini_chart import MiniChart, Series
from nnstudio.gui.steady_label import SteadyLabel

STEPS = 100  # the slider's steps from 0 to 0.99


class CoverageChart(MiniChart):
    """The coverage-accuracy curve, with a large marker at the slider's threshold."""

    def __init__(self) -> None:
        super().__init__("accuracy of those answered (%)", x_label="share of digits answered (%)")
        self.setObjectName("thresholdChart")
        self.marker: tuple[float, float] | None = None

    def set_marker(self, point: tuple[float, float] | None) -> None:
        if point != self.marker:
            self.marker = point
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if self.marker is None:
            return
        (x,), (y,) = self._map(self._plot_rect(), np.array([self.marker[0]]), np.array([self.marker[1]]))
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(VERMILLION))
        painter.drawEllipse(QPointF(float(x), float(y)), 5.5, 5.5)
        painter.end()


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
        self.summary = SteadyLabel("thresholdSummary", 3, "No evaluation yet")  # new text: no relayout
        self.chart = CoverageChart()

        row = QHBoxLayout()
        row.addWidget(QLabel("Threshold"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.chart, 1)
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
            self.chart.set_series([])
        else:
            curve = evaluation.coverage_curve(STEPS + 1)
            keep = curve.coverage > 0
            x, y = curve.coverage[keep] * 100, curve.accuracy[keep] * 100
            # Framed on the curve, as an auto-ranged plot would: its ends are what a student reads. The
            # bottom is a round figure, so the frame (axes, ticks: redrawn when it moves) mostly stays put
            # from one epoch to the next.
            left = float(np.floor(x.min() / 10) * 10) if len(x) else 0.0
            low = float(y.min()) if len(y) else 0.0
            low = min(low - (100.0 - low) * 0.05, 99.0)
            step = 10.0 ** np.floor(np.log10(max(100.0 - low, 1e-3))) / 2
            low = max(float(np.floor(low / step) * step), -5.0)
            self.chart.set_ranges((min(left, 90.0), 100.0), (low, 100.0 + (100.0 - low) * 0.05))
            self.chart.set_series([Series(x, y, QColor(TRAIN_COLOR), markers=False)])
        self._on_slider()

    def _on_slider(self) -> None:
        t = self.threshold
        self.value_label.setText(f"{t:.2f}")
        figures = self.figures()
        if figures is None:
            self.summary.setText("No evaluation yet")
            self.chart.set_marker(None)
        else:
            coverage, accuracy = figures
            if coverage == 0:
                self.summary.setText(f"At confidence ≥ {t:.2f} the network answers no digit at all.")
            else:
                self.summary.setText(f"Answers <b>{coverage:.1%}</b> of digits and gets <b>{accuracy:.1%}</b> "
                                     f"of those right (confidence ≥ {t:.2f}); the rest it leaves to a person.")
            self.chart.set_marker((coverage * 100, accuracy * 100))
        self.threshold_changed.emit(t)
