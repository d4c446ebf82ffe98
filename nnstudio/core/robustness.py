"""How a network's accuracy holds up when its digits are disturbed: Gaussian noise, rotation, shift
and thinner or thicker strokes, each at a range of strengths, on a fixed seeded subset.

Every transform works on a whole batch at once (vectorised NumPy) and is deterministic: the same
images, transform and level give the same pixels, so a curve can be compared across epochs and
networks. Strength 0 of every transform leaves the images exactly as the network sees them
unchanged, so each curve starts at the plain accuracy of the subset.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from nnstudio.core.network import Network, as_inputs

SUBSET_SIZE = 2000
SUBSET_SEED = 2026
NOISE_SEED = 7
CHUNK = 500  # images transformed and classified at a time


@dataclass(frozen=True)
class Perturbation:
    """One kind of disturbance: its name, how its strength reads, and its default levels."""

    name: str  # "noise", "rotation", "shift", "thickness"
    title: str
    unit: str
    levels: tuple[float, ...]


PERTURBATIONS: dict[str, Perturbation] = {
    "noise": Perturbation("noise", "Gaussian noise", "σ (pixel scale 0-1)",
                          (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)),
    "rotation": Perturbation("rotation", "Rotation", "degrees",
                             (-60.0, -45.0, -30.0, -15.0, 0.0, 15.0, 30.0, 45.0, 60.0)),
    "shift": Perturbation("shift", "Shift", "pixels", (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)),
    "thickness": Perturbation("thickness", "Stroke thickness", "steps (negative: thinner)",
                              (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)),
}


@dataclass(frozen=True)
class CurvePoint:
    """One measured level of a curve, as it arrives (``done`` of ``total`` levels so far)."""

    name: str
    level: float
    accuracy: float
    done: int
    total: int


@dataclass(frozen=True, eq=False)
class RobustnessCurve:
    name: str
    levels: np.ndarray
    accuracy: np.ndarray


def fixed_subset(count: int, size: int = SUBSET_SIZE, seed: int = SUBSET_SEED) -> np.ndarray:
    """Indices of a fixed, seeded sample of ``size`` out of ``count`` images, in ascending order."""
    if count <= size:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size, replace=False))


def perturb(name: str, images: np.ndarray, level: float, image_shape: tuple[int, int] = (28, 28),
            *, seed: int = NOISE_SEED) -> np.ndarray:
    """``images`` (uint8 or float rows or ``(n, h, w)``) disturbed by ``name`` at ``level``, as float32
    rows in [0, 1] ready for the network; ``seed`` draws the noise (the other transforms draw nothing)."""
    if name not in TRANSFORMS:
        raise ValueError(f"unknown perturbation {name!r}; choose from {', '.join(PERTURBATIONS)}")
    rows = as_inputs(images, np.float32)
    if level == 0:
        return rows
    h, w = image_shape
    stack = rows.reshape(len(rows), h, w)
    out = _noise(stack, float(level), seed) if name == "noise" else TRANSFORMS[name](stack, float(level))
    return np.clip(out, 0.0, 1.0, out=out).reshape(len(rows), h * w).astype(np.float32, copy=False)


def robustness_curve(network: Network, images: np.ndarray, labels: np.ndarray, name: str,
                     levels: tuple[float, ...] | None = None, image_shape: tuple[int, int] = (28, 28),
                     ) -> Iterator[CurvePoint]:
    """Yield the accuracy at each level of ``name`` as it is measured; returns the whole curve."""
    levels = PERTURBATIONS[name].levels if levels is None else tuple(levels)
    labels = np.asarray(labels)
    accuracy = np.empty(len(levels))
    for i, level in enumerate(levels):
        hits = 0
        # In chunks: each NumPy call stays short, so a GUI thread waiting for the GIL waits little.
        for start in range(0, len(labels), CHUNK):
            part = images[start:start + CHUNK]
            # Level 0 is the plain input exactly as the network sees it: the curve starts at the accuracy.
            x = (as_inputs(part, network.dtype) if level == 0
                 else perturb(name, part, level, image_shape, seed=NOISE_SEED + start))
            z = network.feedforward(x.astype(network.dtype, copy=False))[-1]
            hits += int(np.count_nonzero(z.argmax(axis=1) == labels[start:start + CHUNK]))
        accuracy[i] = hits / max(len(labels), 1)
        yield CurvePoint(name, float(level), float(accuracy[i]), i + 1, len(levels))
    return RobustnessCurve(name, np.array(levels, dtype=float), accuracy)


def all_curves(network: Network, images: np.ndarray, labels: np.ndarray,
               image_shape: tuple[int, int] = (28, 28)) -> Iterator[CurvePoint]:
    """Every perturbation's curve in turn; returns ``{name: RobustnessCurve}``."""
    curves = {}
    for name in PERTURBATIONS:
        curves[name] = yield from robustness_curve(network, images, labels, name, image_shape=image_shape)
    return curves


# -- the transforms: (n, h, w) float32 in [0, 1] -> same shape ----------------------------------

def _noise(images: np.ndarray, sigma: float, seed: int = NOISE_SEED) -> np.ndarray:
    # One seeded draw of unit noise for every level: a higher sigma is the same noise, stronger.
    noise = _unit_noise(images.shape, seed) * np.float32(sigma)
    noise += images
    return noise


@functools.lru_cache(maxsize=8)
def _unit_noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """The seeded standard normal draw of ``shape`` (read-only): drawn once, not once per level."""
    noise = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
    noise.setflags(write=False)
    return noise


def _sample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear sampling of every image at the same source coordinates ``rows``/``cols`` (each
    ``(h, w)``), zero outside the image: four gathers of whole pixel columns, weighted (a dense
    ``(h*w, h*w)`` resampling matrix cost 100 times more arithmetic for its four non-zeros a column)."""
    n, h, w = images.shape
    sources, weights = _bilinear_taps(h, w, rows.tobytes(), cols.tobytes())
    flat = images.reshape(n, h * w)
    out = flat[:, sources[0]] * weights[0]
    for source, weight in zip(sources[1:], weights[1:]):
        out += flat[:, source] * weight
    return out.reshape(n, h, w)


@functools.lru_cache(maxsize=64)
def _bilinear_taps(h: int, w: int, rows: bytes, cols: bytes) -> tuple[np.ndarray, np.ndarray]:
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


def _rotation(images: np.ndarray, degrees: float) -> np.ndarray:
    """Turn each digit anticlockwise by ``degrees`` about the image centre."""
    _, h, w = images.shape
    a = np.deg2rad(degrees)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    dy, dx = y - cy, x - cx
    # The inverse rotation maps each output pixel to where it comes from (rows grow downwards).
    rows = cy + np.cos(a) * dy + np.sin(a) * dx
    cols = cx - np.sin(a) * dy + np.cos(a) * dx
    return _sample(images, rows, cols)


SHIFT_DIRECTIONS = 8


def _shift(images: np.ndarray, pixels: float) -> np.ndarray:
    """Move each digit by ``pixels``: image ``i`` towards direction ``i % 8`` of the eight compass
    directions (right, up-right, up, ...), so every direction is tried equally often."""
    _, h, w = images.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty_like(images)
    for k in range(SHIFT_DIRECTIONS):
        angle = 2 * np.pi * k / SHIFT_DIRECTIONS
        dy, dx = -pixels * np.sin(angle), pixels * np.cos(angle)
        out[k::SHIFT_DIRECTIONS] = _sample(images[k::SHIFT_DIRECTIONS], y - dy, x - dx)
    return out


def _neighbourhood(images: np.ndarray, reduce: Callable) -> np.ndarray:
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


def _thickness(images: np.ndarray, steps: float) -> np.ndarray:
    """Thicker strokes for positive ``steps`` (dilations), thinner for negative (erosions); a
    fractional step blends the two nearest whole steps."""
    reduce = np.maximum if steps > 0 else np.minimum
    whole = int(np.floor(abs(steps)))
    frac = np.float32(abs(steps) - whole)
    current = images
    for _ in range(whole):
        current = _neighbourhood(current, reduce)
    if frac:
        current = current * (1 - frac) + _neighbourhood(current, reduce) * frac
    return current if current is not images else images.copy()


TRANSFORMS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "noise": _noise, "rotation": _rotation, "shift": _shift, "thickness": _thickness,
}
