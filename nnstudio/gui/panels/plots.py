"""The live plots of the Train tab, fed by the run session, with the runs ticked for comparison."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QWidget

from nnstudio.core.reports import SettingChanged
from nnstudio.gui.colors import run_color
from nnstudio.gui.group_bands import GroupBands
from nnstudio.gui.training_plots import TrainingPlots


class PlotsPanel(TrainingPlots):
    """:class:`TrainingPlots` connected to ``session`` (the live run) and ``workspace`` (overlays)."""

    def __init__(self, workspace, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plotsPanel")
        self.setAccessibleName("Training plots")
        self.workspace, self.session = workspace, session
        session.started.connect(self._on_started)
        session.progressed.connect(lambda reports: self.add_batches(*reports))
        session.setting_changed.connect(self._on_setting_changed)
        session.epoch_finished.connect(self.add_epoch)
        session.ended.connect(self.show_result)
        session.cleared.connect(lambda: self.start_run("", 0, 0))
        workspace.comparison_changed.connect(self._on_comparison_changed)
        self.group_bands = GroupBands(self)  # groups of repeats: mean curve and min–max band
        workspace.group_comparison_changed.connect(self._on_group_comparison_changed)

    @Slot(object)
    def _on_started(self, launch) -> None:
        if not launch.continued:
            self.start_run(self.session.title(), launch.config.max_epochs, launch.config.patience)
        elif launch.restored_epoch:
            self.mark_restored(launch.first_epoch, self.session.history[launch.restored_epoch - 1])

    @Slot(object)
    def _on_setting_changed(self, change: SettingChanged) -> None:
        self.mark_change(change)
        if change.name == "learning_rate":
            self.set_label(self.session.title(change.new))

    @Slot(object, bool)
    def _on_comparison_changed(self, run, shown: bool) -> None:
        key = str(run.folder)
        if shown:
            self.set_overlay(key, run.name, run.history, run_color(self.workspace.run_index(run)))
        else:
            self.remove_overlay(key)

    @Slot(object, bool)
    def _on_group_comparison_changed(self, group, shown: bool) -> None:
        key = str(group.folder)
        if shown:
            first = group.runs[0] if group.runs else None
            color = run_color(self.workspace.run_index(first)) if first else None
            self.group_bands.set_group(key, f"{group.name} (mean, min–max)", [r.history for r in group.runs], color)
        else:
            self.group_bands.remove_group(key)
