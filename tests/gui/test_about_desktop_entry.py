"""The About box adds nnstudio to the applications menu, and takes it out again."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from nnstudio.desktop_entry import Locations
from nnstudio.gui.about import show_about


def click_in_about_box(qtbot, parent: QWidget, expected_text: str) -> QMessageBox:
    about = show_about(parent)
    button = about.findChild(QPushButton, "desktopEntryButton")
    assert button is not None and button.text() == expected_text and button.accessibleName() == expected_text
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: parent.findChild(QMessageBox, "desktopEntryBox") is not None, timeout=3000)
    box = parent.findChild(QMessageBox, "desktopEntryBox")
    box.setObjectName("desktopEntryBoxSeen")  # so the next click finds its own box
    return box


def test_about_box_adds_and_removes_the_desktop_entry(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    where = Locations(tmp_path / "share")
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()

    box = click_in_about_box(qtbot, parent, "Add to applications menu")
    assert all(path.is_file() for path in where.files)
    assert "applications menu now" in box.text() and str(where.entry) in box.text()
    box.close()

    box = click_in_about_box(qtbot, parent, "Remove from applications menu")
    assert not any(path.exists() for path in where.files)
    assert "no longer in the applications menu" in box.text()
    box.close()
