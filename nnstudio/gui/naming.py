"""Names for automation and accessibility: every control and panel gets both, in one call."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def named(widget: QWidget, object_name: str, accessible_name: str, description: str = "") -> QWidget:
    """Give ``widget`` an object name (for tests and automation) and an accessible name (for screen
    readers), and a description when ``description`` is given (else its tooltip, if any); returns it."""
    widget.setObjectName(object_name)
    widget.setAccessibleName(accessible_name)
    if description or widget.toolTip():
        widget.setAccessibleDescription(description or widget.toolTip())
    return widget
