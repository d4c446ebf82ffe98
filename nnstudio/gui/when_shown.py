"""Work a view does only where it can be seen: a hidden tab's panel costs the run nothing.

A panel on a tab that is not shown still hears every ``epoch_finished`` and ``model_changed``; redrawing
for them there takes GUI-thread time (and the GIL) from the training thread for pixels nobody sees.
:func:`behind_a_tab` says when to hold such work back; :class:`WhenShown` wraps a slot so that, while
its widget is behind another tab, only the latest call is kept and made once the widget is shown;
:class:`Redraw` runs a view's redraw at once or once per turn of the event loop, and only where seen;
:class:`LazyPage` builds a tab's panel only when it is first needed.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget


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


class Redraw(QObject):
    """A view's ``refresh()``, run only while ``widget`` can be seen: :meth:`request` runs it at once
    (``now``: a new sketch, so the view lands in the same window repaint as the pad) or once at the end
    of this turn of the event loop however many requests come (model changes come in bursts: the model
    in use, then the lab's edit). Requested while hidden, it runs when the widget is next shown."""

    def __init__(self, widget: QWidget, refresh: Callable[[], object]) -> None:
        super().__init__(widget)
        self._widget, self._refresh = widget, refresh
        self.owed = False  # requested while hidden
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.run)
        widget.installEventFilter(self)

    def request(self, *, now: bool = False) -> None:
        if not self._widget.isVisible():
            self.owed = True  # a hidden tab costs the sketch nothing
        elif now:
            self.run()
        else:
            self._timer.start()

    def run(self) -> None:
        self._timer.stop()  # up to date now
        if not self._widget.isVisible():
            self.owed = True
            return
        self.owed = False
        self._refresh()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self._widget and event.type() == QEvent.Type.Show and self.owed:
            self.request()
        return False


class LazyPage(QWidget):
    """A tab's page whose panel is built the first time it is needed: when the page is shown, or when
    :meth:`build` is called (the window calls it before the first run starts and when a run is selected,
    so a panel that follows runs never misses one; the app also calls it once idle after start-up).
    Until then the page is an empty widget: a window opens without paying for views not looked at yet."""

    def __init__(self, make: Callable[[], QWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._make = make
        self._panel: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        return self._panel is not None

    def panel(self) -> QWidget:
        """The page's panel, built now if it was not yet."""
        return self.build()

    def build(self, *_: object) -> QWidget:
        if self._panel is None:
            self._panel, self._make = self._make(), None
            self._layout.addWidget(self._panel)
            if self.isVisible():
                self._panel.show()  # now, not once the event loop turns (as a layout would)
        return self._panel

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.build()
        super().showEvent(event)
