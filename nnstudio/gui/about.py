"""The About box: what nnstudio is, and the versions of everything it runs on."""

from __future__ import annotations

import html
import platform

import numpy as np
import PySide6
import pyqtgraph
from PySide6.QtCore import QCoreApplication, Qt, QTimer, qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from nnstudio import __version__


def versions() -> dict[str, str]:
    """Name -> version of nnstudio and the libraries under it."""
    return {
        "nnstudio": __version__,
        "Python": platform.python_version(),
        "NumPy": np.__version__,
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "pyqtgraph": pyqtgraph.__version__,
    }


def about_html() -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>&nbsp;&nbsp;{html.escape(v)}</td></tr>"
                   for k, v in versions().items())
    return (
        f"<h3>nnstudio {html.escape(__version__)}</h3>"
        "<p>A training dashboard for a neural network written from scratch in NumPy.<br>"
        "Turn the learning rate and the patience, and watch what they do.</p>"
        f"<table>{rows}</table>"
    )


def show_about(parent: QWidget) -> QMessageBox:
    """Open the About box (window-modal, not blocking); returns it."""
    box = QMessageBox(parent)
    box.setWindowTitle("About nnstudio")
    box.setObjectName("aboutBox")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_html())
    if parent is not None and not parent.windowIcon().isNull():
        box.setIconPixmap(parent.windowIcon().pixmap(64, 64))
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    add_desktop_entry_button(box, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def add_desktop_entry_button(box: QMessageBox, parent: QWidget) -> None:
    """Offer to add nnstudio to the applications menu, or to take it out when it is there."""
    from nnstudio import desktop_entry

    installed = desktop_entry.is_installed()
    button = box.addButton("Remove from applications menu" if installed else "Add to applications menu",
                           QMessageBox.ButtonRole.ActionRole)
    button.setObjectName("desktopEntryButton")
    button.setAccessibleName(button.text())
    # The box closes on the click: answer once it is gone (a box opened while it is torn down crashes Qt).
    context = parent if parent is not None else QCoreApplication.instance()
    button.clicked.connect(lambda: QTimer.singleShot(0, context, lambda: toggle_desktop_entry(parent, not installed)))


def toggle_desktop_entry(parent: QWidget, install: bool) -> QMessageBox:
    """Install or remove the desktop entry and say what happened in a box (returned)."""
    from nnstudio import desktop_entry
    from nnstudio.gui.messages import show_error

    try:
        if install:
            entry = desktop_entry.install()[-1]
            text = f"nnstudio is in the applications menu now.\n\nThe entry is {entry}."
        else:
            removed = desktop_entry.uninstall()
            text = "nnstudio is no longer in the applications menu." if removed else "nnstudio was not in the menu."
    except OSError as error:
        return show_error(parent, "Applications menu", f"The applications menu entry could not be "
                          f"{'written' if install else 'removed'}: {error}")
    box = QMessageBox(QMessageBox.Icon.Information, "Applications menu", text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("desktopEntryBox")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
