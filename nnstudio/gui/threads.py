"""One QThread per job, and a registry of the threads still alive.

The lifetime follows napari and superqt: a worker QObject is moved to a fresh QThread,
its job slot is invoked there (queued), and the worker quits its own thread when the job
is done. The owner may :func:`join` a thread (on window close, say).

Unlike the C++ idiom, finished threads are not freed with ``deleteLater``: their Python
wrappers own them, and a C++ deletion racing a Python reference crashes PySide. Instead
this module holds each thread (and, through it, its worker) until the thread has finished,
then lets go of it on the GUI thread, where Python frees both. So a caller may drop its
references at any time, even while the job runs. Tests check :func:`running_threads`
after every test: none may be left running.
"""

from __future__ import annotations

import atexit
import weakref

from PySide6.QtCore import Q_ARG, QMetaObject, QObject, Qt, QThread

live_threads: "weakref.WeakSet[QThread]" = weakref.WeakSet()  # every thread not yet freed
_held: set[QThread] = set()  # strong references until a thread has finished


def start_in_thread(worker: QObject, slot: str, *args: tuple[type, object]) -> QThread:
    """Move ``worker`` to a new thread, start it, and call ``worker.<slot>(*args)`` there.

    ``worker`` must have a ``done`` signal, emitted at the end of its job; ``args`` are
    ``(type, value)`` pairs, e.g. ``(int, 3)``. Returns the running thread.
    """
    release_finished()
    thread = QThread()
    thread.setObjectName(f"{type(worker).__name__}.{slot}")
    thread.worker = worker  # the worker lives as long as its thread
    worker.moveToThread(thread)
    # Direct: quit from the worker's own thread, so a GUI thread blocked in join() cannot deadlock.
    worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
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
