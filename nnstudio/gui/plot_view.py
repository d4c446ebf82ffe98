"""How :class:`~nnstudio.gui.training_plots.TrainingPlots` frames its plots: log scale, fit, follow the run."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Slot

from nnstudio.gui.plot_style import nice_end, settle_y_range


class PlotViewMixin:
    """Needs ``plots`` (accuracy, loss, batch), ``log_loss_box``, ``patience_region``, ``_history``,
    ``_overlays``, ``_batch_x`` and the ``log_loss_changed`` signal."""

    @property
    def log_loss(self) -> bool:
        return self._log_loss

    @Slot(bool)
    def set_log_loss(self, on: bool) -> None:
        """Show both loss plots on a log scale, or linear."""
        on = bool(on)
        if self.log_loss_box.isChecked() != on:
            self.log_loss_box.blockSignals(True)
            self.log_loss_box.setChecked(on)
            self.log_loss_box.blockSignals(False)
        if on == self.log_loss:
            return
        self._log_loss = on
        x_range = self.accuracy_plot.viewRange()[0]
        for plot in (self.loss_plot, self.batch_plot):
            plot.setLogMode(x=False, y=on)  # this re-enables auto-range on both axes
            plot.enableAutoRange(x=False, y=True)
        self.accuracy_plot.setXRange(*x_range, padding=0)
        self.log_loss_changed.emit(on)

    @Slot()
    def fit_view(self) -> None:
        """Show the whole run (and overlays) and follow the run as it grows."""
        self._following = True
        for plot in self.plots:
            plot.enableAutoRange(y=True)
        self._accuracy_placeholder = False
        self._show_accuracy_placeholder()
        self._fit_x()

    @Slot()
    def _stop_following(self) -> None:
        self._following = False

    def _follow(self, plots=None) -> None:
        """Keep following the run: the x range, and the y ranges of the epoch plots in ``plots`` (both:
        None), whose data changed."""
        self._show_accuracy_placeholder()
        epoch_plots = (self.accuracy_plot, self.loss_plot) if plots is None else plots
        moved_x = False
        if self._following:
            moved_x = self._fit_x(force=False)
            self._settle_epoch_ranges(epoch_plots)
        # pyqtgraph recomputes a changed auto-range when it paints, and a range changed while painting
        # makes every item on that plot ask for a second paint. Settle the ranges now: one paint.
        for plot in self.plots if plots is None or moved_x else (*plots, self.batch_plot):
            plot.vb.prepareForPaint()

    def _settle_epoch_ranges(self, plots) -> None:
        """The accuracy and loss plots' y ranges in round steps around everything drawn on them (the
        run, compared runs, bands), as the batch plot's: not a new range, and a redrawn axis, each epoch."""
        for plot in plots:
            if plot is self.accuracy_plot and self._accuracy_placeholder:
                continue
            bounds = plot.vb.childrenBounds()[1]
            if bounds is not None and np.all(np.isfinite(bounds)):
                settle_y_range(plot, float(bounds[0]), float(bounds[1]))

    def _show_accuracy_placeholder(self) -> None:
        """An empty accuracy plot spans 0-100 %, not pyqtgraph's 0-1; the first curve brings auto-range back."""
        empty = not self._history and not self._overlays
        if empty and not self._accuracy_placeholder:
            self.accuracy_plot.setYRange(0, 100, padding=0.02)  # this turns the y auto-range off
        elif not empty and self._accuracy_placeholder and not self._following:
            self.accuracy_plot.enableAutoRange(y=True)  # (following, _settle_epoch_ranges sets the range)
        self._accuracy_placeholder = empty

    def _fit_x(self, force: bool = True) -> bool:
        """Show epoch 0 to the end of whatever is drawn, rounded up by :func:`nice_end` (True: moved).

        Rounding up means the range changes every few epochs, not on every batch: a range change
        makes each plot item re-clip its data, which costs O(points) per item.
        """
        end = 1.0
        if len(self._batch_x):
            end = max(end, float(np.ceil(self._batch_x.values[-1])))
        if self._history:
            end = max(end, self._history[-1].epoch)
        if self.patience_region.isVisible():
            end = max(end, self.patience_region.getRegion()[1])
        for overlay in self._overlays.values():
            if overlay.visible and overlay.history:
                end = max(end, overlay.history[-1].epoch)
        end = nice_end(end)
        if force or end != self._x_end:
            self._x_end = end
            self.accuracy_plot.setXRange(0, end, padding=0.02)
            return True
        return False

