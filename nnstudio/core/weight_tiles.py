"""The first hidden layer's weights as images: one 28×28 tile per unit, in one mosaic.

Each tile is the unit's incoming weights (a column of ``W1``) reshaped to the input image,
divided by its largest magnitude so every tile spans [-1, 1] (a diverging colour map then
shows positive weights, where ink excites the unit, against negative ones).
"""

from __future__ import annotations

import math

import numpy as np

GAP = 1  # pixels between tiles (NaN: drawn as the background)


def tiles(w1: np.ndarray, image_shape: tuple[int, int] = (28, 28)) -> np.ndarray:
    """``(units, h, w)``: tile ``u`` is column ``u`` of ``w1`` reshaped to the image."""
    h, w = image_shape
    if w1.shape[0] != h * w:
        raise ValueError(f"the first layer has {w1.shape[0]} inputs, not a {h}x{w} image")
    return np.ascontiguousarray(w1.T).reshape(w1.shape[1], h, w)


def normalised(t: np.ndarray) -> np.ndarray:
    """Each tile divided by its own largest magnitude (an all-zero tile stays zero), float32."""
    peak = np.abs(t).max(axis=(1, 2), keepdims=True).astype(np.float32)
    peak[peak == 0] = 1
    return (t / peak).astype(np.float32)


def grid(units: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid holding ``units`` tiles."""
    columns = max(1, math.ceil(math.sqrt(units)))
    return max(1, math.ceil(units / columns)), columns


def mosaic(w1: np.ndarray, image_shape: tuple[int, int] = (28, 28), columns: int | None = None) -> np.ndarray:
    """All tiles, normalised, in one image of ``rows × columns`` tiles separated by NaN gaps.

    Indexed ``[row, column]`` of pixels, top-left first (transpose for pyqtgraph's
    column-major ImageItem)."""
    t = normalised(tiles(w1, image_shape))
    units, h, w = t.shape
    rows, columns = grid(units) if columns is None else (max(1, math.ceil(units / columns)), columns)
    out = np.full((rows * (h + GAP) - GAP, columns * (w + GAP) - GAP), np.nan, np.float32)
    for u in range(units):
        r, c = divmod(u, columns)
        out[r * (h + GAP):r * (h + GAP) + h, c * (w + GAP):c * (w + GAP) + w] = t[u]
    return out


def unit_at(row: int, column: int, units: int, image_shape: tuple[int, int] = (28, 28),
            columns: int | None = None) -> int | None:
    """The unit whose tile holds mosaic pixel (``row``, ``column``), or None (a gap, or outside)."""
    h, w = image_shape
    rows, columns = grid(units) if columns is None else (max(1, math.ceil(units / columns)), columns)
    if row < 0 or column < 0:
        return None
    r, dy = divmod(int(row), h + GAP)
    c, dx = divmod(int(column), w + GAP)
    if dy >= h or dx >= w or r >= rows or c >= columns:
        return None
    unit = r * columns + c
    return unit if unit < units else None
