"""A run's weights at every epoch, kept in memory within bounds and saved beside its model.

:class:`Checkpoints` keeps at most :data:`MAX_CHECKPOINTS` checkpoints or :data:`MAX_BYTES` of
weights. Past that it thins them evenly: it keeps the epochs on a grid ``1, 1 + s, 1 + 2s, ...``
whose step ``s`` doubles whenever the grid overflows, plus always the latest epoch and the best
one. A run folder saves them as ``checkpoints.npz`` with the safety rules of a model file: plain
``.npy`` members, no pickle, every header checked before any data is read, written atomically.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnstudio import __version__
from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.model_file import MAX_PARAMETERS, ModelFileError, NpzArchive
from nnstudio.core.network import ACTIVATIONS, Network
from nnstudio.core.network_arrays import network_from_arrays

CHECKPOINTS = "checkpoints.npz"
FORMAT = "nnstudio-checkpoints"
FORMAT_VERSION = 1
MAX_CHECKPOINTS = 64
MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """One epoch's weights and biases, ``[W1, b1, W2, b2, ...]`` as read-only arrays."""

    epoch: int
    parameters: tuple[np.ndarray, ...]

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.parameters)

    @property
    def sizes(self) -> tuple[int, ...]:
        weights = self.parameters[::2]
        return (weights[0].shape[0], *(w.shape[1] for w in weights))

    def network(self, activation: str) -> Network:
        """A new network holding these weights (its arrays are copies: it may be trained on)."""
        return network_from_arrays(self.parameters[::2], self.parameters[1::2], activation)


class Checkpoints:
    """Bounded, evenly thinned checkpoints of a run; safe to read from one thread while another adds."""

    def __init__(self, max_count: int = MAX_CHECKPOINTS, max_bytes: int = MAX_BYTES) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self._items: dict[int, Checkpoint] = {}
        self._stride = 1
        self._latest = 0
        self._best = 0
        self._lock = threading.Lock()

    def add(self, epoch: int, parameters: Sequence[np.ndarray], *, best: bool = False) -> None:
        """Keep a copy of ``parameters`` as ``epoch``'s (``best``: the best epoch so far)."""
        copies = []
        for p in parameters:
            copy = np.array(p, copy=True)
            copy.flags.writeable = False
            copies.append(copy)
        checkpoint = Checkpoint(int(epoch), tuple(copies))
        with self._lock:
            self._items[checkpoint.epoch] = checkpoint
            self._latest = max(self._latest, checkpoint.epoch)
            if best:
                self._best = checkpoint.epoch
            self._thin(checkpoint.nbytes)

    def _thin(self, nbytes: int) -> None:
        capacity = max(1, min(self.max_count, self.max_bytes // max(nbytes, 1)))
        pinned = {self._latest, self._best}

        def on_grid(e: int) -> bool:
            return (e - 1) % self._stride == 0

        self._items = {e: c for e, c in self._items.items() if on_grid(e) or e in pinned}
        while len(self._items) > capacity and self._stride <= self._latest:
            self._stride *= 2
            self._items = {e: c for e, c in self._items.items() if on_grid(e) or e in pinned}
        if len(self._items) > capacity:  # room for only one or two: the latest, then the best
            keep = [self._latest, self._best][:capacity]
            self._items = {e: c for e, c in self._items.items() if e in keep}

    # -- reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def epochs(self) -> list[int]:
        with self._lock:
            return sorted(self._items)

    @property
    def best_epoch(self) -> int:
        """The best epoch so far (0 if none was marked best)."""
        return self._best

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(c.nbytes for c in self._items.values())

    def get(self, epoch: int) -> Checkpoint:
        with self._lock:
            try:
                return self._items[epoch]
            except KeyError:
                raise KeyError(f"no checkpoint of epoch {epoch}; kept: {sorted(self._items)}") from None

    def nearest(self, epoch: int) -> Checkpoint:
        """The kept checkpoint closest to ``epoch`` (the earlier one on a tie)."""
        with self._lock:
            if not self._items:
                raise KeyError("no checkpoints")
            return self._items[min(self._items, key=lambda e: (abs(e - epoch), e))]

    def snapshot(self) -> tuple[Checkpoint, ...]:
        with self._lock:
            return tuple(self._items[e] for e in sorted(self._items))

    @classmethod
    def of(cls, checkpoints: Sequence[Checkpoint], best_epoch: int = 0) -> "Checkpoints":
        made = cls()
        with made._lock:
            made._items = {c.epoch: c for c in checkpoints}
            made._latest = max(made._items, default=0)
            made._best = best_epoch
        return made


@dataclass(frozen=True, eq=False)
class SavedCheckpoints:
    checkpoints: Checkpoints
    sizes: tuple[int, ...]
    activation: str

    def network(self, epoch: int) -> Network:
        return self.checkpoints.get(epoch).network(self.activation)


def save_checkpoints(path: str | Path, checkpoints: Checkpoints, activation: str) -> Path:
    """Write every kept checkpoint into one ``.npz`` at ``path``, atomically."""
    path = Path(path)
    kept = checkpoints.snapshot()
    if not kept:
        raise ValueError("no checkpoints to save")
    sizes = kept[0].sizes
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "nnstudio_version": __version__,
            "sizes": list(sizes), "activation": activation, "epochs": [c.epoch for c in kept],
            "best_epoch": checkpoints.best_epoch}
    arrays = {"metadata": np.array(json.dumps(meta))}
    for c in kept:
        if c.sizes != sizes:
            raise ValueError(f"checkpoint of epoch {c.epoch} has layer sizes {c.sizes}, not {sizes}")
        for i in range(len(sizes) - 1):
            arrays[f"e{c.epoch}_W{i}"], arrays[f"e{c.epoch}_b{i}"] = c.parameters[2 * i], c.parameters[2 * i + 1]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


def load_checkpoints(path: str | Path) -> SavedCheckpoints:
    """Read a checkpoints file, checking its metadata and every array header before reading data;
    raises :class:`~nnstudio.core.model_file.ModelFileError` naming the file and the fault."""
    path = Path(path)
    name = path.name
    with NpzArchive(path) as archive:
        if "metadata" not in archive.names:
            raise ModelFileError(f"{name}: not an nnstudio checkpoints file (no metadata)")
        try:
            meta = json.loads(str(archive.array("metadata")[()]))
        except (ValueError, RecursionError) as exc:
            raise ModelFileError(f"{name}: unreadable metadata ({exc})") from None
        sizes, epochs, activation = _check_metadata(name, meta)
        expected = {"metadata"} | {f"e{e}_{k}{i}" for e in epochs for k in "Wb" for i in range(len(sizes) - 1)}
        extra = set(archive.names) - expected
        if extra:
            raise ModelFileError(f"{name}: unexpected arrays {sorted(extra)[:5]}")
        per_checkpoint = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) * 8
        if per_checkpoint * len(epochs) > 2 * MAX_BYTES:  # float64 files may hold twice the float32 bound
            raise ModelFileError(f"{name}: {len(epochs)} checkpoints of layer sizes {sizes} are too large to load")
        kept = []
        for e in epochs:
            parameters = []
            for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                parameters.append(archive.array(f"e{e}_W{i}", (fan_in, fan_out)))
                parameters.append(archive.array(f"e{e}_b{i}", (fan_out,)))
            dtype = parameters[0].dtype
            for p in parameters:
                p.flags.writeable = False
            if any(p.dtype != dtype for p in parameters):
                raise ModelFileError(f"{name}: epoch {e} mixes float32 and float64 arrays")
            kept.append(Checkpoint(e, tuple(parameters)))
    best = meta.get("best_epoch", 0)
    best = best if isinstance(best, int) and best in epochs else 0
    return SavedCheckpoints(Checkpoints.of(kept, best), tuple(sizes), activation)


def _check_metadata(name: str, meta) -> tuple[list[int], list[int], str]:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{name}: not an nnstudio checkpoints file (format is not {FORMAT!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{name}: checkpoints format version {meta.get('format_version')} is not supported")

    def whole(v, top: int) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 < v <= top

    sizes = meta.get("sizes")
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(whole(s, 100_000) for s in sizes):
        raise ModelFileError(f"{name}: layer sizes {sizes!r} are not a list of positive integers")
    if sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) > MAX_PARAMETERS:
        raise ModelFileError(f"{name}: layer sizes {sizes} make more than {MAX_PARAMETERS:,} parameters")
    epochs = meta.get("epochs")
    if (not isinstance(epochs, list) or not epochs or not all(whole(e, 10_000_000) for e in epochs)
            or len(set(epochs)) != len(epochs)):
        raise ModelFileError(f"{name}: epochs {str(epochs)[:80]} are not a list of distinct positive integers")
    if len(epochs) > MAX_CHECKPOINTS:
        raise ModelFileError(f"{name}: {len(epochs)} checkpoints, more than the {MAX_CHECKPOINTS} a run keeps")
    if meta.get("activation") not in ACTIVATIONS:
        raise ModelFileError(f"{name}: unknown activation {meta.get('activation')!r}")
    return sizes, sorted(epochs), meta["activation"]
