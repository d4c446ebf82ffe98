"""One QThread per job, and a registry of the threads still alive.

The lifetime follows napari and superqt: a worker QObject is moved to a fresh QThread,
its job slot is invoked there (queued), the worker quits its own thread when the job is
done, and both are deleted with ``deleteLater`` once the thread has finished. The owner
keeps a reference and may :func:`join` the thread (on window close, say). Tests check
:func:`running_threads` after every test: none may be left running.
"""

from __future__ import annotations

import weakref

import shiboken6
from PySide6.QtCore import Q_ARG, QMetaObject, QObject, Qt, QThread

live_threads: "weakref.WeakSet[QThread]" = weakref.WeakSet()


def start_in_thread(worker: QObject, slot: str, *args: tuple[type, object]) -> QThread:
    """Move ``worker`` to a new thread, start it, and call ``worker.<slot>(*args)`` there.

    ``worker`` must have a ``done`` signal, emitted at the end of its job; ``args`` are
    ``(type, value)`` pairs, e.g. ``(int, 3)``. Returns the running thread.
    """
    thread = QThread()
    thread.setObjectName(f"{type(worker).__name__}.{slot}")
    worker.moveToThread(thread)
    # Direct: quit from the worker's own thread, so a GUI thread blocked in join() cannot deadlock.
    worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.finished.connect(worker.deleteLater)
    thread.finished.connect(thread.deleteLater)
    live_threads.add(thread)
    thread.start()
    QMetaObject.invokeMethod(worker, slot, Qt.ConnectionType.QueuedConnection,
                             *(Q_ARG(kind, value) for kind, value in args))
    return thread


def is_running(thread: QThread | None) -> bool:
    """Whether ``thread`` still exists and runs (a finished thread deletes itself)."""
    return thread is not None and shiboken6.isValid(thread) and thread.isRunning()


def join(thread: QThread | None, timeout_ms: int = 10_000) -> bool:
    """Wait for ``thread`` to finish; True when it has (or is already gone)."""
    if not is_running(thread):
        return True
    return thread.wait(timeout_ms)


def running_threads() -> list[QThread]:
    """The worker threads that are still running."""
    return [thread for thread in list(live_threads) if is_running(thread)]
