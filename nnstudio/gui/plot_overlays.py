"""Finished runs drawn over the live one, the figures under the mouse, and a picture of the plots:
the comparison part of :class:`~nnstudio.gui.training_plots.TrainingPlots`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Slot
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from nnstudio.core.reports import EpochReport
from nnstudio.gui.colors import run_color
from nnstudio.gui.plot_style import nearest_report, percent


@dataclass
class Overlay:
    """A finished run drawn for comparison."""

    label: str
    history: tuple[EpochReport, ...]
    color: QColor
    accuracy_curve: pg.PlotDataItem
    loss_curve: pg.PlotDataItem

    @property
    def visible(self) -> bool:
        return self.accuracy_curve.isVisible()



class OverlaysMixin:
    """Needs ``accuracy_plot``, ``loss_plot``, ``accuracy_legend``, ``_overlays``, ``_legend_groups``,
    ``_history``, ``_label``, ``hover_lines``, ``readout_label``, ``graphics``, ``title_label``,
    ``result_label``, ``plots`` and ``_follow``."""

    def set_overlay(self, key: str, label: str, history: Sequence[EpochReport], color=None) -> None:
        """Add or update a comparison run, drawn dashed in ``color`` (default: the next palette colour)."""
        history = tuple(history)
        existing = self._overlays.get(key)
        color = pg.mkColor(color) if color is not None else (
            existing.color if existing else run_color(len(self._overlays)))
        pen = pg.mkPen(color, width=2, style=Qt.DashLine)
        epochs = np.array([r.epoch for r in history], dtype=np.float64)
        accuracy = np.array([100.0 * r.val_accuracy for r in history], dtype=np.float64)
        loss = np.array([r.val_loss for r in history], dtype=np.float64)
        if existing is None:
            accuracy_curve = self.accuracy_plot.plot(epochs, accuracy, pen=pen, name=label)
            accuracy_curve.setZValue(-5)
            loss_curve = self.loss_plot.plot(epochs, loss, pen=pen)
            loss_curve.setZValue(-5)
            self._legend_groups[id(accuracy_curve)] = [loss_curve]
            self._overlays[key] = Overlay(label, history, QColor(color), accuracy_curve, loss_curve)
        else:
            for curve, y in ((existing.accuracy_curve, accuracy), (existing.loss_curve, loss)):
                curve.setPen(pen)
                curve.setData(epochs, y)
            self._rename_legend_entry(existing.accuracy_curve, label)
            existing.label, existing.history, existing.color = label, history, QColor(color)
        self._follow()

    def remove_overlay(self, key: str) -> bool:
        """Remove a comparison run; False if there was none under ``key``."""
        overlay = self._overlays.pop(key, None)
        if overlay is None:
            return False
        self.accuracy_plot.removeItem(overlay.accuracy_curve)  # also removes its legend entry
        self.loss_plot.removeItem(overlay.loss_curve)
        self._legend_groups.pop(id(overlay.accuracy_curve), None)
        self._follow()
        return True

    def overlay_keys(self) -> list[str]:
        return list(self._overlays)

    def overlay(self, key: str) -> Overlay:
        return self._overlays[key]

    def _rename_legend_entry(self, item: pg.PlotDataItem, name: str) -> None:
        for sample, label in self.accuracy_legend.items:
            if sample.item is item:
                label.setText(name)

    @Slot(object)
    def _sync_group_visibility(self, item) -> None:
        """A legend click hides a run's accuracy curve; hide its loss curve with it."""
        for partner in self._legend_groups.get(id(item), ()):
            partner.setVisible(item.isVisible())

    # -- hover readout -----------------------------------------------------------------------

    def readout_at(self, x: float) -> str:
        """Exact figures at the epoch nearest ``x``: the live run, then each visible overlay, one per line."""
        lines = []
        if self._history:
            r = nearest_report(self._history, x)
            name = f"{self._label}, " if self._label else ""
            lines.append(f"{name}epoch {r.epoch}: accuracy train {percent(r.train_accuracy)} "
                         f"val {percent(r.val_accuracy)} · loss train {r.train_loss:.4f} val {r.val_loss:.4f}")
        for overlay in self._overlays.values():
            if overlay.visible and overlay.history:
                r = nearest_report(overlay.history, x)
                lines.append(f"{overlay.label}, epoch {r.epoch}: accuracy val {percent(r.val_accuracy)} "
                             f"· loss val {r.val_loss:.4f}")
        return "\n".join(lines)

    @Slot(object)
    def _show_readout_at_scene(self, scene_pos: QPointF) -> None:
        for plot in self.plots:
            if plot.vb.sceneBoundingRect().contains(scene_pos):
                x = plot.vb.mapSceneToView(scene_pos).x()
                text = self.readout_at(x)
                if text:
                    self.readout_label.setText(text)
                    epoch = self._nearest_epoch(x)
                    for line in self.hover_lines:
                        line.setValue(epoch)
                        line.show()
                    return
        self._show_readout_hint()

    def _nearest_epoch(self, x: float) -> float:
        histories = [self._history] + [o.history for o in self._overlays.values() if o.visible]
        epochs = [nearest_report(h, x).epoch for h in histories if h]
        return min(epochs, key=lambda e: abs(e - x)) if epochs else x

    def _show_readout_hint(self) -> None:
        for line in self.hover_lines:
            line.hide()
        self.readout_label.setText("hover over the plots for the exact figures of an epoch")

    def leaveEvent(self, event) -> None:
        self._show_readout_hint()
        super().leaveEvent(event)

    # -- export ------------------------------------------------------------------------------

    def picture(self) -> QImage:
        """The plots as they are on screen, under a line with the run's title and result: no controls."""
        hover = [line.isVisible() for line in self.hover_lines]
        for line in self.hover_lines:
            line.hide()
        try:
            plots = self.graphics.grab().toImage()
        finally:
            for line, shown in zip(self.hover_lines, hover):
                line.setVisible(shown)
        ratio = plots.devicePixelRatio()
        font = QFont(self.title_label.font())
        metrics = self.title_label.fontMetrics()
        band = metrics.height() + 12
        width, height = self.graphics.width(), self.graphics.height()
        image = QImage(round(width * ratio), round((height + band) * ratio), QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(ratio)
        image.fill(self.background)
        painter = QPainter(image)
        painter.drawImage(0, band, plots)
        painter.setFont(font)
        painter.setPen(self.foreground)
        text_box = (8, 0, width - 16, band)
        painter.drawText(*text_box, Qt.AlignLeft | Qt.AlignVCenter,
                         metrics.elidedText(self.title_label.text(), Qt.ElideRight, max(0, width // 2)))
        painter.drawText(*text_box, Qt.AlignRight | Qt.AlignVCenter, self.result_label.text())
        painter.end()
        return image

    def export_png(self, path: str | os.PathLike) -> Path:
        """Save :meth:`picture` as PNG, atomically; returns the path."""
        from nnstudio.gui.history_png import save_png

        return save_png(self.picture(), path, quality=-1)

