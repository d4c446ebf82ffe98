"""Precision, recall and F1 of each digit, as grouped bars with the figures."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from nnstudio.core.evaluation import PerDigit
from nnstudio.gui.colors import BACKGROUND, BEST_COLOR, FOREGROUND, TRAIN_COLOR, VALIDATION_COLOR
from nnstudio.gui.steady_label import steady

SERIES = (("precision", TRAIN_COLOR), ("recall", VALIDATION_COLOR), ("F1", BEST_COLOR))
WIDTH = 0.26


class PerDigitView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("perDigitAccuracy")
        self.setAccessibleName("Precision, recall and F1 per digit")
        self._figures: PerDigit | None = None
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.plot = self.graphics.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.getAxis("bottom").setTicks([[(d, str(d)) for d in range(10)]])
        for side in ("bottom", "left"):
            self.plot.getAxis(side).setPen(FOREGROUND)
            self.plot.getAxis(side).setTextPen(FOREGROUND)
        self.plot.setLabel("bottom", "digit", color=FOREGROUND)
        self.bars = []
        for k, (name, color) in enumerate(SERIES):
            bars = pg.BarGraphItem(x=np.arange(10) + (k - 1) * WIDTH, height=np.zeros(10), width=WIDTH,
                                   brush=color, pen=None, name=name)
            self.plot.addItem(bars)
            self.bars.append(bars)
        self.labels = []
        for d in range(10):
            text = pg.TextItem("", anchor=(0.5, 1.0), color=FOREGROUND)
            self.plot.addItem(text)
            self.labels.append(text)
        self.table = QLabel()
        self.table.setObjectName("perDigitFigures")
        self.table.setTextFormat(self.table.textFormat().RichText)
        self.table.setWordWrap(True)
        steady(self.table, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.table)

    def figures(self) -> PerDigit | None:
        return self._figures

    def show_figures(self, figures: PerDigit | None) -> None:
        self._figures = figures
        if figures is None:
            for bars in self.bars:
                bars.setOpts(height=np.zeros(10))
            for text in self.labels:
                text.setText("")
            self.table.setText("")
            return
        series = (figures.precision, figures.recall, figures.f1)
        low = float(min(s.min() for s in series))
        floor = max(0.0, np.floor((low - 0.02) * 20) / 20)  # bars start near the lowest figure
        for bars, values in zip(self.bars, series):
            bars.setOpts(height=values - floor, y0=floor)
        for d, text in enumerate(self.labels):
            text.setText(f"{figures.f1[d]:.1%}".replace("%", ""))
            text.setPos(d, max(v[d] for v in series))
        self.plot.setYRange(floor, 1.0 + (1.0 - floor) * 0.18, padding=0)
        worst = int(np.argmin(figures.f1))
        key = " ".join(f"<span style='color:{color}'>■</span> {name}" for name, color in SERIES)
        self.table.setText(f"{key}; F1 (%) above each digit. Weakest: <b>{worst}</b> (precision "
                           f"{figures.precision[worst]:.1%}, recall {figures.recall[worst]:.1%}).")
        self.table.setWordWrap(True)
        for d in range(10):
            self.labels[d].setToolTip(f"{d}: precision {figures.precision[d]:.2%}, recall {figures.recall[d]:.2%}, "
                                      f"F1 {figures.f1[d]:.2%}")
