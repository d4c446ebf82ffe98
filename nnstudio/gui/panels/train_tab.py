"""The Train tab: the form on the left; the live plots over the runs list on the right."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QScrollArea, QSplitter, QVBoxLayout, QWidget

from nnstudio.gui.panels.plots import PlotsPanel
from nnstudio.gui.panels.runs_list import RunsListPanel
from nnstudio.gui.panels.training_form import TrainingForm

DEFAULT_COLUMNS = (330, 720)  # the form, the plots and runs: the splitter's widths at 1400 px
DEFAULT_RUNS_HEIGHT = 165  # the runs list under the plots: a header, four rows and its buttons


class TrainTab(QWidget):
    """Places :class:`TrainingForm`, :class:`PlotsPanel` and :class:`RunsListPanel`; ``splitters`` are
    remembered by the window (by object name)."""

    def __init__(self, workspace, session, actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainPanel")
        self.setAccessibleName("Train")
        self.form = TrainingForm(workspace, session, actions, actions.form)
        self.controls = actions.form
        self.plots = PlotsPanel(workspace, session)
        self.runs_panel = RunsListPanel(workspace)
        for name in ("start_button", "pause_button", "stop_button", "one_more_button", "reset_button",
                     "start_reason"):
            setattr(self, name, getattr(self.form, name))

        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.form.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        runs_box = QGroupBox("Runs")
        runs_layout = QVBoxLayout(runs_box)
        runs_layout.setContentsMargins(6, 4, 6, 6)
        runs_layout.addWidget(self.runs_panel)
        self.centre_splitter = QSplitter(Qt.Orientation.Vertical)
        self.centre_splitter.setObjectName("plotsSplitter")
        self.centre_splitter.addWidget(self.plots)
        self.centre_splitter.addWidget(runs_box)
        self.centre_splitter.setStretchFactor(0, 1)  # a taller window is for the plots
        self.centre_splitter.setStretchFactor(1, 0)
        self.centre_splitter.setCollapsible(0, False)

        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.setObjectName("columnsSplitter")
        self.main_splitter.addWidget(scroll)
        self.main_splitter.addWidget(self.centre_splitter)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)  # a wider window is for the plots too
        self.main_splitter.setCollapsible(1, False)
        self.main_splitter.setSizes(list(DEFAULT_COLUMNS))
        self.centre_splitter.setSizes([700, DEFAULT_RUNS_HEIGHT])
        self.splitters = (self.main_splitter, self.centre_splitter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.main_splitter)
