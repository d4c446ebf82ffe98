"""The sketch's ten probabilities with a softmax temperature slider and what it does, in one line."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from nnstudio.core.layer_math import forward
from nnstudio.core.softmax import MAX_TEMPERATURE, MIN_TEMPERATURE, explain_temperature, softmax
from nnstudio.gui.panels.inside_style import steady_label, style_axes

TOP_BRUSH = pg.mkBrush(64, 156, 255)
OTHER_BRUSH = pg.mkBrush(110, 116, 128)
STEPS = 100  # slider steps per factor of 10


def temperature_at(position: int) -> float:
    return 10 ** (position / STEPS)


def position_of(temperature: float) -> int:
    return round(math.log10(temperature) * STEPS)


class TemperatureBars(QWidget):
    def __init__(self, workspace=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("probabilityBars")
        self.setAccessibleName("Probabilities with temperature")
        self.plot = pg.PlotWidget(background=None)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        style_axes(self.plot.getPlotItem(), self)
        self.plot.setXRange(-0.6, 9.6, padding=0)
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.getAxis("bottom").setTicks([[(d, str(d)) for d in range(10)], []])
        self.plot.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0, 0.5, 1)], []])
        self.plot.setMinimumHeight(90)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brushes=[OTHER_BRUSH] * 10)
        self.plot.addItem(self.bars)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("temperatureSlider")
        self.slider.setAccessibleName("Softmax temperature")
        self.slider.setRange(position_of(MIN_TEMPERATURE * 2), position_of(MAX_TEMPERATURE / 2))
        self.slider.setValue(0)
        self.slider.setToolTip("Softmax temperature: the scores are divided by it before softmax")
        self.value_label = QLabel()
        self.value_label.setFixedWidth(self.value_label.fontMetrics().horizontalAdvance("0.000") + 6)
        self.explanation = steady_label("temperatureExplanation", 2)
        row = QHBoxLayout()
        row.addWidget(QLabel("temperature"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addLayout(row)
        layout.addWidget(self.explanation)
        self.network = None
        self.input: np.ndarray | None = None
        self._logits: np.ndarray | None = None
        self._probabilities: np.ndarray | None = None
        self._dirty = False
        self.slider.valueChanged.connect(self._show)
        if workspace is not None:
            workspace.model_changed.connect(self.set_network)
            workspace.sketch_changed.connect(self.set_input)
            self.network, self.input = workspace.model, workspace.sketch
        self._update_logits()

    @property
    def temperature(self) -> float:
        return temperature_at(self.slider.value())

    def set_temperature(self, temperature: float) -> None:
        self.slider.setValue(position_of(temperature))

    def probabilities(self) -> np.ndarray | None:
        return None if self._probabilities is None else self._probabilities.copy()

    @Slot(object)
    def set_network(self, network, *_: object) -> None:
        self.network = network
        self._update_logits()

    @Slot(object)
    def set_input(self, network_input) -> None:
        self.input = network_input
        self._update_logits()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._dirty:
            self._update_logits()

    def _update_logits(self) -> None:
        if not self.isVisible():
            self._dirty = True  # computed when shown: a hidden tab costs training and drawing nothing
            return
        self._dirty = False
        x = self.input
        if self.network is None or x is None or np.size(x) != self.network.sizes[0]:
            self._logits = None
        else:
            self._logits = forward(self.network, np.asarray(x).reshape(1, -1)).logits[0]
        self._show()

    @Slot()
    def _show(self, *_: object) -> None:
        t = self.temperature
        self.value_label.setText(f"{t:.2g}")
        self.explanation.setText(explain_temperature(t))
        if self._logits is None or len(self._logits) != 10:
            self._probabilities = None
            self.bars.setOpts(height=np.zeros(10), brushes=[OTHER_BRUSH] * 10)
            return
        p = self._probabilities = softmax(self._logits, t)
        brushes = [OTHER_BRUSH] * 10
        brushes[int(p.argmax())] = TOP_BRUSH
        self.bars.setOpts(height=p, brushes=brushes)
