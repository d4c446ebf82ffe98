"""Smooth random displacement fields for elastic distortion (Simard, Steinkraus & Platt, 2003).

A field is uniform random values in [-1, 1] at every pixel, blurred by a Gaussian of ``sigma``
pixels: neighbouring displacements then differ little, so a digit bends instead of scattering.
The blur is separable, one small matrix along the rows and one along the columns, applied by
einsum's own loops rather than BLAS: the fields are drawn in helper processes beside the
trainer's BLAS threads.
"""

from __future__ import annotations

import numpy as np


def smooth_fields(rng: np.random.Generator, count: int, image_shape: tuple[int, int], sigma: float) -> np.ndarray:
    """``count`` fields of uniform random values in [-1, 1], each smoothed by a Gaussian of
    ``sigma`` pixels (zeros beyond the frame, cut at 4 sigma), as float32 ``(count, h, w)``."""
    h, w = image_shape
    noise = rng.uniform(-1, 1, (count, h, w))
    # einsum's own loops, not BLAS: this runs in helper processes beside the trainer's BLAS
    rows = np.einsum("ij,njk->nik", gaussian_matrix(h, sigma), noise, optimize=False)
    smoothed = np.einsum("nik,lk->nil", rows, gaussian_matrix(w, sigma), optimize=False)
    return smoothed.astype(np.float32)


def gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """The ``(size, size)`` matrix of a 1-D Gaussian blur with zeros beyond the ends."""
    radius = int(4 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    offsets = np.arange(size)[None, :] - np.arange(size)[:, None]
    inside = np.abs(offsets) <= radius
    return np.where(inside, taps[np.clip(offsets + radius, 0, 2 * radius)], 0.0)
