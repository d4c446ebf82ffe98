"""The three parts a run trains, validates and tests on, as compact uint8 rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Train, validation and test sets: pixels as uint8 rows, labels as integers.

    Pixels stay uint8 (a quarter of float32's memory); the trainer scales each batch
    to float32 in [0, 1] as it goes.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, int] = (28, 28)
    checksum: str = ""

    @property
    def inputs(self) -> int:
        return self.x_train.shape[1]

    @property
    def classes(self) -> int:
        return 10

    def head(self, train: int, val: int | None = None, test: int | None = None) -> "Split":
        """The first ``train``/``val``/``test`` rows of each part: a small, real subset for quick runs."""
        val = len(self.x_val) if val is None else val
        test = len(self.x_test) if test is None else test
        return Split(self.x_train[:train], self.y_train[:train], self.x_val[:val], self.y_val[:val],
                     self.x_test[:test], self.y_test[:test], self.image_shape, self.checksum)


def split_mnist(mnist, validation_size: int = 6000) -> Split:
    """Split an :class:`~nnstudio.core.mnist.Mnist`: its last ``validation_size`` training images validate."""
    n = len(mnist.train_images)
    if not 0 < validation_size < n:
        raise ValueError(f"{n} training images cannot spare {validation_size} for validation: "
                         f"the validation size must be between 1 and {n - 1}")
    rows = mnist.train_images.reshape(n, -1)
    labels = mnist.train_labels.astype(np.intp)
    cut = n - validation_size
    return Split(
        x_train=rows[:cut],
        y_train=labels[:cut],
        x_val=rows[cut:],
        y_val=labels[cut:],
        x_test=mnist.test_images.reshape(len(mnist.test_images), -1),
        y_test=mnist.test_labels.astype(np.intp),
        image_shape=tuple(mnist.train_images.shape[1:]),
        checksum=mnist.checksum,
    )
