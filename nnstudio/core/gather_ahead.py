"""An epoch's training pixels gathered in shuffled order a few batches ahead, on a helper thread.

A batch's rows lie anywhere in the 42 MB training set, so gathering them waits on main memory
row after row: about 13 µs a batch of 64, a twentieth of the seed network's step. A helper thread
gathers the next batches in chunks of :data:`CHUNK_BATCHES` (one NumPy ``take`` of ~1,000 rows,
which runs without the GIL) while the trainer works through the chunk before; the trainer's
thread then only reads rows that are already in hand. Nothing is random here: the rows are the
epoch's order, so the pixels are the same with the helper or without (``helper=False``: each
chunk gathered in line when first needed).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

#: Batches gathered by one job; :data:`AHEAD` chunks are kept in hand beyond the current one.
CHUNK_BATCHES = 16
AHEAD = 2


class GatherAhead:
    """``take(order, b, size)``: the uint8 rows ``images[order[b*size:(b+1)*size]]``, gathered ahead."""

    def __init__(self, images: np.ndarray, *, helper: bool = True, chunk_batches: int = CHUNK_BATCHES) -> None:
        self.images = images
        self.chunk_batches = max(1, int(chunk_batches))
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="nnstudio-gather") if helper else None
        self._order: np.ndarray | None = None  # the epoch the chunks in hand belong to
        self._size = 0
        self._chunks: dict[int, tuple[np.ndarray, Future | None]] = {}  # chunk number -> rows, job
        self._spare: list[np.ndarray] = []  # buffers of chunks already read

    def take(self, order: np.ndarray, b: int, size: int) -> np.ndarray:
        """Batch ``b`` of the epoch whose shuffled row numbers are ``order``, batches of ``size`` rows."""
        if order is not self._order or size != self._size:
            self._forget()
            if size != self._size:
                self._spare.clear()
            self._order, self._size = order, size
        k, per = divmod(b, self.chunk_batches)
        for old in [c for c in self._chunks if c < k]:  # chunks behind this batch are done with
            self._spare.append(self._settled(old))
        rows, job = self._chunks.get(k) or self._start(k, in_line=True)
        if job is not None:
            job.result()
        self._chunks[k] = (rows, None)
        last = (len(order) - 1) // (self.chunk_batches * size)
        for ahead in range(k + 1, min(k + AHEAD, last) + 1):
            if ahead not in self._chunks:
                self._start(ahead, in_line=self._pool is None)
        return rows[per * size:(per + 1) * size]

    def _start(self, k: int, *, in_line: bool) -> tuple[np.ndarray, Future | None]:
        """Gather chunk ``k`` now (``in_line``) or on the helper; keep it in hand."""
        span = self.chunk_batches * self._size
        index = self._order[k * span:(k + 1) * span]
        buffer = self._spare.pop() if self._spare else np.empty((span, self.images.shape[1]), self.images.dtype)
        rows = buffer[:len(index)]
        if in_line or self._pool is None:
            self.images.take(index, axis=0, out=rows, mode="clip")  # an epoch's order holds no row out of range
            job = None
        else:
            job = self._pool.submit(self.images.take, index, 0, rows, "clip")
        self._chunks[k] = (rows, job)
        return rows, job

    def _settled(self, k: int) -> np.ndarray:
        rows, job = self._chunks.pop(k)
        if job is not None:
            job.result()  # a job still writing its buffer finishes before the buffer is reused
        return rows.base if rows.base is not None else rows

    def _forget(self) -> None:
        """Drop the chunks in hand (a new epoch, or a new batch size), keeping their buffers."""
        for k in list(self._chunks):
            self._spare.append(self._settled(k))

    def close(self) -> None:
        """Wait for the job in hand (a chunk at most) and end the helper thread."""
        if self._pool is not None:
            self._forget()
            self._pool.shutdown(wait=True)
            self._pool = None
