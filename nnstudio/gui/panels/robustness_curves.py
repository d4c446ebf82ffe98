"""Robustness curves: accuracy against Gaussian noise, rotation, shift and stroke thickness, measured
on a fixed 2,000-image subset off the GUI thread, each point drawn as it arrives."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from nnstudio.core.robustness import PERTURBATIONS, CurvePoint, all_curves, fixed_subset
from nnstudio.gui.panels.latest_job import LatestJob
from nnstudio.gui.colors import BACKGROUND, FOREGROUND, TRAIN_COLOR


class RobustnessView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("robustnessCurves")
        self.setAccessibleName("Robustness curves")
        self.job = LatestJob("robustness", self)
        self.job.yielded.connect(self.add_point)
        self.job.returned.connect(self._on_done)
        self.job.errored.connect(lambda message: self.status.setText(f"Robustness failed: {message}"))
        self._points: dict[str, dict[float, float]] = {name: {} for name in PERTURBATIONS}
        self._dirty: set[str] = set()
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(150)  # points arrive every few ms: draw them in batches
        self._redraw.timeout.connect(self.redraw)
        self.complete = False
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.plots, self.curves = {}, {}
        for k, (name, perturbation) in enumerate(PERTURBATIONS.items()):
            plot = self.graphics.addPlot(row=k // 2, col=k % 2, title=perturbation.title)
            plot.titleLabel.setText(perturbation.title, color=FOREGROUND, size="9pt")
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.setYRange(0, 100, padding=0.02)
            plot.setXRange(min(perturbation.levels), max(perturbation.levels), padding=0.04)
            plot.setLabel("bottom", perturbation.unit, color=FOREGROUND)
            for side in ("bottom", "left"):
                plot.getAxis(side).setPen(FOREGROUND)
                plot.getAxis(side).setTextPen(FOREGROUND)
            self.plots[name] = plot
            self.curves[name] = plot.plot([], [], pen=pg.mkPen(TRAIN_COLOR, width=2), symbol="o", symbolSize=5,
                                          symbolBrush=TRAIN_COLOR, symbolPen=None)
        self.progress = QProgressBar()
        self.progress.setObjectName("robustnessProgress")
        self.progress.setAccessibleName("Robustness progress")
        self.progress.setRange(0, sum(len(p.levels) for p in PERTURBATIONS.values()))
        self.progress.setTextVisible(True)
        self.status = QLabel("Accuracy (%) of 2,000 fixed images as they are disturbed")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

    def compute(self, network, images: np.ndarray, labels: np.ndarray) -> None:
        """Measure every curve for ``network`` on the fixed subset of ``images`` (off the GUI thread)."""
        subset = fixed_subset(len(labels))
        x, y = images[subset], labels[subset]
        self._points = {name: {} for name in PERTURBATIONS}
        self._dirty = set(PERTURBATIONS)
        self.redraw()
        self.complete = False
        self.status.setText(f"Measuring on {len(subset):,} fixed images…")
        self.job.request(lambda: all_curves(network, x, y))

    def cancel(self) -> None:
        self.job.cancel()

    def add_point(self, point: CurvePoint) -> None:
        self._points[point.name][point.level] = point.accuracy
        self._dirty.add(point.name)
        if not self._redraw.isActive():
            self._redraw.start()

    def redraw(self) -> None:
        """Draw the points that arrived since the last redraw."""
        self._redraw.stop()
        for name in self._dirty:
            points = self._points[name]
            levels = sorted(points)
            self.curves[name].setData(levels, [points[v] * 100 for v in levels])
        self._dirty.clear()
        self.progress.setValue(sum(len(p) for p in self._points.values()))

    def curve(self, name: str) -> tuple[list[float], list[float]]:
        """The levels and accuracies measured so far for ``name``."""
        points = self._points[name]
        levels = sorted(points)
        return levels, [points[v] for v in levels]

    def _on_done(self, curves) -> None:
        if curves is None:
            return
        self.redraw()
        self.complete = True
        self.progress.setValue(self.progress.maximum())
        noise = curves["noise"]
        half = next((lv for lv, a in zip(noise.levels, noise.accuracy) if a < noise.accuracy[0] / 2), None)
        note = f" Noise of σ = {half:g} halves its accuracy." if half is not None else ""
        self.status.setText(f"Accuracy (%) of the fixed images as they are disturbed.{note}")
