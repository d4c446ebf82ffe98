"""Python's cyclic garbage collection, run on the GUI thread only.

Left automatic, the collector runs on whichever thread happens to allocate when a threshold is
crossed: often the training or listing worker. Objects in reference cycles are then freed on that
thread, and a Qt object among them (a window or plot item of a closed view) destroyed off the GUI
thread can deadlock against it (seen once in CI). :class:`GuiThreadCollector` turns automatic
collection off and collects, by the same generation thresholds, from a timer on the GUI thread (as
pyqtgraph's ``GarbageCollector`` does), so no worker thread ever triggers a collection.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 1000  # cycles wait at most about this long to be freed


class GuiThreadCollector(QObject):
    """Create it on the GUI thread (after the QApplication) and keep it for the app's life."""

    def __init__(self, interval_ms: int = INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("guiThreadCollector")
        self.threshold = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        gc.disable()
        self._timer.start()

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds, as automatic collection would."""
        gc.disable()  # should anything have turned automatic collection back on
        count0, count1, count2 = gc.get_count()
        if count0 > self.threshold[0]:
            generation = 0
            if count1 > self.threshold[1]:
                generation = 2 if count2 > self.threshold[2] else 1
            gc.collect(generation)

    def stop(self, collect: bool = True) -> None:
        """Give collection back to Python (automatic again), first collecting what is left here."""
        self._timer.stop()
        if collect:
            gc.collect()
        gc.enable()
