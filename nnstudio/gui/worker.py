"""One generic worker for every long job, and the registry of the threads that run them.

A job is a generator function: :class:`Worker` runs it on a fresh QThread and emits
``started``, then ``yielded(value)`` for each value it yields, ``returned(value)`` with
its return value, or ``errored(message)`` if it raises, and always ``finished`` last.
The pattern is napari's and superqt's ``GeneratorWorker``. Only plain data may be
yielded (frozen dataclasses, array copies): the receiver keeps it on the GUI thread.
Connect the signals to methods of QObjects that live on the GUI thread (Qt queues those to
it); a lambda or a plain function would run on the worker's own thread.
A job is steered from the GUI thread through its own thread-safe objects (a trainer's
``pause``/``request_stop``, a ``threading.Event``), never through the worker.

Lifetime: the worker is moved to its thread, its ``run`` slot is invoked there (queued),
and ``finished`` quits the thread directly from the worker's own thread (so a GUI thread
blocked in :func:`join` cannot deadlock). Finished threads are not freed with
``deleteLater`` (a C++ deletion racing a Python reference crashes PySide): this module
holds each thread, and through it its worker, until it has finished, then lets go of it
on the GUI thread. Tests check :func:`running_threads` after each test: none may be left.
"""

from __future__ import annotations

import atexit
import logging
import weakref
from collections.abc import Callable, Iterator

from PySide6.QtCore import Q_ARG, QMetaObject, QObject, Qt, QThread, Signal, Slot

log = logging.getLogger(__name__)

live_threads: "weakref.WeakSet[QThread]" = weakref.WeakSet()  # every thread not yet freed
_held: set[QThread] = set()  # strong references until a thread has finished


class Worker(QObject):
    """Runs ``job()`` (a generator function, no arguments) on its own thread; see the module doc."""

    started = Signal()
    yielded = Signal(object)  # each value the generator yields, in order
    returned = Signal(object)  # the generator's return value (None if it returns nothing)
    errored = Signal(str)  # why the job broke, in plain words (the log keeps the traceback)
    finished = Signal()  # the job is over, however it ended (quits the thread)

    def __init__(self, job: Callable[[], Iterator], name: str = "job") -> None:
        super().__init__()
        self.job = job
        self.name = name

    def start(self) -> QThread:
        """Run the job on a new thread; returns the thread (see :func:`join`)."""
        return start_in_thread(self, "run")

    @Slot()
    def run(self) -> None:
        self.started.emit()
        try:
            generator = self.job()
            while True:
                try:
                    value = next(generator)
                except StopIteration as stop:
                    self.returned.emit(stop.value)
                    break
                self.yielded.emit(value)
        except Exception as exc:  # the receiver shows the reason; the log keeps the traceback
            log.exception("%s failed", self.name)
            if isinstance(exc, MemoryError):  # NumPy's says "Unable to allocate 1.2 GiB for an array..."
                self.errored.emit(f"Not enough memory: {exc or 'an allocation failed'}")
            else:
                self.errored.emit(str(exc) or type(exc).__name__)
        finally:
            self.finished.emit()


def start_in_thread(worker: QObject, slot: str, *args: tuple[type, object]) -> QThread:
    """Move ``worker`` to a new thread, start it, and call ``worker.<slot>(*args)`` there.

    ``worker`` must have a ``finished`` signal, emitted at the end of its job; ``args`` are
    ``(type, value)`` pairs, e.g. ``(int, 3)``. Returns the running thread.
    """
    release_finished()
    thread = QThread()
    thread.setObjectName(f"{getattr(worker, 'name', type(worker).__name__)}.{slot}")
    thread.worker = worker  # the worker lives as long as its thread
    worker.moveToThread(thread)
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    _held.add(thread)
    live_threads.add(thread)
    thread.start()
    QMetaObject.invokeMethod(worker, slot, Qt.ConnectionType.QueuedConnection,
                             *(Q_ARG(kind, value) for kind, value in args))
    return thread


def release_finished() -> None:
    """Let go of the threads that have finished (call on the GUI thread)."""
    for thread in [t for t in _held if t.isFinished()]:
        thread.wait()
        _held.discard(thread)


def is_running(thread: QThread | None) -> bool:
    return thread is not None and thread.isRunning()


def join(thread: QThread | None, timeout_ms: int = 10_000) -> bool:
    """Wait for ``thread`` to finish; True when it has."""
    if thread is None:
        return True
    finished = thread.wait(timeout_ms)
    release_finished()
    return finished


def running_threads() -> list[QThread]:
    """The worker threads that are still running."""
    release_finished()
    return [thread for thread in list(live_threads) if thread.isRunning()]


@atexit.register
def _wait_at_exit() -> None:
    """A QThread still running when Python exits aborts the process: wait for any left (a last resort;
    the window waits for its threads before it closes)."""
    for thread in list(live_threads):
        if thread.isRunning():
            thread.wait()
