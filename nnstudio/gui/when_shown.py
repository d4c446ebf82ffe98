"""Work a view does only where it can be seen: a hidden tab's panel costs the run nothing.

A panel on a tab that is not shown still hears every ``epoch_finished`` and ``model_changed``; redrawing
for them there takes GUI-thread time (and the GIL) from the training thread for pixels nobody sees.
:func:`behind_a_tab` says when to hold such work back; :class:`WhenShown` wraps a slot so that, while
its widget is behind another tab, only the latest call is kept and made once the widget is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget


def behind_a_tab(widget: QWidget) -> bool:
    """``widget``'s window is on screen but ``widget`` is not (another tab or page is shown).

    A widget that was never placed in a shown window (a view built on its own in a test) counts as
    seen: it does its work at once."""
    return not widget.isVisible() and widget.window().isVisible()


class WhenShown(QObject):
    """``slot(*args)`` now if ``widget`` can be seen, else (the latest call only) when it is next shown.

    For slots that show a state (``set_network(network)``), not for ones that add to what is shown."""

    def __init__(self, widget: QWidget, slot: Callable[..., object]) -> None:
        super().__init__(widget)
        self._widget, self._slot = widget, slot
        self._pending: tuple | None = None
        widget.installEventFilter(self)

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def __call__(self, *args: object) -> None:
        if behind_a_tab(self._widget):
            self._pending = args
            return
        self._pending = None
        self._slot(*args)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self._widget and event.type() == QEvent.Type.Show and self._pending is not None:
            args, self._pending = self._pending, None
            self._slot(*args)
        return False
