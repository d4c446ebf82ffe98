"""``training_history.png``: a run's accuracy and loss per epoch, side by side, drawn offscreen.

Works from the headless command line as well as inside the app: without a running
QApplication it creates one, on the "offscreen" platform when there is no display.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from nnstudio.core.reports import EpochReport
from nnstudio.gui.training_plots import BACKGROUND, BEST_COLOR, TRAIN_COLOR, VALIDATION_COLOR, style_plot

WIDTH, HEIGHT = 1200, 500
_app: QApplication | None = None  # the application this module had to create, kept alive


def ensure_application() -> QApplication:
    """The running QApplication, or a new one: offscreen when no display is available."""
    global _app
    app = QApplication.instance()
    if app is None:
        no_display = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if no_display and sys.platform not in ("win32", "darwin"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = _app = QApplication([sys.argv[0] if sys.argv else "nnstudio"])
    return app


def write_history_png(path: str | os.PathLike, history: Sequence[EpochReport], *, title: str = "") -> Path:
    """Draw accuracy and loss (train and validation per epoch) to a PNG of about 1200×500, atomically."""
    history = tuple(history)
    if not history:
        raise ValueError("cannot draw a training history without epochs: the run has no completed epoch")
    path = Path(path)
    ensure_application()
    image = _draw(history, title)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if not image.save(str(temporary), "PNG"):
        temporary.unlink(missing_ok=True)
        raise OSError(f"could not write the training history picture to {path}")
    os.replace(temporary, path)
    return path


def _draw(history: tuple[EpochReport, ...], title: str) -> QImage:
    """Render the two plots offscreen; the view is local, so it is gone before the interpreter exits."""
    view = pg.GraphicsLayoutWidget()
    view.setBackground(BACKGROUND)
    layout = view.ci
    layout.setGeometry(QRectF(0, 0, WIDTH, HEIGHT))  # the view is never shown, so size its layout directly
    if title:
        layout.addLabel(title, row=0, col=0, colspan=2, size="13pt", color="#303030")
    accuracy_plot = layout.addPlot(row=1, col=0)
    loss_plot = layout.addPlot(row=1, col=1)
    style_plot(accuracy_plot, "accuracy (%)")
    style_plot(loss_plot, "loss")
    accuracy_plot.setTitle("accuracy", color="#303030", size="11pt")
    loss_plot.setTitle("loss", color="#303030", size="11pt")
    epochs = np.array([r.epoch for r in history], dtype=np.float64)
    columns = {
        (accuracy_plot, "train"): [100 * r.train_accuracy for r in history],
        (accuracy_plot, "validation"): [100 * r.val_accuracy for r in history],
        (loss_plot, "train"): [r.train_loss for r in history],
        (loss_plot, "validation"): [r.val_loss for r in history],
    }
    legends = {plot: plot.addLegend(offset=offset, labelTextColor="#303030",
                                    brush=pg.mkBrush(255, 255, 255, 210))
               for plot, offset in ((accuracy_plot, (-10, -10)), (loss_plot, (-10, 10)))}
    for (plot, name), values in columns.items():
        color = TRAIN_COLOR if name == "train" else VALIDATION_COLOR
        plot.plot(epochs, np.asarray(values, dtype=np.float64), pen=pg.mkPen(color, width=2), symbol="o",
                  symbolSize=5, symbolPen=pg.mkPen(color), symbolBrush=pg.mkBrush(color), name=name)
    best = history[-1].best_epoch
    if best:
        for plot in (accuracy_plot, loss_plot):
            line = pg.InfiniteLine(best, angle=90, pen=pg.mkPen(BEST_COLOR, width=1.5, style=Qt.DashLine))
            plot.addItem(line, ignoreBounds=True)
        legends[accuracy_plot].addItem(
            pg.PlotDataItem(pen=pg.mkPen(BEST_COLOR, width=1.5, style=Qt.DashLine)), f"best epoch {best}")
    last = epochs[-1]
    for plot in (accuracy_plot, loss_plot):
        plot.setXRange(min(0.0, epochs[0] - 1), max(last, 1.0) + 0.5, padding=0.02)

    QApplication.processEvents()  # let the layout settle (axis sizes, titles) before rendering
    exporter = pg.exporters.ImageExporter(layout)
    exporter.parameters()["width"] = WIDTH
    return exporter.export(toBytes=True)
