"""The runs list of the Train tab: every run in the workspace, ticked to compare, double-clicked to use."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QWidget

from nnstudio.core.model_file import ModelFileError
from nnstudio.gui.messages import show_error
from nnstudio.gui.runs_panel import RunsPanel
from nnstudio.gui.colors import run_color


class RunsListPanel(RunsPanel):
    """:class:`RunsPanel` showing ``workspace.runs``; ticks, selection and "use" go to the workspace."""

    def __init__(self, workspace, parent: QWidget | None = None) -> None:
        super().__init__(color_of=run_color, parent=parent)
        self.setObjectName("runsPanel")
        self.setAccessibleName("Runs")
        self.workspace = workspace
        workspace.runs_changed.connect(self._show_runs)
        workspace.comparison_changed.connect(lambda run, shown: self.set_checked(run, shown))
        self.overlay_toggled.connect(workspace.set_compared)
        self.group_toggled.connect(workspace.set_group_compared)
        workspace.group_comparison_changed.connect(self.set_group_checked)
        self.selection_changed.connect(workspace.select_run)
        self.model_requested.connect(self._use_model)
        self._show_runs()

    @Slot()
    def _show_runs(self) -> None:
        self.set_runs(self.workspace.runs)
        self.set_unreadable(self.workspace.unreadable_runs)

    @Slot(object)
    def _use_model(self, run) -> None:
        try:
            self.workspace.use_run_model(run)
        except ModelFileError as exc:
            show_error(self, "Cannot load the model", str(exc))
