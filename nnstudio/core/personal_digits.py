"""Your own handwriting: a personal set of digits kept in MNIST's IDX format, and a fine-tune on it.

:class:`PersonalDigits` holds 28x28 uint8 images with their labels and saves them into a folder as
``personal-images-idx3-ubyte`` and ``personal-labels-idx1-ubyte`` (through the atomic write), so any
IDX reader opens them. :meth:`PersonalDigits.export` writes a folder in MNIST's own file names that
``nnstudio-train --data-dir`` accepts (the digits serve as its training and its test set).

:func:`fine_tune` is a short generator: a few dozen SGD steps on batches that mix the personal
digits, lightly jittered, with replayed MNIST training images, so the network learns your
handwriting without forgetting MNIST. It works on a copy and returns it with before/after scores.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.idx import DataError, idx_header, read_idx
from nnstudio.core.network import Network, as_inputs

IMAGES = "personal-images-idx3-ubyte"
LABELS = "personal-labels-idx1-ubyte"
MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")
SHAPE = (28, 28)


def to_pixels(network_input: np.ndarray) -> np.ndarray:
    """The sketch as the network sees it (floats in [0, 1]) as 28x28 uint8 pixels."""
    values = np.asarray(network_input, dtype=np.float32).reshape(SHAPE)
    return np.clip(np.rint(values * 255), 0, 255).astype(np.uint8)


def write_idx(path: Path, array: np.ndarray) -> None:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    with atomic_write(path) as f:
        f.write(idx_header(array.shape))
        f.write(array.tobytes())


class PersonalDigits:
    """Labelled 28x28 digits; ``images`` ``(n, 28, 28)`` uint8, ``labels`` ``(n,)`` uint8."""

    def __init__(self, images: np.ndarray | None = None, labels: np.ndarray | None = None) -> None:
        self.images = np.zeros((0, *SHAPE), np.uint8) if images is None else np.asarray(images, np.uint8)
        self.labels = np.zeros(0, np.uint8) if labels is None else np.asarray(labels, np.uint8)
        if self.images.shape[1:] != SHAPE or len(self.images) != len(self.labels):
            raise ValueError("personal digits must be 28x28 images with one label each")
        if len(self.labels) and self.labels.max() > 9:
            raise ValueError("personal digit labels must be 0 to 9")

    def __len__(self) -> int:
        return len(self.labels)

    def add(self, image: np.ndarray, label: int) -> int:
        """Add a 28x28 image (uint8 pixels, or floats in [0, 1]) with its label; returns its index."""
        if not 0 <= int(label) <= 9:
            raise ValueError("a digit's label must be 0 to 9")
        image = np.asarray(image)
        pixels = image.reshape(SHAPE).astype(np.uint8) if image.dtype == np.uint8 else to_pixels(image)
        self.images = np.concatenate([self.images, pixels[None]])
        self.labels = np.append(self.labels, np.uint8(label))
        return len(self) - 1

    def remove(self, index: int) -> None:
        if not 0 <= index < len(self):
            raise IndexError(f"no personal digit {index}")
        self.images = np.delete(self.images, index, axis=0)
        self.labels = np.delete(self.labels, index)

    def counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=10)

    # -- files ------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> None:
        """Write the set into ``folder`` as two IDX files (the labels last, so a reader never sees
        more labels than images)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_idx(folder / IMAGES, self.images)
        write_idx(folder / LABELS, self.labels)

    @classmethod
    def load(cls, folder: str | Path) -> "PersonalDigits":
        """The set saved in ``folder``; an empty one when there is none. Raises DataError if the files
        are damaged or do not match."""
        folder = Path(folder)
        if not (folder / IMAGES).exists() and not (folder / LABELS).exists():
            return cls()
        images, labels = read_idx(folder / IMAGES), read_idx(folder / LABELS)
        if images.ndim != 3 or images.shape[1:] != SHAPE or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{folder}: the personal digits' images and labels do not match")
        if len(labels) and labels.max() > 9:
            raise DataError(f"{folder / LABELS}: labels must be 0 to 9")
        return cls(images, labels)

    def export(self, folder: str | Path) -> Path:
        """Write the set as an MNIST folder (train and t10k files, both holding these digits)."""
        if not len(self):
            raise ValueError("there are no personal digits to export")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in zip(MNIST_NAMES, (self.images, self.labels, self.images, self.labels)):
            write_idx(folder / name, array)
        return folder


# -- learning from them -----------------------------------------------------------------------

@dataclass(frozen=True)
class FineTuneProgress:
    step: int
    steps: int
    loss: float


@dataclass(frozen=True)
class FineTuneResult:
    """The tuned network (a new one) and the accuracies before and after."""

    network: Network
    personal_before: float
    personal_after: float
    mnist_before: float
    mnist_after: float
    steps: int

    def describe(self) -> str:
        return (f"Your digits: {self.personal_before:.0%} → {self.personal_after:.0%} right · "
                f"MNIST test: {self.mnist_before:.2%} → {self.mnist_after:.2%}")


def jitter(images: np.ndarray, rng: np.random.Generator, shift: int = 2) -> np.ndarray:
    """Each image moved by up to ``shift`` pixels in x and y (zeros come in), its ink scaled by 0.8-1.0."""
    n = len(images)
    padded = np.pad(images.reshape(n, *SHAPE), ((0, 0), (shift, shift), (shift, shift)))
    dy, dx = rng.integers(0, 2 * shift + 1, size=(2, n))
    out = np.empty((n, *SHAPE), np.uint8)
    for i in range(n):
        out[i] = padded[i, dy[i]:dy[i] + SHAPE[0], dx[i]:dx[i] + SHAPE[1]]
    scale = rng.uniform(0.8, 1.0, size=(n, 1, 1))
    return np.rint(out * scale).astype(np.uint8)


def fine_tune(network: Network, personal: PersonalDigits, mnist_x: np.ndarray, mnist_y: np.ndarray,
              test_x: np.ndarray, test_y: np.ndarray, *, steps: int = 40, batch_size: int = 128,
              personal_per_batch: int = 8, learning_rate: float = 0.05, seed: int = 0,
              report_every: int = 10) -> Iterator[FineTuneProgress]:
    """Fine-tune a copy of ``network``; yields progress, returns a :class:`FineTuneResult`.

    Each batch holds ``personal_per_batch`` personal digits (drawn with replacement, jittered) and
    MNIST training images for the rest, so the network keeps seeing what it knew; it stops early once
    every personal digit is classified right (checked every ``report_every`` steps), which keeps the
    network from drifting further than it must."""
    if not len(personal):
        raise ValueError("add some digits of your own first")
    if len(mnist_x) < batch_size or len(test_x) == 0:
        raise ValueError("learning from your digits needs MNIST loaded (to replay and to test)")
    rng = np.random.default_rng(seed)
    net = network.copy()
    flat_personal = personal.images.reshape(len(personal), -1)
    _, personal_before = net.evaluate(flat_personal, personal.labels.astype(np.intp))
    _, mnist_before = net.evaluate(test_x, test_y)
    replayed = batch_size - personal_per_batch
    for step in range(steps):
        mine = rng.integers(0, len(personal), size=personal_per_batch)
        theirs = rng.integers(0, len(mnist_x), size=replayed)
        pixels = np.concatenate([jitter(personal.images[mine], rng).reshape(personal_per_batch, -1),
                                 mnist_x[theirs].reshape(replayed, -1)])
        labels = np.concatenate([personal.labels[mine].astype(np.intp), np.asarray(mnist_y)[theirs]])
        outputs = net.feedforward(as_inputs(pixels, net.dtype))
        loss, _, weight_grads, bias_grads = net.backprop(outputs, labels)
        for param, grad in zip(net.parameters(), [g for pair in zip(weight_grads, bias_grads) for g in pair]):
            grad *= learning_rate
            param -= grad
        if (step + 1) % report_every == 0:
            yield FineTuneProgress(step + 1, steps, loss)
            if np.array_equal(net.predict(flat_personal), personal.labels):
                break
    steps = step + 1
    _, personal_after = net.evaluate(flat_personal, personal.labels.astype(np.intp))
    _, mnist_after = net.evaluate(test_x, test_y)
    return FineTuneResult(net, personal_before, personal_after, mnist_before, mnist_after, steps)
