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


def robustness_curve(network: Network, images: "np.ndarray | PerturbedImages", labels: np.ndarray, name: str,
                     levels: tuple[float, ...] | None = None, image_shape: tuple[int, int] = (28, 28),
                     ) -> Iterator[CurvePoint]:
    """Yield the accuracy at each level of ``name`` as it is measured; returns the whole curve.

    ``images`` may be a :class:`PerturbedImages` of them, kept by the caller: then what does not depend
    on the network (the disturbed pixels, the noise draws) is computed once for every curve and epoch."""
    if name not in TRANSFORMS:
        raise ValueError(f"unknown perturbation {name!r}; choose from {', '.join(PERTURBATIONS)}")
    prepared = images if isinstance(images, PerturbedImages) else PerturbedImages(images, image_shape)
    levels = PERTURBATIONS[name].levels if levels is None else tuple(levels)
    labels = np.asarray(labels)
    accuracy = np.empty(len(levels))
    for i, level in enumerate(levels):
        accuracy[i] = prepared.accuracy(network, labels, name, level)
        yield CurvePoint(name, float(level), float(accuracy[i]), i + 1, len(levels))
    return RobustnessCurve(name, np.array(levels, dtype=float), accuracy)


def all_curves(network: Network, images: "np.ndarray | PerturbedImages", labels: np.ndarray,
               image_shape: tuple[int, int] = (28, 28)) -> Iterator[CurvePoint]:
    """Every perturbation's curve in turn; returns ``{name: RobustnessCurve}``."""
    prepared = images if isinstance(images, PerturbedImages) else PerturbedImages(images, image_shape)
    curves = {}
    for name in PERTURBATIONS:
        curves[name] = yield from robustness_curve(network, prepared, labels, name)
    return curves


class PerturbedImages:
    """What every curve needs of one set of images that does not depend on the network, made on first
    use and kept, so that a curve measured after every epoch costs little more than the network's passes.

    Kept chunk by chunk (the 500 images the network reads at a time, so that each chunk's work stays in
    the CPU's cache), pixel-major (a row per pixel, ``(h*w, 500)``): a rotation or shift gathers 784
    whole rows instead of single pixels of each image, and a stroke step compares whole rows. Kept for
    each chunk: its pixels as the network sees them, its noise draw, its images by shift direction and
    its whole stroke steps (thinner and thicker), so a noise level or a fractional step is one blend.
    For 2,000 digits about 27 MB (pixels, noise and shift directions 6.3 MB each; five stroke steps,
    bytes when the images are bytes, 1.6 MB each).

    The pixels equal :func:`perturb`'s for each chunk (the noise seeded per chunk, the shift's directions
    counted within each chunk), and the network reads the same chunks in the same order, so a curve is
    the same to the last bit as one measured chunk by chunk from :func:`perturb`.
    """

    def __init__(self, images: np.ndarray, image_shape: tuple[int, int] = (28, 28), chunk: int = CHUNK) -> None:
        self.images = np.asarray(images)
        self.image_shape = tuple(image_shape)
        self.count = len(self.images)
        self.chunks = [_Chunk(self.images[start:start + chunk], start, self.image_shape)
                       for start in range(0, self.count, chunk)]

    @property
    def nbytes(self) -> int:
        """What the kept arrays take now."""
        return sum(part.nbytes for part in self.chunks)

    def accuracy(self, network: Network, labels: np.ndarray, name: str, level: float) -> float:
        """The share of the images ``network`` reads right when disturbed by ``name`` at ``level``."""
        if name not in TRANSFORMS:
            raise ValueError(f"unknown perturbation {name!r}; choose from {', '.join(PERTURBATIONS)}")
        hits = 0
        for part in self.chunks:
            if level == 0 and network.dtype != np.float32:  # the plain input, in the network's precision
                x = as_inputs(part.images, network.dtype)
            else:
                x = part.inputs(name, level).T.astype(network.dtype, copy=False)
            z = network.feedforward(x)[-1]
            hits += int(np.count_nonzero(z.argmax(axis=1) == labels[part.start:part.start + len(part.images)]))
        return hits / max(self.count, 1)

    def inputs(self, name: str, level: float) -> np.ndarray:
        """The disturbed images as rows ``(n, h*w)`` float32 in [0, 1], as :func:`perturb` gives them
        chunk by chunk."""
        if name not in TRANSFORMS:
            raise ValueError(f"unknown perturbation {name!r}; choose from {', '.join(PERTURBATIONS)}")
        if not self.chunks:
            return np.empty((0, self.image_shape[0] * self.image_shape[1]), np.float32)
        return np.concatenate([part.inputs(name, level) for part in self.chunks], axis=1).T


class _Chunk:
    """One chunk of :class:`PerturbedImages`: what it keeps, pixel-major, filled on first use."""

    def __init__(self, images: np.ndarray, start: int, image_shape: tuple[int, int]) -> None:
        self.images, self.start, self.image_shape = images, start, image_shape
        self._pixels: np.ndarray | None = None
        self._noise: np.ndarray | None = None
        self._groups: list[np.ndarray] | None = None
        self._steps: dict[int, np.ndarray] = {}  # +k: k thicker steps, -k: k thinner (pixel-major (h, w, m))

    @property
    def nbytes(self) -> int:
        kept = [self._pixels, self._noise, *self._steps.values(), *(self._groups or ())]
        return sum(a.nbytes for a in kept if a is not None)

    def inputs(self, name: str, level: float) -> np.ndarray:
        """The chunk disturbed, pixel-major ``(h*w, m)`` float32; level 0 gives the kept pixels (read-only)."""
        pixels = self.pixels
        if level == 0:
            return pixels
        level = float(level)
        if name == "noise":  # as _noise: the unit draw times sigma, plus the image
            out = np.multiply(self.noise, np.float32(level))
            out += pixels
        elif name == "rotation":
            out = _sample_major(pixels, *_rotation_coordinates(self.image_shape, level))
        elif name == "shift":  # as _shift: image i towards direction i % 8
            out = np.empty_like(pixels)
            for k, block in enumerate(self.groups):
                out[:, k::SHIFT_DIRECTIONS] = _sample_major(block, *_shift_coordinates(self.image_shape, level, k))
        else:
            out = self._thickness(level)
        return np.clip(out, 0.0, 1.0, out=out)

    @property
    def pixels(self) -> np.ndarray:
        if self._pixels is None:
            pixels = np.ascontiguousarray(as_inputs(self.images, np.float32).T)
            pixels.setflags(write=False)
            self._pixels = pixels
        return self._pixels

    @property
    def noise(self) -> np.ndarray:
        """Unit noise, pixel-major: the draw of seed ``NOISE_SEED + start``, as :func:`perturb` draws it."""
        if self._noise is None:
            h, w = self.image_shape
            m = len(self.images)
            draw = np.random.default_rng(NOISE_SEED + self.start).standard_normal((m, h, w), dtype=np.float32)
            noise = np.ascontiguousarray(draw.reshape(m, h * w).T)
            noise.setflags(write=False)
            self._noise = noise
        return self._noise

    @property
    def groups(self) -> list[np.ndarray]:
        """The pixels of the images going towards each shift direction (every 8th column), contiguous."""
        if self._groups is None:
            groups = [np.ascontiguousarray(self.pixels[:, k::SHIFT_DIRECTIONS]) for k in range(SHIFT_DIRECTIONS)]
            for block in groups:
                block.setflags(write=False)
            self._groups = groups
        return self._groups

    def _step(self, k: int) -> np.ndarray:
        """``|k|`` whole steps thicker (``k > 0``) or thinner, pixel-major ``(h, w, m)``: of the bytes when
        the images are bytes (a maximum or minimum of bytes, scaled after, is the maximum or minimum of
        the scaled pixels: the same values), else of the pixels."""
        m = len(self.images)
        if k == 0:
            if self.images.dtype == np.uint8:
                return np.ascontiguousarray(self.images.reshape(m, -1).T).reshape(*self.image_shape, m)
            return self.pixels.reshape(*self.image_shape, m)
        if k not in self._steps:
            step = _neighbourhood_major(self._step(k - 1 if k > 0 else k + 1), np.maximum if k > 0 else np.minimum)
            step.setflags(write=False)
            self._steps[k] = step
        return self._steps[k]

    def _step_pixels(self, k: int) -> np.ndarray:
        """Step ``k`` as pixels the network reads, a new array."""
        step = self._step(k).reshape(-1, len(self.images))
        return as_inputs(step, np.float32) if step.dtype == np.uint8 else step.copy()

    def _thickness(self, steps: float) -> np.ndarray:
        sign = 1 if steps > 0 else -1
        whole = int(np.floor(abs(steps)))
        frac = np.float32(abs(steps) - whole)
        current = self._step_pixels(sign * whole)
        if frac:  # as _thickness: a fractional step blends the two nearest whole steps
            current *= 1 - frac
            thicker = self._step_pixels(sign * (whole + 1))
            thicker *= frac
            current += thicker
        return current


def _sample_major(pixels: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """:func:`_sample` of pixel-major images ``(h*w, n)``: the same four weighted taps added in the same
    order, each a gather of whole rows; about 256 kB of output at a time, so that the taps being added
    stay in the CPU's cache (three times faster than a chunk of 500 images at once)."""
    h, w = rows.shape
    taps = _bilinear_taps(h, w, rows.tobytes(), cols.tobytes())
    out = np.empty((h * w, pixels.shape[1]), np.float32)
    block = _rows_per_block(pixels.shape[1])
    for start in range(0, h * w, block):
        _sample_rows(pixels, taps, slice(start, start + block), out[start:start + block])
    return out


def _rows_per_block(columns: int) -> int:
    """How many output pixels (rows) of ``columns`` images make about 256 kB."""
    return max(32, (1 << 16) // max(columns, 1))


def _sample_rows(pixels: np.ndarray, taps: tuple[np.ndarray, np.ndarray], part: slice, into: np.ndarray) -> None:
    """Output pixels ``part`` of :func:`_sample_major`, written into ``into`` (contiguous)."""
    sources, weights = taps
    np.take(pixels, sources[0][part], axis=0, out=into)
    into *= weights[0][part, None]
    for source, weight in zip(sources[1:], weights[1:]):
        tap = pixels[source[part]]
        tap *= weight[part, None]
        into += tap


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


def _rotation_coordinates(image_shape: tuple[int, int], degrees: float) -> tuple[np.ndarray, np.ndarray]:
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


def _rotation(images: np.ndarray, degrees: float) -> np.ndarray:
    """Turn each digit anticlockwise by ``degrees`` about the image centre."""
    return _sample(images, *_rotation_coordinates(images.shape[1:], degrees))


SHIFT_DIRECTIONS = 8


def _shift_coordinates(image_shape: tuple[int, int], pixels: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each output pixel of a move by ``pixels`` towards compass direction ``k`` comes from."""
    h, w = image_shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    angle = 2 * np.pi * k / SHIFT_DIRECTIONS
    dy, dx = -pixels * np.sin(angle), pixels * np.cos(angle)
    return y - dy, x - dx


def _shift(images: np.ndarray, pixels: float) -> np.ndarray:
    """Move each digit by ``pixels``: image ``i`` towards direction ``i % 8`` of the eight compass
    directions (right, up-right, up, ...), so every direction is tried equally often."""
    out = np.empty_like(images)
    for k in range(SHIFT_DIRECTIONS):
        out[k::SHIFT_DIRECTIONS] = _sample(images[k::SHIFT_DIRECTIONS], *_shift_coordinates(images.shape[1:], pixels, k))
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


def _neighbourhood_major(images: np.ndarray, reduce: Callable) -> np.ndarray:
    """:func:`_neighbourhood` of pixel-major images ``(h, w, n)``: each comparison is of whole rows."""
    out = images.copy()
    reduce(out[1:], images[:-1], out=out[1:])
    reduce(out[:-1], images[1:], out=out[:-1])
    reduce(out[:, 1:], images[:, :-1], out=out[:, 1:])
    reduce(out[:, :-1], images[:, 1:], out=out[:, :-1])
    if reduce is np.minimum:
        out[0] = out[-1] = 0
        out[:, 0] = out[:, -1] = 0
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
