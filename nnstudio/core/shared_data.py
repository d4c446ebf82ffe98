"""MNIST read once and shared with worker processes as memory-mapped arrays.

A worker process that reads the IDX files itself unpacks 55 MB of gzip and checks its SHA-256:
about a second of a core per process, and its own copy of the arrays. :func:`shared_mnist` writes
the arrays once, unpacked, into a temporary folder (in memory, under ``/dev/shm``, where the
system has one) for as long as the workers need them; :func:`attach_mnist` maps them in a
worker, which then starts at once, and every worker reads the same pages of memory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.mnist import Mnist

ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")


def scratch_root() -> str | None:
    """A folder in memory where the system offers one (Linux), else the system's temporary folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


@contextmanager
def shared_mnist(mnist: Mnist) -> Iterator[dict]:
    """A plain, picklable handle on ``mnist``'s arrays written to a temporary folder, which is
    removed when the block ends (after the workers that mapped them have ended)."""
    with tempfile.TemporaryDirectory(prefix="nnstudio-mnist-", dir=scratch_root()) as folder:
        for key in ARRAYS:
            with atomic_write(Path(folder) / f"{key}.npy") as f:
                np.save(f, np.ascontiguousarray(getattr(mnist, key)))
        yield {"folder": folder, "checksum": mnist.checksum, "source": str(mnist.folder)}


def attach_mnist(handle: dict) -> Mnist:
    """The :class:`Mnist` behind a :func:`shared_mnist` handle, its arrays mapped read-only."""
    arrays = {key: np.load(Path(handle["folder"]) / f"{key}.npy", mmap_mode="r") for key in ARRAYS}
    return Mnist(**arrays, checksum=handle["checksum"], folder=Path(handle["source"]))
