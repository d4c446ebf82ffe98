"""Helper processes that distort a prefetcher's chunks, each with its own interpreter and GIL.

Helper *threads* share the trainer's GIL. A chunk is about 20 NumPy calls per block of 256
images, and each call's return needs the GIL back, while the trainer's thread hands the GIL over
at each NumPy call of its own (about 40 a batch): the two kept waiting on each other. With one
helper thread, the trainer's epoch took +55% here (a run of 6 epochs, median), with one helper
process +31%, and a distortion loop in an unrelated process cost it nothing.

Each helper is ``python -c`` running :func:`serve` (not :mod:`multiprocessing`, whose ``spawn``
runs the parent's main script again in every child: a script without ``if __name__ ==
"__main__":`` would train a second network there). Tasks and answers travel as pickles over the
helper's stdin and stdout: a chunk's key, strengths and image indices, a few kilobytes. The
training images are written once into a folder in memory (``/dev/shm`` where the system has one),
each chunk buffer is a file there, and every helper maps them. A helper's
:class:`~nnstudio.core.augment.Augmenter` has the prefetcher's chunk seed, so a chunk comes out
the same in any process. Helpers call no BLAS (one BLAS thread each all the same), ignore Ctrl+C
(the parent's to handle) and end when their stdin closes: :meth:`HelperProcesses.close`, or the
parent's end. A task is handed to a helper only when it is idle, so the others can still be
cancelled; a helper that dies fails its task (:class:`HelperError`), and the prefetcher goes on
with threads.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import deque
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from nnstudio.core.augment import Augmentation, Augmenter
from nnstudio.core.shared_data import scratch_root

#: Each helper's variables: one thread for every BLAS NumPy may load.
ONE_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}


class HelperError(RuntimeError):
    """A helper process failed or ended before its task was done."""


class HelperProcesses:
    """``count`` processes distorting chunks for ``augmenter``'s prefetcher, from ``images``."""

    def __init__(self, count: int, augmenter: Augmenter, images: np.ndarray) -> None:
        if getattr(sys, "frozen", False) or not sys.executable:  # no interpreter to run them: threads
            raise OSError("helper processes need a Python interpreter")
        remove_orphans()
        self.folder = Path(tempfile.mkdtemp(prefix=f"nnstudio-chunks-{os.getpid()}-", dir=scratch_root()))
        self._buffers = 0
        self._lock = threading.Lock()
        self._idle: list[subprocess.Popen] = []
        self._waiting: deque[tuple[Future, tuple]] = deque()
        self._helpers: list[tuple[subprocess.Popen, threading.Thread]] = []
        self._task_of: dict[subprocess.Popen, Future] = {}  # each busy helper's task
        self._ended: set[subprocess.Popen] = set()
        try:
            np.save(self.folder / "images.npy", np.ascontiguousarray(images))  # no room: OSError (threads then)
            start = (str(self.folder), augmenter.image_shape, augmenter.chunk_seed, augmenter.pool_size)
            env = {**os.environ, **ONE_THREAD, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            for _ in range(max(1, count)):
                helper = subprocess.Popen([sys.executable, "-c", "from nnstudio.core.helper_processes import serve; serve()"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
                pickle.dump(start, helper.stdin)
                helper.stdin.flush()
                reader = threading.Thread(target=self._answers, args=(helper,), name="nnstudio-helper-answers",
                                          daemon=True)
                self._helpers.append((helper, reader))
                self._idle.append(helper)
                reader.start()
        except BaseException:
            self.close()
            raise

    def buffer(self, shape: tuple[int, int]) -> tuple[np.ndarray, str]:
        """A new uint8 chunk buffer the helpers can write, and its name for :meth:`submit`."""
        self._buffers += 1
        name = f"chunk-{self._buffers}.u8"
        with open(self.folder / name, "wb") as file:
            reserve = getattr(os, "posix_fallocate", None)
            if reserve is not None:  # no room in memory: OSError now, not a crash (SIGBUS) when written
                reserve(file.fileno(), 0, shape[0] * shape[1])
            else:
                file.truncate(shape[0] * shape[1])
        # a plain array over the mapping (a memmap would carry its subclass into every product)
        return np.asarray(np.memmap(self.folder / name, np.uint8, mode="r+", shape=shape)), name

    def submit(self, rows: np.ndarray, buffer: str, index: np.ndarray, epoch: int, first: int,
               settings: Augmentation, *, pooled: bool, warps: int) -> Future:
        """Distort the images at ``index`` as the chunk ``(epoch, first)`` into ``rows``, the buffer
        named ``buffer``."""
        return self._submit(("chunk", buffer, rows.shape, np.asarray(index), epoch, first, settings, pooled, warps))

    def draw_warps(self, settings: Augmentation, epoch: int, warps: int) -> Future:
        """Have a helper draw an epoch's pool of warps before its chunks come."""
        return self._submit(("warps", settings, epoch, warps))

    def _submit(self, task: tuple) -> Future:
        future: Future = Future()
        with self._lock:
            self._waiting.append((future, task))
            self._hand_out()
        return future

    def _hand_out(self) -> None:
        """Give waiting tasks to idle helpers, or fail them if every helper has ended (under the
        lock); cancelled tasks are skipped."""
        while self._waiting and (self._idle or len(self._ended) == len(self._helpers)):
            future, task = self._waiting.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            if not self._idle:
                future.set_exception(HelperError("every helper process has ended"))
                continue
            helper = self._idle.pop()
            try:
                pickle.dump(task, helper.stdin)
                helper.stdin.flush()
            except (OSError, ValueError):  # it has ended (its reader will see it too)
                self._ended.add(helper)
                future.set_exception(HelperError("a helper process ended"))
                continue
            self._task_of[helper] = future

    def _answers(self, helper: subprocess.Popen) -> None:
        """Each answer of ``helper`` settles its task, until it ends (its reader thread)."""
        while True:
            try:
                answer = pickle.load(helper.stdout)
                ended = False
            except Exception:  # its end, or its output cut short
                answer, ended = HelperError(f"a helper process ended (exit status {helper.wait()})"), True
            with self._lock:
                future = self._task_of.pop(helper, None)
                if ended:
                    self._ended.add(helper)
                    if helper in self._idle:
                        self._idle.remove(helper)
                else:
                    self._idle.append(helper)
                self._hand_out()
            if future is not None:
                if answer is None:
                    future.set_result(None)
                else:
                    future.set_exception(answer if ended else HelperError(answer))
            if ended:
                return

    def close(self) -> None:
        """Cancel the work not begun, end the helpers (each finishes its task first) and remove the
        folder; buffers still mapped here stay readable until they are let go."""
        with self._lock:
            while self._waiting:
                self._waiting.popleft()[0].cancel()
        try:
            for helper, _ in self._helpers:
                try:
                    helper.stdin.close()  # its signal to end
                except OSError:
                    pass
            for helper, reader in self._helpers:
                try:
                    helper.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    helper.kill()
                    helper.wait()
                reader.join(timeout=5)  # at the interpreter's exit a daemon thread no longer runs
                helper.stdout.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def remove_orphans() -> None:
    """Remove the chunk folders of processes that no longer run (killed before they could). POSIX
    only: elsewhere ``os.kill(pid, 0)`` does not ask whether a process runs (Windows ends it)."""
    if os.name != "posix":
        return
    for folder in Path(scratch_root() or tempfile.gettempdir()).glob("nnstudio-chunks-*-*"):
        try:
            os.kill(int(folder.name.split("-")[2]), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, OSError):  # not ours to judge (another user's, or not a process id)
            pass


# -- in the helper processes ------------------------------------------------------------------

def serve() -> None:
    """A helper's life: its start-up arguments, then tasks until stdin closes; each answered with
    ``None``, or the error's text."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tasks, answers = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, not into the answers
    sys.stdout = sys.stderr
    folder, image_shape, chunk_seed, pool_size = pickle.load(tasks)
    folder = Path(folder)
    images = np.load(folder / "images.npy", mmap_mode="r")
    augmenter = Augmenter(Augmentation(), image_shape, pool_size=pool_size, chunk_seed=chunk_seed)
    mapped: dict[str, np.ndarray] = {}
    while True:
        try:
            task = pickle.load(tasks)
        except EOFError:
            return
        try:
            if task[0] == "chunk":
                _, buffer, shape, index, epoch, first, settings, pooled, warps = task
                rows = mapped.get(buffer)
                if rows is None:
                    rows = mapped[buffer] = np.asarray(np.memmap(folder / buffer, np.uint8, mode="r+", shape=shape))
                augmenter.distort_chunk(images, index, rows, epoch, first, settings, pooled=pooled, warps=warps)
            else:
                _, settings, epoch, warps = task
                augmenter.warp_pool(settings, epoch, warps)
            answer = None
        except Exception as error:  # the parent's to report
            answer = f"{type(error).__name__}: {error}"
        pickle.dump(answer, answers)
        answers.flush()
