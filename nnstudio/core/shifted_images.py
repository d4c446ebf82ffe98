"""Whole-pixel random shifts of images: the cheapest augmentation, done in the trainer's own gather."""

from __future__ import annotations

import numpy as np


def shifted_images(pixels: np.ndarray, image_shape: tuple[int, int], shift: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Move each image by a random whole-pixel offset of up to ``shift`` in each direction."""
    n = len(pixels)
    h, w = image_shape
    padded = np.zeros((n, h + 2 * shift, w + 2 * shift), dtype=pixels.dtype)
    padded[:, shift:shift + h, shift:shift + w] = pixels.reshape(n, h, w)
    dy = rng.integers(0, 2 * shift + 1, n)
    dx = rng.integers(0, 2 * shift + 1, n)
    rows = (dy[:, None] + np.arange(h))[:, :, None]
    cols = (dx[:, None] + np.arange(w))[:, None, :]
    return padded[np.arange(n)[:, None, None], rows, cols].reshape(n, h * w)
