"""The batch-loss plot's part of :class:`~nnstudio.gui.training_plots.TrainingPlots`: every batch's loss and
its exponential moving average, extended as reports come, redrawn once per batch of reports."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Slot

from nnstudio.core.reports import BatchProgress
from nnstudio.gui.plot_style import settle_y_range, smoothed

MAX_SMOOTHING = 0.999


class BatchPlotMixin:
    """Needs ``_batch_x``, ``_batch_loss``, ``_batch_ema`` (GrowingArrays), ``batch_curve``, ``ema_curve``,
    ``smoothing_slider``, ``smoothing_box``, ``_alpha``, ``smoothing_changed``, ``_follow`` and
    ``_hold_while_hidden``."""

    def add_batches(self, *reports: BatchProgress) -> None:
        """Append the batch losses of each report to the trace and extend the EMA, then redraw once.

        The cost is that of the new points, plus one ``setData`` per curve however many reports came.
        """
        added = False
        for progress in reports:
            losses = np.asarray(progress.losses, dtype=np.float64)
            if not len(losses):
                continue
            first = progress.epoch - 1 + progress.first_batch / progress.batches
            self._batch_x.extend(first + np.arange(len(losses)) / progress.batches)
            previous = self._batch_ema.values[-1] if len(self._batch_ema) else None
            self._batch_ema.extend(smoothed(losses, self._alpha, previous))
            self._batch_loss.extend(losses)
            added = True
        if added and not self._hold_while_hidden():
            self._show_batches()
            self.settle_batch_range()
            # The epoch plots' data did not change: settle their ranges only where pyqtgraph's auto-range
            # still holds them (after "fit" or a log-scale switch). Their bounds cost more than the trace.
            self._follow([plot for plot in (self.accuracy_plot, self.loss_plot) if plot.vb.state["autoRange"][1]])

    def settle_batch_range(self) -> None:
        """While the plots follow the run, set the batch plot's y range in round steps, and only when the
        trace leaves it or fills less than half of it. pyqtgraph's auto-range moves it at every new lowest
        loss, and a moved range redraws the axis and its grid: some 10 ms, five times a second."""
        if not self._following or not len(self._batch_loss):
            return
        values = self._batch_loss.values
        values = values[np.isfinite(values)]
        if self._log_loss:
            values = np.log10(values[values > 0])
        if not len(values):
            return
        settle_y_range(self.batch_plot, float(values.min()), float(values.max()))

    def _show_batches(self) -> None:
        x = self._batch_x.values
        self.batch_curve.setData(x, self._batch_loss.values)
        self.ema_curve.setData(x, self._batch_ema.values)

    def batch_trace(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of the batch trace: x (in epochs), raw losses, and their EMA."""
        return self._batch_x.values.copy(), self._batch_loss.values.copy(), self._batch_ema.values.copy()

    @property
    def smoothing(self) -> float:
        return self._alpha

    @Slot(float)
    def set_smoothing(self, alpha: float) -> None:
        """Set the EMA factor of the batch trace (0 = raw … 0.999) and recompute the smoothed line."""
        alpha = float(alpha)
        if not 0.0 <= alpha <= MAX_SMOOTHING:
            raise ValueError(f"smoothing must be from 0 to {MAX_SMOOTHING}, got {alpha}")
        changed = alpha != self._alpha
        self._alpha = alpha
        for control, value in ((self.smoothing_slider, round(alpha * 1000)), (self.smoothing_box, alpha)):
            if control.value() != value:
                control.blockSignals(True)
                control.setValue(value)
                control.blockSignals(False)
        if len(self._batch_loss):
            ema = smoothed(self._batch_loss.values, alpha)
            self._batch_ema.clear()
            self._batch_ema.extend(ema)
            self._show_batches()
        if changed:
            self.smoothing_changed.emit(alpha)

