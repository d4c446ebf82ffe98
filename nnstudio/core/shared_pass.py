"""One forward pass per sketch, shared by everything that looks at it.

A new sketch is read by several views at once: the diagram's activations, the saliency of the
top two digits (a backward pass from the same forward one), the inspected neuron and the lab's
prediction. :func:`shared_forward` runs the pass the first time one of them asks and hands the
same (read-only) result to the others. It remembers the last few (network, input) pairs, so the
model in use and the lab's edited copy are each computed once too.

Networks are recognised by identity: this is for networks that are not changed in place (the
GUI's model in use is a copy that is replaced, never edited; the lab edits a copy).
"""

from __future__ import annotations

import threading

import numpy as np

from nnstudio.core.layer_math import Pass, forward

REMEMBERED = 4  # (network, input) pairs kept

_recent: list[tuple[object, np.ndarray, Pass]] = []
_lock = threading.Lock()


def shared_forward(network, x: np.ndarray) -> Pass:
    """The forward pass of the one input ``x`` (``inputs`` values, any shape) through ``network``,
    in its own precision, every layer kept: computed once per (network, input), then shared.

    The arrays of the result are read-only: every caller sees the same ones."""
    row = np.asarray(x, dtype=np.dtype(network.dtype)).reshape(1, -1)
    with _lock:
        for i, (net, seen, run) in enumerate(_recent):
            if net is network and seen.shape == row.shape and np.array_equal(seen, row):
                if i:
                    _recent.insert(0, _recent.pop(i))
                return run
    row = row.copy()
    run = forward(network, row)
    for a in (*run.sums, *run.outputs):
        a.setflags(write=False)
    with _lock:
        _recent.insert(0, (network, row, run))
        del _recent[REMEMBERED:]
    return run


def forget() -> None:
    """Drop every remembered pass (and the networks it keeps alive)."""
    with _lock:
        _recent.clear()
