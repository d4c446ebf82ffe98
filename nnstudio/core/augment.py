"""Random distortions of training digits, so a network learns the digit and not the pixels.

:class:`Augmenter` turns a batch of uint8 image rows into float rows in [0, 1], each image
distorted by its own random draw of:

- **stroke thickness**: grey dilation (thicker) or erosion (thinner) over a plus-shaped 3×3
  neighbourhood, a fractional step blending the two nearest whole steps (the same steps as the
  robustness curves' "thickness");
- an **affine map**: rotation, scale, shear and shift, drawn uniformly within the given bounds;
- **elastic distortion** as in Simard, Steinkraus & Platt, "Best practices for convolutional
  neural networks applied to visual document analysis" (ICDAR 2003): a field of uniform random
  displacements in [-1, 1], smoothed by a Gaussian of ``sigma`` pixels and scaled by ``alpha``. The
  fields are drawn once into a pool (smoothing is the costly part); each image takes its vertical
  and its horizontal displacement from two independently chosen fields of the pool, each with a
  random sign, so a pool of 512 gives about four million different distortions;
- **Gaussian pixel noise** of standard deviation ``noise`` (pixels on the 0..1 scale), clipped.

The affine map and the elastic field are combined into one sampling grid, and every image is
resampled once, bilinearly, with zeros outside the frame: interpolation only mixes neighbouring
pixels, so the range [0, 1] is kept. Everything is vectorised over the batch and drawn from the
augmenter's own generator: the same seed gives the same pixels.
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from nnstudio.core.limits import LIMITS

#: Fields in the elastic pool, and the padding around each image for the sampler.
POOL_SIZE = 512
PAD = 2
#: Images distorted at a time: larger batches go in chunks.
CHUNK = 256


#: Each strength's words in a message, and its entry in nnstudio.core.limits.LIMITS.
LABELS = {"shift": ("augmentation shift", "pixels"), "rotate": ("rotation", "degrees"), "scale": ("scale", ""),
          "shear": ("shear", "degrees"), "elastic_alpha": ("elastic alpha", ""),
          "elastic_sigma": ("elastic sigma", "pixels"), "noise": ("noise", ""), "thickness": ("thickness", "steps")}
LIMIT_NAMES = {"shift": "augmenter_shift", "rotate": "augment_rotate", "scale": "augment_scale",
               "shear": "augment_shear", "elastic_alpha": "elastic_alpha", "elastic_sigma": "elastic_sigma",
               "noise": "augment_noise", "thickness": "augment_thickness"}


@dataclass(frozen=True)
class Augmentation:
    """How strongly to distort each training image; every zero strength is off."""

    shift: float = 0.0  # pixels, uniform in ±shift in each direction
    rotate: float = 0.0  # degrees, uniform in ±rotate
    scale: float = 0.0  # fraction: 0.1 scales by a factor in [0.9, 1.1]
    shear: float = 0.0  # degrees, uniform in ±shear
    elastic_alpha: float = 0.0  # pixels (the displacement field's scale); 0 is off
    elastic_sigma: float = 4.0  # pixels (the smoothing's standard deviation)
    noise: float = 0.0  # standard deviation on the 0..1 pixel scale
    thickness: float = 0.0  # steps, uniform in ±thickness (+ thicker, - thinner)

    def problems(self) -> list[str]:
        """Every reason these strengths cannot be used, in plain words (empty when valid)."""
        found = []
        for name, (label, unit) in LABELS.items():
            value = getattr(self, name)
            low, high = LIMITS[LIMIT_NAMES[name]]
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
                found.append(f"{label} must be a number from {low:g} to {high:g}{' ' + unit if unit else ''}")
        return found

    @property
    def warps(self) -> bool:
        """Whether images are resampled (any affine or elastic part is on)."""
        return bool(self.shift or self.rotate or self.scale or self.shear or self.elastic_alpha)

    @property
    def active(self) -> bool:
        return bool(self.warps or self.noise or self.thickness)

    def replace(self, **changes) -> "Augmentation":
        return dataclasses.replace(self, **changes)


class Augmenter:
    """Distorts batches of images as :class:`Augmentation` says, reproducibly from ``seed``."""

    def __init__(self, settings: Augmentation, image_shape: tuple[int, int] = (28, 28), *,
                 seed: int | np.random.Generator = 0, pool_size: int = POOL_SIZE) -> None:
        problems = settings.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self.image_shape = (int(image_shape[0]), int(image_shape[1]))
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.pool_size = int(pool_size)
        h, w = self.image_shape
        self._padded_shape = (h + 2 * PAD, w + 2 * PAD)
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        cy, cx = (h - 1) / 2, (w - 1) / 2
        # Each output pixel's offset from the centre, and a row of ones: a batch's affine
        # source coordinates are then one small matrix product.
        self._basis = np.stack([(y - cy).ravel(), (x - cx).ravel(), np.ones(h * w, np.float32)])
        self._centre = (np.float32(cy + PAD), np.float32(cx + PAD))
        self._unit_fields: np.ndarray | None = None
        self._fields: np.ndarray | None = None
        self._fields_for: tuple[float, float] | None = None
        self._sampler = Sampler()
        self.settings = settings

    # -- settings ---------------------------------------------------------------------------

    @property
    def settings(self) -> Augmentation:
        return self._settings

    @settings.setter
    def settings(self, value: Augmentation) -> None:
        """New strengths, from the next batch on (the elastic pool is redrawn only for a new sigma)."""
        problems = value.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self._settings = value

    def _elastic_pool(self) -> np.ndarray:
        s = self._settings
        if self._fields_for != (s.elastic_alpha, s.elastic_sigma):
            if self._unit_fields is None or self._fields_for is None or self._fields_for[1] != s.elastic_sigma:
                self._unit_fields = smooth_fields(self.rng, self.pool_size, self.image_shape, s.elastic_sigma)
            fields = (self._unit_fields * np.float32(s.elastic_alpha)).reshape(self.pool_size, -1)
            self._fields = np.concatenate([fields, -fields])
            self._fields_for = (s.elastic_alpha, s.elastic_sigma)
        return self._fields

    # -- the work ---------------------------------------------------------------------------

    def __call__(self, pixels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``pixels`` (uint8 rows ``(n, h*w)``, or ``(n, h, w)``) distorted, as float rows in [0, 1]
        written into ``out`` (float32 ``(n, h*w)`` unless given)."""
        s = self._settings
        h, w = self.image_shape
        n = len(pixels)
        rows = np.asarray(pixels).reshape(n, h * w)
        if out is None:
            out = np.empty((n, h * w), np.float32)
        if n > CHUNK:  # a chunk's buffers stay in the cache
            for start in range(0, n, CHUNK):
                self(rows[start:start + CHUNK], out[start:start + CHUNK])
            return out
        scale = out.dtype.type(1 / 255) if rows.dtype == np.uint8 else out.dtype.type(1)
        if not s.warps and not s.thickness:
            np.multiply(rows, scale, out=out)
        elif not s.thickness:
            self._warp(rows.reshape(n, h, w), out, scale)  # the pixels are scaled at the end, once
        else:
            images = self._sampler.buffer("images", (n, h, w), np.float32)
            np.multiply(rows.reshape(n, h, w), scale, out=images)
            steps = self.rng.uniform(-s.thickness, s.thickness, n).astype(np.float32)
            images = thickened(images, steps)
            if s.warps:
                self._warp(images, out, 1.0)
            else:
                out[...] = images.reshape(n, h * w)
        if s.noise:
            noise = self.rng.standard_normal(out.shape, dtype=np.float32)
            noise *= np.float32(s.noise)
            out += noise
            np.clip(out, 0, 1, out=out)
        return out

    def _warp(self, images: np.ndarray, out: np.ndarray, scale: float) -> None:
        """Resample each image under its own random affine map and elastic field, into ``out``."""
        s, rng = self._settings, self.rng
        n, h, w = images.shape
        angle = np.deg2rad(rng.uniform(-s.rotate, s.rotate, n)) if s.rotate else np.zeros(n)
        zoom = rng.uniform(1 - s.scale, 1 + s.scale, n) if s.scale else np.ones(n)
        slant = np.tan(np.deg2rad(rng.uniform(-s.shear, s.shear, n))) if s.shear else np.zeros(n)
        shift = rng.uniform(-s.shift, s.shift, (2, n)) if s.shift else np.zeros((2, n))
        # Where each output pixel comes from: the inverse map (rotation, shear, 1/zoom) of its
        # offset from the centre, moved by the shift.
        cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
        coefficients = np.empty((2 * n, 3), np.float32)  # rows' then columns': dy, dx, constant
        coefficients[:n, 0], coefficients[:n, 1] = cos + sin * slant, sin
        coefficients[n:, 0], coefficients[n:, 1] = cos * slant - sin, cos
        coefficients[:n, 2], coefficients[n:, 2] = self._centre[0] - shift[0], self._centre[1] - shift[1]
        src = self._sampler.buffer("src", (2 * n, h * w), np.float32)
        np.matmul(coefficients, self._basis, out=src)
        if s.elastic_alpha:
            fields = self._elastic_pool()  # each field twice: as drawn and negated
            term = self._sampler.buffer("term", (2 * n, h * w), np.float32)
            np.take(fields, rng.integers(0, len(fields), 2 * n), axis=0, out=term, mode="clip")
            src += term
        self._sampler(images, src[:n], src[n:], out, scale)


class Prefetcher:
    """Distorts the next batch on a helper thread while the current one trains.

    NumPy releases the GIL inside its loops, so on a machine with a core to spare the
    distortion costs the training thread little more than a copy. Call :meth:`take` for the
    batch now, then :meth:`request` for the next: one job at a time, in order, so the
    augmenter's random draws (and the pixels) are the same as without the helper thread.
    """

    def __init__(self, augmenter: Augmenter, images: np.ndarray) -> None:
        self.augmenter, self.images = augmenter, images
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(1, thread_name_prefix="nnstudio-augment")
        self._pending: tuple[np.ndarray, Future] | None = None
        self._buffer: np.ndarray | None = None

    def request(self, index: np.ndarray) -> None:
        """Start distorting ``images[index]`` (after :meth:`take` of the batch before)."""
        self._settle()
        n, width = len(index), self.images.shape[1]
        if self._buffer is None or len(self._buffer) < n:
            self._buffer = np.empty((n, width), np.float32)
        buffer, index = self._buffer[:n], np.array(index)
        self._pending = (index, self._pool.submit(self._job, index, buffer))

    def _job(self, index: np.ndarray, buffer: np.ndarray) -> np.ndarray:
        return self.augmenter(self.images[index], out=buffer)

    def take(self, index: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``images[index]`` distorted, into ``out``: the requested batch if it is this one, else made now."""
        pending, self._pending = self._pending, None
        if pending is not None:
            result = pending[1].result()
            if len(pending[0]) == len(index) and np.array_equal(pending[0], index):
                np.copyto(out, result)
                return out
        return self.augmenter(self.images[index], out=out)

    def _settle(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending[1].result()

    def close(self) -> None:
        """Wait for the job in hand (a batch at most) and end the helper thread."""
        if self._pool is not None:
            try:
                self._settle()
            finally:
                self._pool.shutdown(wait=True)
                self._pool = None


class Sampler:
    """Bilinear resampling of batches of images, with buffers kept between calls.

    The images are written once into zero-padded float32 frames, laid end to end. Each output pixel's source coordinate becomes the flat index of the upper-left corner of
    its interpolation square, and four gathers with that one index array, from the frames and
    from the frames shifted by one column, one row and both, fetch the four corners of the whole
    batch. Coordinates are truncated to integers and the corner clipped into the frame's border:
    outside the image both rows (or columns) of a square lie in the zero border, so whatever the
    fraction, the sample is zero; inside, truncation is the floor. All arithmetic is float32 or
    int32 in contiguous buffers.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def buffer(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        size = math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(size, dtype)
        return buf[:size].reshape(shape)

    def _frames(self, images: np.ndarray) -> np.ndarray:
        """``images`` written into zero-bordered float32 frames, flat (the border is zeroed once, when
        made; uint8 pixels are converted on the way in, so every later step is float32)."""
        n, h, w = images.shape
        ph, pw = h + 2 * PAD, w + 2 * PAD
        name = "frames"
        frames = self._buffers.get(name)
        if frames is None or frames.size < n * ph * pw or frames.shape[1:] != (ph, pw):
            frames = self._buffers[name] = np.zeros((max(n, 1), ph, pw), np.float32)
        frames[:n, PAD:PAD + h, PAD:PAD + w] = images
        return frames.reshape(-1)

    def __call__(self, images: np.ndarray, rows: np.ndarray, cols: np.ndarray, out: np.ndarray,
                 scale: float = 1.0) -> np.ndarray:
        """Bilinear samples of ``images`` ``(n, h, w)`` at ``(rows, cols)`` (each ``(n, h*w)``, in the
        frame padded by :data:`PAD` pixels; overwritten), zeros outside the image, times ``scale``,
        into ``out``."""
        n, h, w = images.shape
        ph, pw = h + 2 * PAD, w + 2 * PAD
        flat = self._frames(images)
        shape = rows.shape
        r0, c0 = self.buffer("r0", shape, np.int32), self.buffer("c0", shape, np.int32)
        np.copyto(r0, rows, casting="unsafe")  # truncation: the floor wherever the sample is not zero
        np.copyto(c0, cols, casting="unsafe")
        np.subtract(rows, r0, out=rows, dtype=np.float32)  # now the fractions
        np.subtract(cols, c0, out=cols, dtype=np.float32)
        np.clip(r0, 0, ph - 2, out=r0)  # a square outside the image lies in the zero border
        np.clip(c0, 0, pw - 2, out=c0)
        starts = self._buffers.get("starts")
        if starts is None or len(starts) < n or starts[1, 0] != ph:
            starts = self._buffers["starts"] = np.arange(max(n, 2), dtype=np.int32)[:, None] * ph
        r0 += starts[:n]  # the row in the stack of frames
        r0 *= pw
        r0 += c0  # the flat index of each square's upper-left corner (below 2**31: n*ph*pw is small)
        corners = [self.buffer(f"corner {k}", shape, np.float32) for k in range(4)]
        for corner, offset in zip(corners, (0, 1, pw, pw + 1)):
            np.take(flat[offset:], r0, out=corner, mode="wrap")  # in range: "wrap" changes nothing, fastest
        tl, tr, bl, br = corners
        top, bottom = self.buffer("top", shape, np.float32), self.buffer("bottom", shape, np.float32)
        np.subtract(tr, tl, out=top)
        top *= cols
        top += tl
        np.subtract(br, bl, out=bottom)
        bottom *= cols
        bottom += bl
        bottom -= top
        bottom *= rows
        if scale != 1:
            top += bottom
            np.multiply(top, np.float32(scale), out=out)
        else:
            np.add(top, bottom, out=out)
        return out


def sample_bilinear(images: np.ndarray, rows: np.ndarray, cols: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:class:`Sampler`'s work once, with fresh buffers."""
    return Sampler()(images, rows, cols, out)


def smooth_fields(rng: np.random.Generator, count: int, image_shape: tuple[int, int], sigma: float) -> np.ndarray:
    """``count`` fields of uniform random values in [-1, 1], each smoothed by a Gaussian of
    ``sigma`` pixels (zeros beyond the frame, cut at 4 sigma), as float32 ``(count, h, w)``."""
    h, w = image_shape
    noise = rng.uniform(-1, 1, (count, h, w))
    smoothed = gaussian_matrix(h, sigma) @ noise @ gaussian_matrix(w, sigma).T
    return smoothed.astype(np.float32)


def gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """The ``(size, size)`` matrix of a 1-D Gaussian blur with zeros beyond the ends."""
    radius = int(4 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    offsets = np.arange(size)[None, :] - np.arange(size)[:, None]
    inside = np.abs(offsets) <= radius
    return np.where(inside, taps[np.clip(offsets + radius, 0, 2 * radius)], 0.0)


# -- fixed transforms (for tests, robustness checks and previews) ---------------------------------

def neighbourhood(images: np.ndarray, reduce) -> np.ndarray:
    """Grey dilation (``np.maximum``) or erosion (``np.minimum``) of ``(n, h, w)`` images over a
    plus-shaped 3×3 neighbourhood; outside the image counts as paper."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    h, w = images.shape[1:]
    out = images.copy()
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        reduce(out, padded[:, dy:dy + h, dx:dx + w], out=out)
    return out


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


def rotated(images: np.ndarray, degrees: float) -> np.ndarray:
    """``(n, h, w)`` images turned anticlockwise by ``degrees`` about the centre, as float rows ``(n, h*w)``."""
    images = np.asarray(images, np.float32)
    n, h, w = images.shape
    a = np.deg2rad(degrees)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    dy, dx = (y - (h - 1) / 2).ravel(), (x - (w - 1) / 2).ravel()
    rows = np.broadcast_to((h - 1) / 2 + PAD + np.cos(a) * dy + np.sin(a) * dx, (n, h * w)).astype(np.float32)
    cols = np.broadcast_to((w - 1) / 2 + PAD - np.sin(a) * dy + np.cos(a) * dx, (n, h * w)).astype(np.float32)
    return sample_bilinear(images, rows, cols, np.empty((n, h * w), np.float32))
