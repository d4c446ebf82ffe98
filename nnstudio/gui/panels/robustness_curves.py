"""Robustness curves: accuracy against Gaussian noise, rotation, shift and stroke thickness, measured
on a fixed 2,000-image subset off the GUI thread, each point drawn as it arrives.

During a run (:meth:`RobustnessView.compute_next`) one curve is measured per epoch, in turn, and
swapped in whole; each plot's title says which epoch's model it shows. When the run pauses or ends
(:meth:`RobustnessView.compute`) all four are measured for the last model.

The four plots are QPainter charts (:class:`~nnstudio.gui.panels.mini_chart.MiniChart`): a new curve
repaints its own chart once; four pyqtgraph plots re-laid out their axes on every change."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGridLayout, QProgressBar, QVBoxLayout, QWidget

from nnstudio.core.robustness import (PERTURBATIONS, CurvePoint, PerturbedImages, all_curves, fixed_subset,
                                      robustness_curve)
from nnstudio.gui.panels.latest_job import BACKGROUND_NICE, LatestJob, collapsed
from nnstudio.gui.colors import TRAIN_COLOR
from nnstudio.gui.panels.mini_chart import MiniChart, Series
from nnstudio.gui.steady_label import SteadyLabel


class CurveChart(MiniChart):
    """One robustness curve: accuracy (%) from 0 to 100 over the perturbation's levels."""

    def __init__(self, name: str) -> None:
        perturbation = PERTURBATIONS[name]
        super().__init__(perturbation.title, x_label=perturbation.unit)
        self.setObjectName(f"robustness_{name}")
        self.setAccessibleName(f"Accuracy against {perturbation.title.lower()}")
        self.set_ranges((min(perturbation.levels), max(perturbation.levels)), (0.0, 100.0))

    def set_title(self, title: str) -> None:
        if title != self.title:
            self.title = title
            self._cache_key = None  # the title is painted into the cached background
            self.update()

    def set_curve(self, levels: list[float], accuracy: list[float]) -> None:
        self.set_series([Series(np.asarray(levels, float), np.asarray(accuracy, float), QColor(TRAIN_COLOR))]
                        if levels else [])


# During a run a curve is measured at most this share of the time (a curve is 0.1-0.5 s of CPU, an
# epoch of the seed network about 0.7 s): the rest of the second core is the window's.
LIVE_DUTY = 1 / 3


class RobustnessView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("robustnessCurves")
        self.setAccessibleName("Robustness curves")
        self.job = LatestJob("robustness", self, duty=LIVE_DUTY, nice=BACKGROUND_NICE)
        self.job.yielded.connect(self.add_point)
        self.job.returned.connect(self._on_done)
        self.job.errored.connect(lambda message: self.status.setText(f"Robustness failed: {message}"))
        self._points: dict[str, dict[float, float]] = {name: {} for name in PERTURBATIONS}
        self._dirty: set[str] = set()
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(150)  # points arrive every few ms: draw them in batches
        self._redraw.timeout.connect(self.redraw)
        self.complete = False  # every curve is measured for the last model asked for
        self._arrived = 0  # points measured by the job under way
        self._turn = 0  # curves measured so far; ``_measured[name]`` is the turn ``name`` was last measured
        self._measured: dict[str, int] = {}
        self._running: str | None = None  # the live curve being measured, and the one asked for after it
        self._waiting: str | None = None
        self._live_note: dict[str, str] = {}  # which model each live curve shows ("epoch 4")
        self._kept: tuple | None = None  # images, labels, their subset's PerturbedImages, its labels
        self._asked: tuple | None = None  # a request that came while the view was collapsed
        self.charts: dict[str, CurveChart] = {}
        self.grid = QWidget()
        grid = QGridLayout(self.grid)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        for k, name in enumerate(PERTURBATIONS):
            self.charts[name] = CurveChart(name)
            grid.addWidget(self.charts[name], k // 2, k % 2)
        self.progress = QProgressBar()
        self.progress.setObjectName("robustnessProgress")
        self.progress.setAccessibleName("Robustness progress")
        self.progress.setRange(0, sum(len(p.levels) for p in PERTURBATIONS.values()))
        self.progress.setTextVisible(True)
        # A new text does not re-lay out the window (a QLabel's did, repainting the whole tab)
        self.status = SteadyLabel("robustnessStatus", 2, "Accuracy (%) of 2,000 fixed images as they are disturbed")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

    def compute(self, network, images: np.ndarray, labels: np.ndarray) -> None:
        """Measure every curve for ``network`` on the fixed subset of ``images`` (off the GUI thread).

        The curves shown stay until the new points replace them, so a model that changed a little
        (the next epoch's) does not blank the plots. A collapsed view measures when opened again."""
        if collapsed(self):  # what it measures now would be for nobody: stop, and measure when opened
            self.cancel()
            self.complete = False
            self._asked = ("all", network, images, labels)
            return
        self._asked = None
        x, y = self._subset(images, labels)
        self._arrived = 0
        self._running = self._waiting = None
        self.progress.setRange(0, sum(len(p.levels) for p in PERTURBATIONS.values()))
        self.progress.setValue(0)
        self.complete = False
        self.status.setText(f"Measuring on {len(y):,} fixed images…")
        self.job.request(lambda: all_curves(network, x, y))

    def compute_next(self, network, images: np.ndarray, labels: np.ndarray, note: str = "") -> str:
        """During a run: measure only the curve measured longest ago, for ``network`` (one curve per
        epoch, in turn, keeps each curve at most a few epochs old for a quarter of the work). A model
        that comes while a curve is being measured waits for it, and for a rest that keeps the curves
        to :data:`LIVE_DUTY` of the time; a newer one replaces it. Returns the
        curve's name. ``note`` says which model it is (``"epoch 5"``), for the status line. A collapsed
        view measures nothing until opened again (then the latest model's next curve; returns "")."""
        if collapsed(self):
            asked = self._asked if self._asked is not None and self._asked[0] == "all" else None
            self.cancel()
            self.complete = False
            # A full set asked for stays asked for (with the newer model), else the next curve.
            self._asked = ("all", network, images, labels) if asked else ("next", network, images, labels, note)
            return ""
        self._asked = None
        x, y = self._subset(images, labels)
        # The curve measured longest ago, but not the one being measured now (the request waits for it).
        running = self._running if self.job.running else None
        name = min((n for n in PERTURBATIONS if n != running), key=lambda n: self._measured.get(n, -1))
        if running is None:
            self._running = name
        else:
            self._waiting = name  # replaces the request waiting, if any: that curve is picked again next
        self.complete = False

        def job():  # the curve is swapped in whole, not half this epoch's: nothing shown per level
            points = robustness_curve(network, x, y, name)
            while True:
                try:
                    next(points)
                except StopIteration as done:
                    return "live", name, note, done.value
                yield None  # where the job may stop (no signal to the window)

        self.job.request(job, coalesce=True)
        return name

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._asked is not None and not collapsed(self):  # opened again: measure what was asked
            kind, *args = self._asked
            self._asked = None
            (self.compute if kind == "all" else self.compute_next)(*args)

    def _subset(self, images: np.ndarray, labels: np.ndarray) -> tuple[PerturbedImages, np.ndarray]:
        """The fixed subset of ``images``, with what every curve needs of it that does not depend on the
        network: made once per set of images and kept while they are evaluated (about 25 MB for 2,000
        digits; filled by the jobs, off the GUI thread), not again for every curve of every epoch."""
        if self._kept is None or self._kept[0] is not images or self._kept[1] is not labels:
            subset = fixed_subset(len(labels))
            self._kept = (images, labels, PerturbedImages(images[subset]), labels[subset])
        return self._kept[2], self._kept[3]

    def cancel(self) -> None:
        self.job.cancel()
        self._running = self._waiting = self._asked = None

    def add_point(self, point: CurvePoint) -> None:
        self._arrived += 1
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
            self.charts[name].set_curve(levels, [points[v] * 100 for v in levels])
        self._dirty.clear()
        self.progress.setValue(self._arrived)

    def notes(self) -> dict[str, str]:
        """During a run, which model each curve measured so far shows: ``{"noise": "epoch 3", ...}``
        (empty once all four are measured for one model)."""
        return dict(self._live_note)

    def curve(self, name: str) -> tuple[list[float], list[float]]:
        """The levels and accuracies measured so far for ``name``."""
        points = self._points[name]
        levels = sorted(points)
        return levels, [points[v] for v in levels]

    def _on_done(self, curves) -> None:
        if curves is None:
            return
        if isinstance(curves, tuple):  # ("live", name, note, curve): one curve of a running run's model
            _, name, note, curve = curves
            self._live_note[name] = note
            curves = {name: curve}
            self._running, self._waiting = self._waiting, None
        for name, curve in curves.items():
            self._points[name] = dict(zip(curve.levels.tolist(), curve.accuracy.tolist()))
            self._dirty.add(name)
            self._turn += 1
            self._measured[name] = self._turn
        self.redraw()
        self.progress.setValue(self.progress.maximum())
        if len(curves) == 1:
            (name,) = curves
            when = self._live_note.get(name, "")
            self.charts[name].set_title(f"{PERTURBATIONS[name].title} · {when}" if when else PERTURBATIONS[name].title)
            self.status.setText(f"During a run one curve is measured per epoch, in turn "
                                f"(last: {PERTURBATIONS[name].title.lower()}); all four when it pauses or ends.")
            return
        for name, perturbation in PERTURBATIONS.items():
            self.charts[name].set_title(perturbation.title)
        self._live_note.clear()
        self.complete = True
        noise = curves["noise"]
        half = next((lv for lv, a in zip(noise.levels, noise.accuracy) if a < noise.accuracy[0] / 2), None)
        note = f" Noise of σ = {half:g} halves its accuracy." if half is not None else ""
        self.status.setText(f"Accuracy (%) of the fixed images as they are disturbed.{note}")
