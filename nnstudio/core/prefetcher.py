"""Distorting an epoch's training batches ahead of the trainer, in chunks, on helper processes.

The trainer asks for one batch at a time (:meth:`Prefetcher.take`); the prefetcher distorts the
epoch in **chunks** of about :data:`CHUNK_IMAGES` images (16 batches of 64) and keeps the next
chunks in hand, two per helper, while the trainer works through the current one. The helpers are
processes (:mod:`nnstudio.core.helper_processes`), each with its own GIL: a helper thread's Python
between its NumPy calls kept taking the GIL from the trainer's thread (the trainer's epoch +55%
with a helper thread, +13-31% with a helper process, here). Threads remain (``processes=False``),
and take over if a helper process cannot start or dies. When the queue is empty (an epoch's
start), the trainer distorts a short first chunk (an eighth of one) itself, drawing each image's
warp (the epoch's pool of warps may not be drawn yet), while the helpers start on the next ones;
when the trainer must wait for a helper, it makes a later chunk that no helper has started
meanwhile (work sharing: where distorting costs more than training, both cores distort).

Every chunk draws from its own generator, seeded by the augmenter's chunk seed, the epoch and the
chunk's first batch, and writes only its own buffer; its warps come from the epoch's pool
(:class:`~nnstudio.core.augment.WarpPool`, drawn from a generator of its own; when an epoch's
last chunks are handed out, a helper draws the next epoch's): the pixels are the same for a seed
whatever the number and kind of helpers, or none (``workers=0``: each chunk made in line when
first needed).

A change of strengths takes effect at the next batch: the chunks made with the old ones are
dropped (a helper's chunk in progress is waited for, a few milliseconds) and the rest of the
epoch is distorted afresh from that batch on. :meth:`close` ends the helpers.
"""

from __future__ import annotations

import os
import time
from collections import deque
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from nnstudio.core.augment import WARPS, Augmentation, Augmenter
from nnstudio.core.helper_processes import HelperError, HelperProcesses
from nnstudio.core.thread_choice import usable_cores

#: Images in a chunk of work (rounded to whole batches).
CHUNK_IMAGES = 1024
#: ``threads`` in this environment variable: helper threads unless asked otherwise (the same pixels).
HELPERS_VARIABLE = "NNSTUDIO_DISTORTION_HELPERS"


def distortion_workers(trainer_threads: int = 1, *, app_open: bool = False, cores: int | None = None) -> int:
    """Helpers for distortion: the cores the trainer's BLAS threads leave (and, in the app, the
    window's), at least one."""
    cores = cores or usable_cores()
    return max(1, cores - max(1, trainer_threads) - (1 if app_open else 0))


@dataclass
class _Chunk:
    """Batches ``first`` up to ``last`` (excluded) of an epoch, distorted with ``settings`` into ``rows``."""

    epoch: int
    first: int
    last: int
    settings: Augmentation
    rows: np.ndarray
    buffer: str | None = None  # the name of ``rows`` for helper processes
    pooled: bool = True  # its warps from the epoch's pool (else drawn image by image)
    future: Future | None = None  # None: to be made in line when first needed
    done: bool = False


class HelperThreads:
    """Helper threads with :class:`~nnstudio.core.helper_processes.HelperProcesses`'s methods."""

    def __init__(self, count: int, augmenter: Augmenter, images: np.ndarray) -> None:
        self.augmenter, self.images = augmenter, images
        self._executor = ThreadPoolExecutor(count, thread_name_prefix="nnstudio-augment")

    def buffer(self, shape: tuple[int, int]) -> tuple[np.ndarray, None]:
        return np.empty(shape, np.uint8), None

    def submit(self, rows: np.ndarray, buffer: str | None, index: np.ndarray, epoch: int, first: int,
               settings: Augmentation, *, pooled: bool, warps: int) -> Future:
        return self._executor.submit(self.augmenter.distort_chunk, self.images, index, rows, epoch, first, settings,
                                     pooled=pooled, warps=warps)

    def draw_warps(self, settings: Augmentation, epoch: int, warps: int) -> Future:
        return self._executor.submit(self.augmenter.warp_pool, settings, epoch, warps)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class Prefetcher:
    """Distorts ``images`` by ``augmenter``, an epoch's batches at a time, ahead of the trainer, on
    ``workers`` helper processes (``processes=False``: threads; by default processes, unless
    :data:`HELPERS_VARIABLE` says ``threads``)."""

    def __init__(self, augmenter: Augmenter, images: np.ndarray, *, workers: int = 1,
                 chunk_images: int = CHUNK_IMAGES, processes: bool | None = None) -> None:
        self.augmenter, self.images = augmenter, images
        self.workers, self.chunk_images = max(0, int(workers)), max(1, int(chunk_images))
        self._pool: HelperProcesses | HelperThreads | None = None
        if self.workers:
            try:
                if processes is None:
                    processes = os.environ.get(HELPERS_VARIABLE, "processes") != "threads"
                self._pool = (HelperProcesses if processes else HelperThreads)(self.workers, augmenter, images)
            except OSError:  # no process can start here (or no memory to share): threads
                self._pool = HelperThreads(self.workers, augmenter, images)
        self._chunks: deque[_Chunk] = deque()
        self._spare: list[tuple[np.ndarray, str | None]] = []  # buffers of chunks used up
        self._epoch, self._order, self._size, self._per_chunk, self._next = 0, None, 0, 1, 0
        self._planned = 0  # chunks planned since the last restart
        self._warps = WARPS  # in each epoch's pool: no more than the epoch's images
        self._ahead = 0  # the epoch whose warps a helper was asked to draw ahead
        self._in_use: _Chunk | None = None  # a used-up chunk whose last batch the trainer may still read
        self.made_here = self.made_by_helpers = 0  # chunks, for benchmarks
        self.waited = 0.0  # seconds the trainer's thread waited for a helper

    def take(self, epoch: int, order: np.ndarray, batch: int, batch_size: int, out: np.ndarray) -> np.ndarray:
        """Batch ``batch`` of the epoch's ``order`` (images ``order[batch*batch_size:][:batch_size]``)
        distorted, as float rows in [0, 1] written into ``out``."""
        return np.multiply(self.batch(epoch, order, batch, batch_size), out.dtype.type(1 / 255), out=out)

    def batch(self, epoch: int, order: np.ndarray, batch: int, batch_size: int) -> np.ndarray:
        """:meth:`take` without the copy: the rows where they lie in their chunk (C-contiguous uint8
        pixels, rounded, as the training images: the trainer reads a quarter of the bytes float rows
        would be, and casts them as it casts plain batches), valid until the next call."""
        if self._pool is None and self.workers:
            raise RuntimeError("the prefetcher is closed")
        self._release()
        chunk = self._chunks[0] if self._chunks else None
        if (chunk is None or order is not self._order or epoch != self._epoch or batch_size != self._size
                or not chunk.first <= batch < chunk.last or chunk.settings is not self.augmenter.settings):
            self._restart(epoch, order, batch, batch_size)
            chunk = self._chunks[0]
        rows = self._finish(chunk)
        start = (batch - chunk.first) * batch_size
        if batch == chunk.last - 1:  # used up: its buffer goes back at the next call, and the next chunk is started
            self._chunks.popleft()
            self._in_use = chunk
            self._fill()
        return rows[start:start + min(batch_size, len(order) - batch * batch_size)]  # the epoch's last batch may be short

    def _release(self) -> None:
        if self._in_use is not None:
            self._spare.append((self._in_use.rows, self._in_use.buffer))
            self._in_use = None

    def _restart(self, epoch: int, order: np.ndarray, batch: int, batch_size: int) -> None:
        """Drop every chunk in hand and plan the epoch afresh from ``batch``."""
        self._drop()
        self._epoch, self._order, self._size, self._next = epoch, order, batch_size, batch
        self._planned = 0
        self._warps = min(WARPS, len(order))
        self._per_chunk = max(1, self.chunk_images // batch_size)
        self._fill()

    def _fill(self) -> None:
        """Plan chunks up to two per helper beyond the one in use; the first of an empty queue
        is left to the trainer's thread, and short (an eighth of a chunk), so that the trainer soon
        goes on training while the helpers, handed the others at once, work; the next two are a
        quarter and a half of a chunk, so the first a helper makes is soon ready."""
        batches = -(-len(self._order) // self._size)
        if self._next >= batches and self._pool is not None and self._ahead != self._epoch + 1:
            self._ahead = self._epoch + 1  # the epoch's last chunks are planned: a helper draws the next one's warps
            settings = self.augmenter.settings
            if settings.warps:
                self._pool.draw_warps(settings, self._ahead, self._warps)
        while len(self._chunks) < 2 * self.workers + 1 and self._next < batches:
            first = self._next
            last = min((first // self._per_chunk + 1) * self._per_chunk, batches)
            short = self._planned == 0
            if self._planned < 3:  # an eighth, a quarter, a half: the helpers soon have the next one ready
                last = min(last, first + max(1, (self._per_chunk << self._planned) // 8))
            self._planned += 1  # with helpers or without: the same chunks, the same pixels
            shape = (self._per_chunk * self._size, self.images.shape[1])
            if self._spare and self._spare[-1][0].shape == shape:
                rows, buffer = self._spare.pop()
            elif self._pool is None:
                rows, buffer = np.empty(shape, np.uint8), None
            else:
                try:
                    rows, buffer = self._pool.buffer(shape)
                except OSError:  # no room for another buffer in memory: threads, with buffers of their own
                    self._fall_back()
                    rows, buffer = self._pool.buffer(shape)
            chunk = _Chunk(self._epoch, first, last, self.augmenter.settings, rows, buffer, pooled=not short)
            if self._chunks and self._pool is not None:
                chunk.future = self._pool.submit(rows, buffer, self._index(first, last),
                                                 chunk.epoch, first, chunk.settings, pooled=chunk.pooled,
                                                 warps=self._warps)
            self._chunks.append(chunk)
            self._next = last

    def _make(self, chunk: _Chunk) -> None:
        """The chunk made here, on the trainer's thread."""
        self.augmenter.distort_chunk(self.images, self._index(chunk.first, chunk.last), chunk.rows, chunk.epoch,
                                     chunk.first, chunk.settings, pooled=chunk.pooled, warps=self._warps)

    def _index(self, first: int, last: int) -> np.ndarray:
        """The images of the epoch's batches ``first`` up to ``last``."""
        return self._order[first * self._size:last * self._size]

    def _finish(self, chunk: _Chunk) -> np.ndarray:
        """The chunk's rows, made here if no helper has them in hand. While a helper is still on
        it, this thread makes a later chunk that no helper has started (the helpers are behind:
        distorting costs more than training), so both work."""
        while not chunk.done and chunk.future is not None and not chunk.future.done() and self._steal():
            pass
        if not chunk.done:
            if chunk.future is None:
                self._make(chunk)
                self.made_here += 1
            else:
                started = time.perf_counter()
                try:
                    chunk.future.result()
                    self.made_by_helpers += 1
                except (HelperError, CancelledError):  # a helper process failed: threads from now on
                    self._fall_back()
                    self._make(chunk)
                    self.made_here += 1
                self.waited += time.perf_counter() - started
            chunk.done = True
        return chunk.rows

    def _fall_back(self) -> None:
        """Helper threads instead of the helper processes (the chunks they had are made here)."""
        if isinstance(self._pool, HelperProcesses):
            failed, self._pool = self._pool, HelperThreads(self.workers, self.augmenter, self.images)
            failed.close()

    def _steal(self) -> bool:
        """Make, here, the last chunk in hand that waits for a helper; whether there was one."""
        for later in reversed(self._chunks):  # the farthest: the helpers go on in order
            if later.future is not None and not later.done and later.future.cancel():
                later.future = None
                self._make(later)
                self.made_here += 1
                later.done = True
                return True
        return False

    def _drop(self) -> None:
        """Forget the chunks in hand: those not started are cancelled, those in progress waited for
        (they write into buffers that are reused)."""
        self._release()
        chunks, self._chunks = self._chunks, deque()
        try:
            for chunk in chunks:
                if chunk.future is not None and not chunk.future.cancel():
                    try:
                        chunk.future.result()
                    except (CancelledError, Exception):  # its pixels are not wanted: nor is its failure
                        pass
        finally:
            self._spare.extend((chunk.rows, chunk.buffer) for chunk in chunks)

    def close(self) -> None:
        """Drop the chunks in hand (waiting for at most one per helper) and end the helpers."""
        if self._pool is not None:
            try:
                self._drop()
            finally:
                self._pool.close()
                self._pool = None
