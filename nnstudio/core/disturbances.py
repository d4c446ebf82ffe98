"""The disturbances of the robustness curves, pixel by pixel: Gaussian noise, rotation, shift and
thinner or thicker strokes, each on a whole batch at once (vectorised NumPy) and deterministic: the
same images and level give the same pixels. :mod:`nnstudio.core.robustness` measures a network on them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

NOISE_SEED = 7


def add_noise(images: np.ndarray, sigma: float, seed: int = NOISE_SEED) -> np.ndarray:
    # One seeded draw of unit noise for every level: a higher sigma is the same noise, stronger.
    noise = unit_noise(images.shape, seed) * np.float32(sigma)
    noise += images
    return noise


@functools.lru_cache(maxsize=8)
def unit_noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """The seeded standard normal draw of ``shape`` (read-only): drawn once, not once per level."""
    noise = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
    noise.setflags(write=False)
    return noise


def sample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear sampling of every image at the same source coordinates ``rows``/``cols`` (each
    ``(h, w)``), zero outside the image: four gathers of whole pixel columns, weighted (a dense
    ``(h*w, h*w)`` resampling matrix cost 100 times more arithmetic for its four non-zeros a column)."""
    n, h, w = images.shape
    sources, weights = bilinear_taps(h, w, rows.tobytes(), cols.tobytes())
    flat = images.reshape(n, h * w)
    out = flat[:, sources[0]] * weights[0]
    for source, weight in zip(sources[1:], weights[1:]):
        out += flat[:, source] * weight
    return out.reshape(n, h, w)


@functools.lru_cache(maxsize=64)
def bilinear_taps(h: int, w: int, rows: bytes, cols: bytes) -> tuple[np.ndarray, np.ndarray]:
    """For each output pixel, its four source pixels and their bilinear weights (0 outside the image);
    cached: a curve samples every chunk of images at the same coordinates."""
    rows = np.frombuffer(rows, np.float64).reshape(h, w)
    cols = np.frombuffer(cols, np.float64).reshape(h, w)
    r0, c0 = np.floor(rows).astype(np.intp), np.floor(cols).astype(np.intp)
    fr, fc = rows - r0, cols - c0
    sources, weights = [], []
    for dr, dc, weight in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
        r, c = r0 + dr, c0 + dc
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w) & (weight > 0)
        sources.append(np.where(inside, r * w + c, 0).ravel())
        weights.append(np.where(inside, weight, 0.0).astype(np.float32).ravel())
    sources, weights = np.stack(sources), np.stack(weights)
    sources.setflags(write=False)
    weights.setflags(write=False)
    return sources, weights


def rotation_coordinates(image_shape: tuple[int, int], degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each output pixel of a turn by ``degrees`` (anticlockwise) comes from: rows, columns."""
    h, w = image_shape
    a = np.deg2rad(degrees)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    dy, dx = y - cy, x - cx
    # The inverse rotation maps each output pixel to where it comes from (rows grow downwards).
    rows = cy + np.cos(a) * dy + np.sin(a) * dx
    cols = cx - np.sin(a) * dy + np.cos(a) * dx
    return rows, cols


def rotation(images: np.ndarray, degrees: float) -> np.ndarray:
    """Turn each digit anticlockwise by ``degrees`` about the image centre."""
    return sample(images, *rotation_coordinates(images.shape[1:], degrees))


SHIFT_DIRECTIONS = 8


def shift_coordinates(image_shape: tuple[int, int], pixels: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each output pixel of a move by ``pixels`` towards compass direction ``k`` comes from."""
    h, w = image_shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    angle = 2 * np.pi * k / SHIFT_DIRECTIONS
    dy, dx = -pixels * np.sin(angle), pixels * np.cos(angle)
    return y - dy, x - dx


def shift(images: np.ndarray, pixels: float) -> np.ndarray:
    """Move each digit by ``pixels``: image ``i`` towards direction ``i % 8`` of the eight compass
    directions (right, up-right, up, ...), so every direction is tried equally often."""
    out = np.empty_like(images)
    for k in range(SHIFT_DIRECTIONS):
        out[k::SHIFT_DIRECTIONS] = sample(images[k::SHIFT_DIRECTIONS], *shift_coordinates(images.shape[1:], pixels, k))
    return out


def neighbourhood(images: np.ndarray, reduce: Callable) -> np.ndarray:
    """Grey dilation (``np.maximum``) or erosion (``np.minimum``) over a plus-shaped 3x3 neighbourhood;
    outside the image counts as paper (0: pixels are in [0, 1], so it only matters to an erosion)."""
    out = images.copy()
    reduce(out[:, 1:], images[:, :-1], out=out[:, 1:])  # the pixel above
    reduce(out[:, :-1], images[:, 1:], out=out[:, :-1])  # below
    reduce(out[:, :, 1:], images[:, :, :-1], out=out[:, :, 1:])  # left
    reduce(out[:, :, :-1], images[:, :, 1:], out=out[:, :, :-1])  # right
    if reduce is np.minimum:
        out[:, 0] = out[:, -1] = 0
        out[:, :, 0] = out[:, :, -1] = 0
    return out


def neighbourhood_major(images: np.ndarray, reduce: Callable) -> np.ndarray:
    """:func:`neighbourhood` of pixel-major images ``(h, w, n)``: each comparison is of whole rows."""
    out = images.copy()
    reduce(out[1:], images[:-1], out=out[1:])
    reduce(out[:-1], images[1:], out=out[:-1])
    reduce(out[:, 1:], images[:, :-1], out=out[:, 1:])
    reduce(out[:, :-1], images[:, 1:], out=out[:, :-1])
    if reduce is np.minimum:
        out[0] = out[-1] = 0
        out[:, 0] = out[:, -1] = 0
    return out


def thickness(images: np.ndarray, steps: float) -> np.ndarray:
    """Thicker strokes for positive ``steps`` (dilations), thinner for negative (erosions); a
    fractional step blends the two nearest whole steps."""
    reduce = np.maximum if steps > 0 else np.minimum
    whole = int(np.floor(abs(steps)))
    frac = np.float32(abs(steps) - whole)
    current = images
    for _ in range(whole):
        current = neighbourhood(current, reduce)
    if frac:
        current = current * (1 - frac) + neighbourhood(current, reduce) * frac
    return current if current is not images else images.copy()


def thickened(images: np.ndarray, steps: float | np.ndarray) -> np.ndarray:
    """``(n, h, w)`` float images with strokes ``steps`` dilations thicker (negative: erosions
    thinner), one value for all or one per image; a fractional step blends the two nearest whole
    steps."""
    images = np.asarray(images, np.float32)
    n = len(images)
    steps = np.broadcast_to(np.asarray(steps, np.float32), (n,))
    deepest = int(np.ceil(np.abs(steps).max())) if n else 0
    if deepest == 0:
        return images.copy()
    # Levels -deepest..deepest: erosions, the image, dilations.
    levels = np.empty((2 * deepest + 1, *images.shape), np.float32)
    levels[deepest] = images
    for k in range(1, deepest + 1):
        levels[deepest + k] = neighbourhood(levels[deepest + k - 1], np.maximum)
        levels[deepest - k] = neighbourhood(levels[deepest - k + 1], np.minimum)
    position = steps + deepest
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, 2 * deepest)
    frac = (position - low)[:, None, None]
    every = np.arange(n)
    out = levels[low, every]
    out += frac * (levels[high, every] - out)
    return out


TRANSFORMS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "noise": add_noise, "rotation": rotation, "shift": shift, "thickness": thickness,
}
