"""The training set a run actually uses: fewer images and noisy labels, to make overfitting appear.

Two settings of :class:`~nnstudio.core.config.TrainingConfig` act here, on the training part of a
:class:`~nnstudio.core.dataset.Split` only (validation and test stay as they are):

- ``train_size``: train on the first N training images (0: all of them);
- ``label_noise``: replace that share of the training labels by a different, random class. The
  labels changed and their new classes are drawn from the run's seed alone, so the same seed
  corrupts the same labels the same way on any machine.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nnstudio.core.dataset import Split

TRAIN_SIZES = (500, 1000, 5000, 0)  # the lab's choices; 0 is "all"
NOISE_STREAM = 0x6E6F6973  # "nois": keeps the noise's random draws apart from the training's


def noisy_labels(labels: np.ndarray, share: float, seed: int, classes: int = 10) -> np.ndarray:
    """A copy of ``labels`` with ``round(share * n)`` of them replaced by another class, chosen at random."""
    if not 0 <= share <= 1:
        raise ValueError("label noise must be a share between 0 and 1")
    labels = np.array(labels, copy=True)
    count = int(round(share * len(labels)))
    if count == 0:
        return labels
    rng = np.random.default_rng([seed, NOISE_STREAM])
    changed = rng.choice(len(labels), size=count, replace=False)
    offsets = rng.integers(1, classes, size=count)  # never 0: the label always changes
    labels[changed] = (labels[changed] + offsets) % classes
    return labels


def training_set(split: Split, train_size: int = 0, label_noise: float = 0.0, seed: int = 0) -> Split:
    """``split`` with its training part cut to ``train_size`` images (0: all) and ``label_noise`` of
    their labels replaced; the same split when neither applies."""
    if train_size < 0:
        raise ValueError("training-set size must be 0 (all) or more")
    if not train_size and not label_noise:
        return split
    n = len(split.x_train) if not train_size else min(train_size, len(split.x_train))
    labels = noisy_labels(split.y_train[:n], label_noise, seed, split.classes)
    return dataclasses.replace(split, x_train=split.x_train[:n], y_train=labels)


def training_set_for(config, split: Split) -> Split:
    """The training set ``config`` asks for (its ``train_size``, ``label_noise`` and ``seed``)."""
    return training_set(split, getattr(config, "train_size", 0), getattr(config, "label_noise", 0.0), config.seed)


def describe(config) -> str:
    """``"1,000 training images, 20% of labels noisy"``, or ``""`` when the full, clean set is used."""
    parts = []
    if getattr(config, "train_size", 0):
        parts.append(f"{config.train_size:,} training images")
    if getattr(config, "label_noise", 0.0):
        parts.append(f"{config.label_noise:.0%} of labels noisy")
    return ", ".join(parts)
