"""How big a network may be: one parameter limit for the form, the config, the trainer and the
loader alike, and an estimate of the memory a configuration needs, checked before anything is built.

The estimate counts what training holds at once, in float32: the weights, their gradients, the
momentum velocities, the best epoch's copy and a copy for the app's "best network so far" (six
copies of the parameters); each layer's outputs and error signals for one batch (three arrays of
batch x layer width); and the outputs of one evaluation chunk. It is an upper bound of the right
size, not a measurement: good enough to refuse a network that would exhaust the machine and let
every network that fits train.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

MAX_PARAMETERS = 50_000_000  # 200 MB of float32: far beyond any MLP this app trains
MAX_HIDDEN_LAYERS = 16
MNIST_INPUTS, MNIST_CLASSES = 28 * 28, 10
PARAMETER_COPIES = 6
BATCH_ARRAYS = 3
EVALUATION_CHUNK = 2000  # as Network.evaluate
FLOAT_BYTES = 4
MEMORY_SHARE = 0.8  # of the memory available now; the rest stays for the app and the system


def parameter_count(sizes: Sequence[int]) -> int:
    """Weights and biases of an MLP whose layer widths are ``sizes`` (input first)."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def training_bytes(sizes: Sequence[int], batch_size: int) -> int:
    """About how many bytes training a network of ``sizes`` with ``batch_size`` needs (see the module)."""
    width = sum(sizes)
    return FLOAT_BYTES * (PARAMETER_COPIES * parameter_count(sizes) + BATCH_ARRAYS * batch_size * width
                          + 2 * EVALUATION_CHUNK * width)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now, or None where the system does not say."""
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        if sys.platform == "win32":
            import ctypes

            class MemoryStatus(ctypes.Structure):
                _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                            ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                            ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                            ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                            ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

            status = MemoryStatus(dwLength=ctypes.sizeof(MemoryStatus))
            if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
                return int(status.ullAvailPhys)
            return None
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")  # macOS and others: the total
    except (OSError, ValueError, AttributeError):
        return None
    return None


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def capacity_problems(hidden: Sequence[int], batch_size: int, *, inputs: int = MNIST_INPUTS,
                      outputs: int = MNIST_CLASSES, available: int | None = -1) -> list[str]:
    """Why a network of ``hidden`` layers cannot be trained here with ``batch_size``, in plain words
    (empty when it can). ``available`` is the free memory in bytes (default: asked of the system;
    None: unknown, so only the parameter and layer limits apply)."""
    found = []
    if len(hidden) > MAX_HIDDEN_LAYERS:
        found.append(f"at most {MAX_HIDDEN_LAYERS} hidden layers, not {len(hidden)}")
    sizes = (inputs, *hidden, outputs)
    params = parameter_count(sizes)
    if params > MAX_PARAMETERS:
        found.append(f"these layers make {params:,} parameters, more than the limit of {MAX_PARAMETERS:,}: "
                     f"use fewer or smaller hidden layers")
    if found:
        return found
    needed = training_bytes(sizes, batch_size)
    if available == -1:
        available = available_memory()
    if available is not None and needed > MEMORY_SHARE * available:
        found.append(f"training this network with batches of {batch_size} needs about {format_bytes(needed)} "
                     f"of memory, and only {format_bytes(available)} is free: use smaller layers or batches")
    return found
