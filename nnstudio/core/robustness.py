"""How a network's accuracy holds up when its digits are disturbed: Gaussian noise, rotation, shift
and thinner or thicker strokes, each at a range of strengths, on a fixed seeded subset.

Every transform works on a whole batch at once (vectorised NumPy) and is deterministic: the same
images, transform and level give the same pixels, so a curve can be compared across epochs and
networks. Strength 0 of every transform leaves the images exactly as the network sees them
unchanged, so each curve starts at the plain accuracy of the subset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from nnstudio.core.disturbances import (NOISE_SEED, SHIFT_DIRECTIONS, TRANSFORMS, add_noise, bilinear_taps, neighbourhood_major,
                                        rotation_coordinates, shift_coordinates)
from nnstudio.core.network import Network, as_inputs

SUBSET_SIZE = 2000
SUBSET_SEED = 2026
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
    "thickness": Perturbation("thickness", "Stroke thickness", "steps (- thinner)",
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
    out = add_noise(stack, float(level), seed) if name == "noise" else TRANSFORMS[name](stack, float(level))
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
        if name == "noise":  # as disturbances.add_noise: the unit draw times sigma, plus the image
            out = np.multiply(self.noise, np.float32(level))
            out += pixels
        elif name == "rotation":
            out = _sample_major(pixels, *rotation_coordinates(self.image_shape, level))
        elif name == "shift":  # as disturbances.shift: image i towards direction i % 8
            out = np.empty_like(pixels)
            for k, block in enumerate(self.groups):
                out[:, k::SHIFT_DIRECTIONS] = _sample_major(block, *shift_coordinates(self.image_shape, level, k))
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
            step = neighbourhood_major(self._step(k - 1 if k > 0 else k + 1), np.maximum if k > 0 else np.minimum)
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
        if frac:  # as disturbances.thickness: a fractional step blends the two nearest whole steps
            current *= 1 - frac
            thicker = self._step_pixels(sign * (whole + 1))
            thicker *= frac
            current += thicker
        return current


def _sample_major(pixels: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """:func:`~nnstudio.core.disturbances.sample` of pixel-major images ``(h*w, n)``: the same four weighted taps added in the same
    order, each a gather of whole rows; about 256 kB of output at a time, so that the taps being added
    stay in the CPU's cache (three times faster than a chunk of 500 images at once)."""
    h, w = rows.shape
    taps = bilinear_taps(h, w, rows.tobytes(), cols.tobytes())
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
