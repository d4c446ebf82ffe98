"""A section of the form that opens and closes under a header button ("▸ Optimiser details")."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSizePolicy, QToolButton, QVBoxLayout, QWidget

from nnstudio.gui.naming import named


class Collapsible(QWidget):
    """``content`` under a checkable header button named ``object_name``; closed unless ``expanded``."""

    toggled = Signal(bool)  # opened (True) or closed

    def __init__(self, title: str, object_name: str, content: QWidget, *, expanded: bool = False,
                 tip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = QToolButton()
        self.header.setText(title)
        self.header.setCheckable(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setAutoRaise(True)
        self.header.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.header.setToolTip(tip or f"Show or hide the {title.lower()}")
        named(self.header, object_name, title)
        self.content = content
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(content)
        self.header.toggled.connect(self._show)
        self.header.setChecked(expanded)
        self._show(expanded)

    @property
    def expanded(self) -> bool:
        return self.header.isChecked()

    def set_expanded(self, expanded: bool) -> None:
        self.header.setChecked(expanded)

    def _show(self, expanded: bool) -> None:
        self.header.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.content.setVisible(expanded)
        self.toggled.emit(expanded)
