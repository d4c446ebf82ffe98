"""One kind of background computation for a view, where only the latest request matters.

:class:`LatestJob` runs a generator function on the generic :class:`~nnstudio.gui.worker.Worker`.
A new request cancels the running job (it stops at its next yield) and starts once that job
has ended, so a view refreshed after every epoch never piles up threads and never shows a stale
result: the signals carry only the current request's values.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot
from threadpoolctl import ThreadpoolController

from nnstudio.gui.worker import Worker, is_running, join


# CPU seconds each kind of job has spent on its threads in this process, by job name (what a
# benchmark reads to say what the views' background work costs).
CPU_SECONDS: dict[str, float] = {}
RUNS: dict[str, int] = {}  # and how many jobs of each name ran (to the end or cancelled)
_COUNTING = threading.Lock()  # jobs of several LatestJobs end on their own threads at once


# How much lower than the window's the OS priority (nice) of a heavy view's coalesced jobs is (the
# robustness curves, the layer map, refreshed after every epoch of a run): they compute on the CPU the
# training thread and the window leave.
BACKGROUND_NICE = 10


_blas: ThreadpoolController | None = None


def one_blas_thread() -> None:
    """Limit BLAS to one thread. The controller that finds the BLAS libraries is made once: making one
    scans every loaded library, ~1.5 ms of Python (holding the GIL) for each job otherwise."""
    global _blas
    if _blas is None:
        _blas = ThreadpoolController()
    _blas.limit(limits=1)


def collapsed(widget) -> bool:
    """Whether ``widget`` is on screen but takes no room (its splitter section was dragged shut): a view
    that computes for what it shows computes nothing then, and catches up when it is opened again."""
    return widget.isVisible() and (widget.width() <= 0 or widget.height() <= 0)


def lower_priority(nice: int) -> int:
    """Lower the calling thread's OS scheduling priority by ``nice`` (Linux: per thread; elsewhere, or
    if the OS refuses, nothing happens); returns the thread's nice value now."""
    if not nice or not hasattr(os, "setpriority"):
        return 0
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
        return os.getpriority(os.PRIO_PROCESS, tid)
    except OSError:
        return 0


def _cancellable(make: Callable[[], Iterator], cancel: threading.Event, serial: int, name: str = "",
                 nice: int = 0, spent: list[float] | None = None) -> Iterator:
    """``make()``'s values as ``(serial, value)``, ending early once ``cancel`` is set; the thread runs
    ``nice`` steps below normal priority (each job has a thread of its own). ``spent[0]`` receives the
    CPU seconds the job took."""
    started = time.thread_time()  # this runs on the job's own thread
    lower_priority(nice)
    # One BLAS thread, as the training job uses: on two cores more would fight the training thread and
    # the GUI. Set for good, not in a ``with`` block: BLAS's thread count is one for the whole process,
    # and a block ending here would restore two threads under a training run that is still going.
    one_blas_thread()
    generator = make()
    try:
        while True:
            if cancel.is_set():
                return serial, None
            try:
                value = next(generator)
            except StopIteration as stop:
                return serial, stop.value
            if value is not None:  # None: only a point where the job may stop; nothing crosses threads
                yield serial, value
    finally:
        generator.close()
        cpu = time.thread_time() - started
        if spent is not None:
            spent[0] = cpu
        with _COUNTING:
            CPU_SECONDS[name] = CPU_SECONDS.get(name, 0.0) + cpu
            RUNS[name] = RUNS.get(name, 0) + 1


class LatestJob(QObject):
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, name: str, parent: QObject | None = None, *, duty: float = 1.0, nice: int = 0) -> None:
        super().__init__(parent)
        self.name = name
        # The budget of coalesced requests (a view refreshed after every epoch): after a job that took
        # t seconds of CPU the next one rests t * (1 / duty - 1), so such jobs keep a core busy at most
        # ``duty`` of the time and leave the rest to the training thread and the window.
        self.duty = float(duty)
        self.nice = nice  # coalesced requests run this much below normal OS priority
        self._cancel: threading.Event | None = None
        self._thread: QThread | None = None
        self._worker: Worker | None = None
        self._next: Callable[[], Iterator] | None = None
        self._next_coalesced = False
        self._coalesced = False  # the job running (or about to) was a coalesced request
        self._serial = 0
        self._started_at = 0.0
        self._spent = [0.0]  # the CPU seconds of the last job, written by its thread before it ends
        self._rest_until = 0.0
        self._rest = QTimer(self)
        self._rest.setSingleShot(True)
        self._rest.timeout.connect(self._start_next)

    @property
    def busy(self) -> bool:
        return self._worker is not None or self._next is not None

    @property
    def running(self) -> bool:
        """A job is running now (not only waiting or resting)."""
        return self._worker is not None

    def request(self, make: Callable[[], Iterator], *, coalesce: bool = False) -> None:
        """Run ``make()`` (a generator) as soon as the running job, if any, has stopped.

        ``coalesce``: let the running job finish (its result is shown) instead of cancelling it, and
        start ``make`` then; a request still waiting is dropped for this newer one. A view refreshed
        after every epoch uses it, so that a job longer than an epoch still ends and shows something.
        Such a job's thread runs ``nice`` steps below normal OS priority (:data:`BACKGROUND_NICE` for
        the heavy views): on two cores the training thread and the window keep theirs."""
        self._next, self._next_coalesced = make, coalesce
        if self._worker is not None:
            if not coalesce:
                self._cancel.set()
            return
        rest_ms = round((self._rest_until - time.monotonic()) * 1000)
        if coalesce and rest_ms > 0:
            if not self._rest.isActive():
                self._rest.start(rest_ms)
        else:
            self._rest.stop()
            self._start_next()

    def cancel(self) -> None:
        """Stop the running job at its next yield and forget any waiting one."""
        self._next = None
        self._rest.stop()
        if self._cancel is not None:
            self._cancel.set()
        if self._worker is None:
            self.busy_changed.emit(False)

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Cancel and wait for the thread to end (closing)."""
        self.cancel()
        return join(self._thread, timeout_ms) if is_running(self._thread) else True

    def _start_next(self) -> None:
        make, self._next = self._next, None
        self._coalesced = self._next_coalesced
        if make is None:
            self.busy_changed.emit(False)
            return
        self._serial += 1
        self._started_at = time.monotonic()
        serial = self._serial
        cancel = self._cancel = threading.Event()
        nice = self.nice if self._coalesced else 0
        spent = self._spent = [-1.0]
        worker = self._worker = Worker(lambda: _cancellable(make, cancel, serial, self.name, nice, spent),
                                       name=self.name)
        worker.yielded.connect(self._on_yielded)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self.busy_changed.emit(True)
        self._thread = worker.start()

    def _current(self, serial: int) -> bool:
        return serial == self._serial and self._cancel is not None and not self._cancel.is_set()

    @Slot(object)
    def _on_yielded(self, item: tuple) -> None:
        if self._current(item[0]):
            self.yielded.emit(item[1])

    @Slot(object)
    def _on_returned(self, item: tuple) -> None:
        if self._current(item[0]):
            self.returned.emit(item[1])

    @Slot(str)
    def _on_errored(self, message: str) -> None:
        if self._current(self._serial):
            self.errored.emit(message)

    @Slot()
    def _on_finished(self) -> None:
        join(self._thread)
        self._worker = None
        now = time.monotonic()
        # The rest follows the CPU the job took (its wall time if unknown): a low-priority job that
        # waited long for a busy CPU took little of it, and need not skip the next epochs.
        busy = self._spent[0] if self._spent[0] >= 0 else now - self._started_at
        self._rest_until = now + busy * (1.0 / self.duty - 1.0)
        rest_ms = round((self._rest_until - now) * 1000)
        if self._next is not None and self._next_coalesced and rest_ms > 0:
            self._rest.start(rest_ms)  # a refresh waiting: it starts once the job has rested
        else:
            self._start_next()
