"""The About box: what nnstudio is, and the versions of everything it runs on."""

from __future__ import annotations

import html
import platform

import numpy as np
import PySide6
import pyqtgraph
from PySide6.QtCore import Qt, qVersion
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
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
