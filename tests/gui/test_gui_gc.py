"""Cyclic garbage is freed on the GUI thread, never on a worker thread that happens to allocate: a Qt
object destroyed off the GUI thread can deadlock against it."""

from __future__ import annotations

import gc
import threading
import weakref

from nnstudio.gui.gui_gc import GuiThreadCollector


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_worker_that_allocates_never_frees_the_gui_threads_cycles(qtbot, gc_on_the_gui_thread):
    freed_on = []
    gc.collect()
    cycle = Cycle()
    weakref.finalize(cycle, lambda: freed_on.append(threading.get_ident()))
    del cycle
    # Thousands of new containers kept: automatic collection would run on this thread, freeing the cycle.
    kept = []
    worker = threading.Thread(target=lambda: kept.extend([] for _ in range(20 * gc.get_threshold()[0])))
    worker.start()
    worker.join()
    assert freed_on == []
    qtbot.waitUntil(lambda: bool(freed_on), timeout=5000)  # the collector's next turn, on this thread
    assert freed_on == [threading.get_ident()]


def test_the_collector_collects_by_the_usual_thresholds_and_gives_collection_back(qtbot, qapp):
    assert gc.isenabled() is False  # the GUI tests run as the app does
    collector = GuiThreadCollector(interval_ms=10, parent=qapp)
    gc.collect()
    junk = [[] for _ in range(2 * collector.threshold[0])]
    qtbot.waitUntil(lambda: gc.get_count()[0] < collector.threshold[0], timeout=5000)
    del junk
    collector.stop()
    assert gc.isenabled()
    gc.disable()  # as it was for this test (the fixture's own collector turns it back on at the end)
