"""The live run's points on the epoch plots of :class:`~nnstudio.gui.training_plots.TrainingPlots`: each
epoch's accuracy and loss, the best epoch's marks and the patience window, drawn a plot per turn."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Slot

from nnstudio.core.reports import EpochReport

LOSS_TURN_AT_LATEST_MS = 100  # should no repaint come (a covered window), the loss plot is drawn then


class EpochPointsMixin:
    """Needs ``accuracy_plot``, ``loss_plot``, ``plots``, the four epoch curves, the best marks
    (``best_marker``, ``best_loss_marker``, ``best_accuracy_point``, ``best_loss_point``),
    ``patience_region``, ``patience_label``, ``_history``, ``_columns``, ``_patience``, ``_best_shown``,
    ``_loss_half``, ``_loss_turn`` (a single-shot timer calling :meth:`finish_epoch`), ``graphics`` (its
    viewport's paints are filtered here), the ``epoch_drawn`` signal, ``_show_title``, ``_hold_while_hidden``
    and ``_follow``."""

    def add_epoch(self, report: EpochReport) -> None:
        """Add one epoch's point to each per-epoch curve; move the best-epoch marker and patience window.

        Shown on screen, the accuracy plot is drawn now and the loss plot in the next turn of the event
        loop (:meth:`finish_epoch`); :attr:`epoch_drawn` says when both are. Anything else asked of the
        plots first finishes a pending epoch, so they never show half an epoch to a reader."""
        self.finish_epoch()
        self._history.append(report)
        self._columns.append(report)
        if report.patience_left is not None:
            self._patience = report.patience_left + report.epoch - report.best_epoch
        self._show_title()
        if self._hold_while_hidden():
            self._show_best(report, self.plots[:2])
            self._show_patience_window(report)
            self.epoch_drawn.emit(report)
            return
        self._draw_epoch(report, self.accuracy_plot)
        self._loss_half = report
        if self.isVisible():
            self._loss_turn.start(LOSS_TURN_AT_LATEST_MS)  # started again, at 0 ms, by the repaint
        else:  # a view that is not on screen (built on its own) paints nothing: no reason to wait
            self.finish_epoch()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        """The plots' repaint with the accuracy plot's new epoch: the loss plot's turn is the next one.
        (A timer started now fires after this paint; one started with the accuracy plot could come
        before it, and the two halves would share one long repaint.)"""
        if (event.type() == QEvent.Type.Paint and self._loss_half is not None
                and watched is self.graphics.viewport()):
            self._loss_turn.start(0)
        return super().eventFilter(watched, event)

    @Slot()
    def finish_epoch(self) -> None:
        """Draw the last epoch on the loss plot now if it still waits for its turn."""
        report, self._loss_half = self._loss_half, None
        if report is None:
            return
        self._loss_turn.stop()
        self._draw_epoch(report, self.loss_plot)
        self.epoch_drawn.emit(report)

    def _draw_epoch(self, report: EpochReport, plot) -> None:
        """The epoch's points and marks on ``plot`` (the accuracy or the loss plot), and its range."""
        c = self._columns
        if plot is self.accuracy_plot:
            self.train_acc_curve.setData(c.epoch.values, c.train_accuracy.values)
            self.val_acc_curve.setData(c.epoch.values, c.val_accuracy.values)
        else:
            self.train_loss_curve.setData(c.epoch.values, c.train_loss.values)
            self.val_loss_curve.setData(c.epoch.values, c.val_loss.values)
            self._show_patience_window(report)
        self._show_best(report, (plot,))
        self._follow((plot,))

    def _show_epochs(self) -> None:
        c = self._columns
        x = c.epoch.values
        self.train_acc_curve.setData(x, c.train_accuracy.values)
        self.val_acc_curve.setData(x, c.val_accuracy.values)
        self.train_loss_curve.setData(x, c.train_loss.values)
        self.val_loss_curve.setData(x, c.val_loss.values)

    def _show_best(self, report: EpochReport, plots) -> None:
        """The best epoch's marker and star on ``plots`` (of the accuracy and loss plots); moved only when
        a better epoch came."""
        if report.best_epoch < 1:
            return
        best = (report.best_epoch, report.best_val_accuracy, report.best_val_loss)
        for plot in plots:
            if plot is self.accuracy_plot:
                marker, point, y = self.best_marker, self.best_accuracy_point, 100.0 * report.best_val_accuracy
            else:
                marker, point, y = self.best_loss_marker, self.best_loss_point, report.best_val_loss
            if self._best_shown.get(id(plot)) == best:
                continue
            self._best_shown[id(plot)] = best
            marker.setValue(report.best_epoch)
            point.setData([report.best_epoch], [y])
            marker.show()
            point.show()

    def _show_patience_window(self, report: EpochReport) -> None:
        self._show_window(report.epoch, None if report.patience_left is None else report.epoch + report.patience_left)

    def _show_window(self, epoch: int, deadline: int | None) -> None:
        """Shade the epochs the run may still go without improving: ``epoch`` to ``deadline``."""
        if deadline is None or deadline <= epoch:
            self.patience_region.hide()
            return
        self.patience_region.setRegion((epoch, deadline))
        left = deadline - epoch
        self.patience_label.setFormat(f"patience: {left} left")
        self.patience_region.show()

    def set_patience(self, patience: int) -> None:
        """A live change of patience (0 = off): recompute the window from the last epoch."""
        self.finish_epoch()
        self._patience = int(patience)
        if not self._history:
            return
        last = self._history[-1]
        self._show_window(last.epoch, last.best_epoch + self._patience if self._patience > 0 else None)
        self._follow()
