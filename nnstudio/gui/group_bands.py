"""A group of repeats on the training plots: the mean validation curve and a min–max band around it.

One run's curve says little when seeds alone move it; a group's band shows how far they do. At each
epoch the band spans the lowest and the highest figure of the group's runs that reached that epoch
(runs that stopped early drop out of later epochs), and the curve is their mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg

from nnstudio.core.reports import EpochReport
from nnstudio.gui.plot_style import nice_end


def band_data(histories: Sequence[Sequence[EpochReport]], figure) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"mean", "low", "high"}`` -> ``(epochs, values)`` of ``figure(report)`` over the runs' histories."""
    by_epoch: dict[int, list[float]] = {}
    for history in histories:
        for report in history:
            by_epoch.setdefault(report.epoch, []).append(float(figure(report)))
    epochs = np.array(sorted(by_epoch), dtype=np.float64)
    values = [by_epoch[int(e)] for e in epochs]
    return {"mean": (epochs, np.array([np.mean(v) for v in values])),
            "low": (epochs, np.array([min(v) for v in values])),
            "high": (epochs, np.array([max(v) for v in values]))}


@dataclass
class Band:
    """The items of one group on one plot."""

    mean: pg.PlotDataItem
    low: pg.PlotDataItem
    high: pg.PlotDataItem
    fill: pg.FillBetweenItem

    @property
    def items(self) -> tuple:
        return (self.fill, self.low, self.high, self.mean)


class GroupBands:
    """The groups shown on ``plots`` (a :class:`~nnstudio.gui.training_plots.TrainingPlots`): for each,
    a band on the accuracy plot (validation accuracy, %) and one on the loss plot (validation loss)."""

    FIGURES = {"accuracy": lambda r: 100.0 * r.val_accuracy, "loss": lambda r: r.val_loss}

    def __init__(self, plots) -> None:
        self.plots = plots
        self._bands: dict[str, dict[str, Band]] = {}

    def keys(self) -> list[str]:
        return list(self._bands)

    def band(self, key: str, plot: str = "accuracy") -> Band:
        """The items of group ``key`` on the ``"accuracy"`` or ``"loss"`` plot."""
        return self._bands[key][plot]

    def set_group(self, key: str, label: str, histories: Sequence[Sequence[EpochReport]], color) -> None:
        """Draw (or redraw) group ``key``: its mean curve, solid, over a translucent min–max band."""
        color = pg.mkColor(color)
        shade = pg.mkColor(color)
        shade.setAlpha(60)
        edge = pg.mkPen(shade, width=1)
        bands = self._bands.get(key)
        if bands is None:
            bands = self._bands[key] = {}
            for name, plot in (("accuracy", self.plots.accuracy_plot), ("loss", self.plots.loss_plot)):
                low, high = pg.PlotDataItem(pen=edge), pg.PlotDataItem(pen=edge)
                fill = pg.FillBetweenItem(low, high, brush=pg.mkBrush(shade))
                mean = pg.PlotDataItem(pen=pg.mkPen(color, width=2.5), name=label if name == "accuracy" else None)
                band = Band(mean, low, high, fill)
                for z, item in enumerate(band.items):
                    item.setZValue(-8 + z)
                    plot.addItem(item)
                bands[name] = band
        for name, band in bands.items():
            data = band_data(histories, self.FIGURES[name])
            for part in ("low", "high", "mean"):
                getattr(band, part).setData(*data[part])
        end = max((len(h) and h[-1].epoch for h in histories), default=0)
        (x0, x1), _ = self.plots.accuracy_plot.viewRange()
        if end > x1:
            self.plots.accuracy_plot.setXRange(0, nice_end(end), padding=0.02)  # round steps, as _fit_x's

    def remove_group(self, key: str) -> bool:
        bands = self._bands.pop(key, None)
        if bands is None:
            return False
        for name, band in bands.items():
            plot = self.plots.accuracy_plot if name == "accuracy" else self.plots.loss_plot
            for item in band.items:
                plot.removeItem(item)
        return True

