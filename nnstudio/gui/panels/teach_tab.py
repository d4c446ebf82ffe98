"""The Teach tab: tools that answer "how much does this setting matter, and how would I have known?".

Each tool is a panel placed by one line in :data:`TEACH_PANELS`, shown as a sub-tab.
"""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QTabWidget, QVBoxLayout, QWidget

from nnstudio.gui.panels.lr_finder import LrFinderPanel
from nnstudio.gui.panels.overfit_lab import OverfitLabPanel
from nnstudio.gui.panels.patience_replay import PatienceReplayPanel
from nnstudio.gui.panels.personal_digits import PersonalDigitsPanel
from nnstudio.gui.panels.sweep import SweepPanel

# (title, how to build the panel from the workspace, the session and the run actions (with their form))
TEACH_PANELS = (
    ("Learning rate", lambda workspace, session, actions: LrFinderPanel(workspace, actions.form)),
    ("Overfitting", lambda workspace, session, actions: OverfitLabPanel(workspace, session, actions)),
    ("Patience", lambda workspace, session, actions: PatienceReplayPanel(workspace, session)),
    ("My handwriting", lambda workspace, session, actions: PersonalDigitsPanel(workspace, session)),
    ("Sweeps", lambda workspace, session, actions: SweepPanel(workspace, session, actions.form)),
)


class TeachTab(QWidget):
    """The teaching tools as sub-tabs; ``panels`` maps each panel's object name to it."""

    def __init__(self, workspace, session, actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("teachPanel")
        self.setAccessibleName("Teach")
        self.tabs = QTabWidget()
        self.tabs.setObjectName("teachTabs")
        self.tabs.setAccessibleName("Teaching tools")
        self.tabs.setDocumentMode(True)
        self.panels: dict[str, QWidget] = {}
        self._pages: dict[str, QScrollArea] = {}
        for title, make in TEACH_PANELS:
            panel = make(workspace, session, actions)
            page = QScrollArea()  # a narrow window scrolls a panel rather than squeezing the sketch dock
            page.setWidget(panel)
            page.setWidgetResizable(True)
            page.setFrameShape(QScrollArea.Shape.NoFrame)
            self.panels[panel.objectName()] = panel
            self._pages[panel.objectName()] = page
            self.tabs.addTab(page, title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def show_panel(self, object_name: str) -> QWidget:
        self.tabs.setCurrentWidget(self._pages[object_name])
        return self.panels[object_name]

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Cancel the panels' background jobs and wait for them."""
        return all(panel.shutdown(timeout_ms) for panel in self.panels.values() if hasattr(panel, "shutdown"))
