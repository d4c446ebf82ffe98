"""Marks on the live run's plots: where a setting changed live, and where "+1 epoch" restored the best weights."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from nnstudio.core.reports import EpochReport, SettingChanged
from nnstudio.gui.colors import BEST_COLOR, CHANGE_COLOR
from nnstudio.gui.plot_style import describe_change

LABEL_POSITIONS = (0.22, 0.36, 0.5, 0.64)  # of a change's label on its line; close changes take the next


class MarksMixin:
    """Needs ``plots``, ``accuracy_plot``, ``background``, ``_columns``, ``_change_lines``, ``change_labels``,
    ``restored_at``, ``_show_epochs``, ``finish_epoch`` and ``set_patience``."""

    def mark_restored(self, at: int, best: EpochReport) -> None:
        """A continuation ("+1 epoch") starts from the weights of ``best``'s epoch, restored after epoch
        ``at`` (an early stop): mark it on every plot, and draw the continuation from the restored
        figures (placed at ``at``), not from epoch ``at``'s, so the curves do not seem to jump."""
        self.finish_epoch()
        self._columns.append_break()
        self._columns.append(best, at=at)
        self._show_epochs()
        text = f"restored epoch {best.epoch}"
        pen = pg.mkPen(BEST_COLOR, width=1, style=Qt.DotLine)
        for plot in self.plots:
            line = pg.InfiniteLine(at, angle=90, pen=pen, label=text if plot is self.accuracy_plot else None,
                                   labelOpts={"position": 0.1, "color": BEST_COLOR, "anchors": [(1, 1), (1, 1)]})
            line.setToolTip(f"From here on the run goes on from the weights of epoch {best.epoch}, its best")
            plot.addItem(line, ignoreBounds=True)
            self._change_lines.append((plot, line))
        self.restored_at.append(at)

    def _label_fill(self) -> QColor:
        fill = QColor(self.background)
        fill.setAlpha(200)
        return fill

    def _change_label_position(self, x: float) -> float:
        """Where (0 bottom … 1 top) the label of a change at ``x`` goes: one step below the previous
        change's label when the two lines are close, so their labels do not overlap."""
        low, high = self.accuracy_plot.viewRange()[0]
        near = 0.12 * max(high - low, 1.0)  # a label is about this wide
        position = LABEL_POSITIONS[0]
        if self.change_labels and abs(self.change_labels[-1][0] - x) < near:
            previous = LABEL_POSITIONS.index(self.change_labels[-1][1])
            position = LABEL_POSITIONS[(previous + 1) % len(LABEL_POSITIONS)]
        self.change_labels.append((x, position))
        return position

    def mark_change(self, change: SettingChanged) -> None:
        """Draw a labelled vertical line where a live setting changed, on every plot."""
        text = describe_change(change)
        pen = pg.mkPen(CHANGE_COLOR, width=1, style=Qt.DotLine)
        position = self._change_label_position(change.position)
        for plot in self.plots:
            label = text if plot is self.accuracy_plot else None
            line = pg.InfiniteLine(change.position, angle=90, pen=pen, label=label,
                                   labelOpts={"position": position, "color": CHANGE_COLOR,
                                              "anchors": [(0, 0), (0, 0)], "fill": pg.mkBrush(self._label_fill())})
            line.setToolTip(f"{text} at epoch {change.epoch}, batch {change.batch}")
            plot.addItem(line, ignoreBounds=True)
            self._change_lines.append((plot, line))
        if change.name == "patience":
            self.set_patience(int(change.new))

    def change_positions(self) -> list[float]:
        """Where the setting changes of the live run are marked (one per change)."""
        return [line.value() for plot, line in self._change_lines if plot is self.accuracy_plot
                and line.value() not in self.restored_at]
