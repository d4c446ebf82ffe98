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
    accuracy_curve: pg.PlotDataItem  # validation, dashed
    loss_curve: pg.PlotDataItem
    train_accuracy_curve: pg.PlotDataItem  # dotted, shown with "train curves"
    train_loss_curve: pg.PlotDataItem
    best_points: tuple[pg.PlotDataItem, pg.PlotDataItem]  # a star on its best epoch, accuracy and loss

    @property
    def visible(self) -> bool:
        return self.accuracy_curve.isVisible()

    @property
    def items(self) -> tuple:
        return (self.accuracy_curve, self.loss_curve, self.train_accuracy_curve, self.train_loss_curve,
                *self.best_points)


def overlay_data(history: Sequence[EpochReport]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The curves of a compared run: validation and train figures per epoch, and its best epoch's."""
    epochs = np.array([r.epoch for r in history], dtype=np.float64)

    def column(values) -> np.ndarray:
        return np.array(list(values), dtype=np.float64)

    best = [r for r in history if r.epoch == history[-1].best_epoch] if history else []
    return {"accuracy": (epochs, column(100.0 * r.val_accuracy for r in history)),
            "loss": (epochs, column(r.val_loss for r in history)),
            "train_accuracy": (epochs, column(100.0 * r.train_accuracy for r in history)),
            "train_loss": (epochs, column(r.train_loss for r in history)),
            "best_accuracy": (column(r.epoch for r in best), column(100.0 * r.val_accuracy for r in best)),
            "best_loss": (column(r.epoch for r in best), column(r.val_loss for r in best))}


class OverlaysMixin:
    """Needs ``accuracy_plot``, ``loss_plot``, ``accuracy_legend``, ``_overlays``, ``_legend_groups``,
    ``_history``, ``_label``, ``hover_lines``, ``readout_label``, ``graphics``, ``title_label``,
    ``result_label``, ``plots``, ``_follow`` and ``catch_up``."""

    def set_overlay(self, key: str, label: str, history: Sequence[EpochReport], color=None) -> None:
        """Add or update a comparison run in ``color`` (default: the next palette colour): its validation
        curves dashed, its train curves dotted (shown with :meth:`set_overlay_train`), a star on its best epoch."""
        history = tuple(history)
        existing = self._overlays.get(key)
        color = pg.mkColor(color) if color is not None else (
            existing.color if existing else run_color(len(self._overlays)))
        pens = {"accuracy": pg.mkPen(color, width=2, style=Qt.DashLine),
                "train": pg.mkPen(color, width=1.5, style=Qt.DotLine)}
        data = overlay_data(history)
        if existing is None:
            star = {"pen": None, "symbol": "star", "symbolSize": 13, "symbolBrush": pg.mkBrush(color),
                    "symbolPen": pg.mkPen(self.background, width=0.8)}
            overlay = Overlay(
                label, history, QColor(color),
                self.accuracy_plot.plot(*data["accuracy"], pen=pens["accuracy"], name=label),
                self.loss_plot.plot(*data["loss"], pen=pens["accuracy"]),
                self.accuracy_plot.plot(*data["train_accuracy"], pen=pens["train"]),
                self.loss_plot.plot(*data["train_loss"], pen=pens["train"]),
                (self.accuracy_plot.plot(*data["best_accuracy"], **star), self.loss_plot.plot(*data["best_loss"], **star)))
            for item in overlay.items:
                item.setZValue(-5)
            for item in (overlay.train_accuracy_curve, overlay.train_loss_curve):
                item.setVisible(self.overlay_train)
            self._legend_groups[id(overlay.accuracy_curve)] = list(overlay.items[1:])
            self._overlays[key] = overlay
        else:
            existing.accuracy_curve.setPen(pens["accuracy"])
            existing.loss_curve.setPen(pens["accuracy"])
            for curve, name in ((existing.accuracy_curve, "accuracy"), (existing.loss_curve, "loss"),
                                (existing.train_accuracy_curve, "train_accuracy"),
                                (existing.train_loss_curve, "train_loss"), (existing.best_points[0], "best_accuracy"),
                                (existing.best_points[1], "best_loss")):
                curve.setData(*data[name])
            for curve in (existing.train_accuracy_curve, existing.train_loss_curve):
                curve.setPen(pens["train"])
            self._rename_legend_entry(existing.accuracy_curve, label)
            existing.label, existing.history, existing.color = label, history, QColor(color)
        self._follow()

    @Slot(bool)
    def set_overlay_train(self, on: bool) -> None:
        """Show the compared runs' train curves too (dotted), or only their validation curves."""
        self.overlay_train = bool(on)
        if self.overlay_train_box.isChecked() != self.overlay_train:
            self.overlay_train_box.setChecked(self.overlay_train)
        for overlay in self._overlays.values():
            for curve in (overlay.train_accuracy_curve, overlay.train_loss_curve):
                curve.setVisible(self.overlay_train and overlay.visible)

    def remove_overlay(self, key: str) -> bool:
        """Remove a comparison run; False if there was none under ``key``."""
        overlay = self._overlays.pop(key, None)
        if overlay is None:
            return False
        for item in overlay.items:  # the accuracy curve's removal also removes its legend entry
            (self.accuracy_plot if item.getViewBox() is self.accuracy_plot.vb else self.loss_plot).removeItem(item)
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
        """A legend click hides a run's accuracy curve; hide its other curves and marks with it."""
        overlays = {id(o.accuracy_curve): o for o in self._overlays.values()}
        train = ()
        if id(item) in overlays:
            train = (overlays[id(item)].train_accuracy_curve, overlays[id(item)].train_loss_curve)
        for partner in self._legend_groups.get(id(item), ()):
            partner.setVisible(item.isVisible() and (partner not in train or self.overlay_train))

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
                train = (f"accuracy train {percent(r.train_accuracy)} val {percent(r.val_accuracy)} · loss train "
                         f"{r.train_loss:.4f} val {r.val_loss:.4f}") if self.overlay_train else \
                    f"accuracy val {percent(r.val_accuracy)} · loss val {r.val_loss:.4f}"
                lines.append(f"{overlay.label}, epoch {r.epoch}: {train}")
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
        self.catch_up()  # exported from another tab: first draw what came meanwhile
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

        return save_png(self.picture(), path, what="plot picture", quality=-1)

