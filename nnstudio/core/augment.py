"""Random distortions of training digits, so a network learns the digit and not the pixels.

:class:`Augmenter` turns a batch of uint8 image rows into float rows in [0, 1], each image
distorted by its own random draw of:

- **stroke thickness**: grey dilation (thicker) or erosion (thinner) over a plus-shaped 3×3
  neighbourhood, a fractional step blending the two nearest whole steps (the same steps as the
  robustness curves' "thickness"), drawn in ±thickness and moved by ``thickness_bias``;
- an **affine map**: rotation, scale, shear and shift, drawn uniformly within the given bounds;
- **elastic distortion** as in Simard, Steinkraus & Platt, "Best practices for convolutional
  neural networks applied to visual document analysis" (ICDAR 2003): a field of uniform random
  displacements in [-1, 1], smoothed by a Gaussian of ``sigma`` pixels and scaled by ``alpha``. The
  fields are drawn once into a pool (smoothing is the costly part), each field as drawn and
  negated; a batch takes its vertical and its horizontal displacements from two runs of
  consecutive fields at random starts (slices, no gather; the images come in random order), so
  each image gets any of 1,024 fields in each direction, about a million different distortions;
- **Gaussian pixel noise** of standard deviation ``noise`` (pixels on the 0..1 scale), clipped;
- a share ``unwarped`` of the images skips the affine map and the elastic field: the network also
  sees digits as drawn, only thicker or thinner (as the robustness curves' thinner digits are).

The affine map and the elastic field are combined into one sampling grid, and every image is
resampled once, bilinearly, with zeros outside the frame (:mod:`nnstudio.core.bilinear`):
interpolation only mixes neighbouring pixels, so the range [0, 1] is kept. A run draws each
epoch's grids once, into a :class:`WarpPool` of :data:`WARPS` affine maps with their elastic
fields, already split into interpolation squares; a batch takes a run of consecutive warps from a
random start (its images come in random order), so resampling an image is four gathers and two
interpolations, and the grid's arithmetic is paid once per warp, not once per image. Everything is
vectorised over the batch and drawn from the augmenter's own generator, or from one given for a
chunk of work: the same seed gives the same pixels. A run distorts ahead of the trainer on helper
processes: :mod:`nnstudio.core.prefetcher`.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from nnstudio.core.bilinear import PAD, Sampler, sample_bilinear, split_cells
from nnstudio.core.disturbances import thickened
from nnstudio.core.elastic_fields import smooth_fields
from nnstudio.core.limits import LIMITS

#: Fields in the elastic pool.
POOL_SIZE = 512
#: Images distorted at a time: more go in blocks of this many.
BLOCK = 256
#: Warps in an epoch's pool (each an affine map and an elastic field): each is used by about 26
#: of the 54,000 training images an epoch, and the next epoch draws new ones.
WARPS = 2048
#: The pool's generator's key after the epoch (a chunk's is its first batch, always smaller).
WARP_KEY = 2 ** 40
#: The elastic fields' generator's key, before sigma.
FIELDS_KEY = 2 ** 41


#: Each strength's words in a message, and its entry in nnstudio.core.limits.LIMITS.
LABELS = {"shift": ("augmentation shift", "pixels"), "rotate": ("rotation", "degrees"), "scale": ("scale", ""),
          "shear": ("shear", "degrees"), "elastic_alpha": ("elastic alpha", ""),
          "elastic_sigma": ("elastic sigma", "pixels"), "noise": ("noise", ""), "thickness": ("thickness", "steps"),
          "thickness_bias": ("thickness bias", "steps"), "unwarped": ("unwarped share", "")}
LIMIT_NAMES = {"shift": "augmenter_shift", "rotate": "augment_rotate", "scale": "augment_scale",
               "shear": "augment_shear", "elastic_alpha": "elastic_alpha", "elastic_sigma": "elastic_sigma",
               "noise": "augment_noise", "thickness": "augment_thickness",
               "thickness_bias": "augment_thickness_bias", "unwarped": "augment_unwarped"}


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
    thickness_bias: float = 0.0  # steps added to each thickness draw (-0.25: -1.5 to +1 for thickness 1.25)
    unwarped: float = 0.0  # share of images that skip the affine map and the elastic field (0-1)

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


@dataclass(frozen=True, eq=False)
class WarpPool:
    """``size`` sampling grids for one epoch and one set of strengths, split into interpolation
    squares (:func:`nnstudio.core.bilinear.split_cells`): ``corner`` ``(size + BLOCK, h*w)`` intp,
    ``fractions`` ``(2, size + BLOCK, h*w)`` float32. Row ``j`` is warp ``j % size``, so that any
    run of up to :data:`BLOCK` consecutive warps is one slice, and its corners are counted from
    frame ``j % BLOCK`` of a sampler's :data:`BLOCK` frames, where the image it warps is put."""

    key: tuple
    size: int
    corner: np.ndarray
    fractions: np.ndarray


class Augmenter:
    """Distorts batches of images as :class:`Augmentation` says, reproducibly from ``seed``.

    Calling it draws from its own generator, one batch after another. :meth:`distort` draws from
    the generator it is given (for chunks that must come out the same whichever thread makes
    them: :meth:`chunk_rng`) and may run on several threads at once: each thread resamples in its
    own buffers, and the elastic pool is drawn once per sigma, under a lock, from a generator
    seeded by the :attr:`chunk_seed` (as the warp pools are): an augmenter in another process made
    with the same ``chunk_seed`` makes the same chunks (:meth:`distort_chunk`).
    """

    def __init__(self, settings: Augmentation, image_shape: tuple[int, int] = (28, 28), *,
                 seed: int | np.random.Generator = 0, pool_size: int = POOL_SIZE,
                 chunk_seed: int | None = None) -> None:
        problems = settings.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self.image_shape = (int(image_shape[0]), int(image_shape[1]))
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self._chunk_seed = chunk_seed  # drawn from rng when first needed, unless given (a helper process)
        self.pool_size = int(pool_size)
        h, w = self.image_shape
        # Each output pixel's offset from the centre, and a row of ones: a batch's affine source
        # coordinates are then one small matrix product (by einsum's own loops, not BLAS, which
        # the trainer's thread is using meanwhile).
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        self._basis = np.stack([(y - (h - 1) / 2).ravel(), (x - (w - 1) / 2).ravel(), np.ones(h * w, np.float32)])
        self._centre = ((h - 1) / 2 + PAD, (w - 1) / 2 + PAD)
        self._lock = threading.Lock()  # for rng, the chunk seed and the pool
        self._unit_fields: tuple[float, np.ndarray] | None = None  # (sigma, fields)
        self._fields: tuple[tuple[float, float], np.ndarray] | None = None  # ((alpha, sigma), fields)
        self._local = threading.local()  # each thread's Sampler
        self._warps_lock = threading.Lock()
        self._warp_pools: dict[tuple, Future] = {}  # the latest two, by key
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

    @property
    def chunk_seed(self) -> int:
        """The seed of every generator :meth:`chunk_rng` makes, of the warp pools and of the elastic
        fields, drawn from the augmenter's generator when first needed: an augmenter made with
        it (``chunk_seed=``, in a helper process) distorts chunks to the same pixels."""
        with self._lock:
            if self._chunk_seed is None:
                self._chunk_seed = int(self.rng.integers(0, 2 ** 63))
            return self._chunk_seed

    def chunk_rng(self, *key: int) -> np.random.Generator:
        """A generator of its own for the chunk named by ``key`` (e.g. epoch and first batch)."""
        return np.random.default_rng([self.chunk_seed, *(int(k) for k in key)])

    def distort_chunk(self, images: np.ndarray, index: np.ndarray, rows: np.ndarray, epoch: int, first: int,
                      settings: Augmentation, *, pooled: bool, warps: int) -> np.ndarray:
        """A prefetcher's chunk, the epoch's batches from ``first`` on (``images[index]``), distorted
        with its own generator and, ``pooled``, the epoch's pool of ``warps`` warps into the first
        rows of the uint8 buffer ``rows``, rounded to the images' own scale, 0-255: the same pixels
        in any thread or process whose augmenter has this one's :attr:`chunk_seed`."""
        out = rows[:len(index)]
        pool = self.warp_pool(settings, epoch, warps) if pooled and settings.warps else None
        floats = self.distort(np.take(images, index, axis=0), self._sampler().buffer("chunk", out.shape, np.float32),
                              self.chunk_rng(epoch, first), settings, pool)
        floats *= np.float32(255)
        floats += np.float32(0.5)
        np.copyto(out, floats, casting="unsafe")  # truncated: rounded (in [0, 1], no overflow)
        return out

    def elastic_pool(self, settings: Augmentation) -> np.ndarray:
        """The pool of displacement fields for these strengths, each field as drawn and negated,
        and all of them twice over (so that any run of consecutive fields is one slice), ``(4 *
        pool_size, h*w)`` float32, drawn when first needed and whenever sigma changes, from a
        generator of their own (the :attr:`chunk_seed` and sigma): the same in every process."""
        key = (settings.elastic_alpha, settings.elastic_sigma)
        seed = self.chunk_seed
        with self._lock:
            if self._fields is None or self._fields[0] != key:
                if self._unit_fields is None or self._unit_fields[0] != settings.elastic_sigma:
                    rng = np.random.default_rng([seed, FIELDS_KEY, round(settings.elastic_sigma * 1e6)])
                    unit = smooth_fields(rng, self.pool_size, self.image_shape, settings.elastic_sigma)
                    self._unit_fields = (settings.elastic_sigma, unit)
                fields = (self._unit_fields[1] * np.float32(settings.elastic_alpha)).reshape(self.pool_size, -1)
                self._fields = (key, np.concatenate([fields, -fields, fields, -fields]))
            return self._fields[1]

    def warp_pool(self, settings: Augmentation, epoch: int, size: int = WARPS) -> WarpPool:
        """The pool of ``size`` warps for this epoch and these strengths, drawn from a generator of
        its own (:meth:`chunk_rng` with the epoch and :data:`WARP_KEY`) when first asked for: the
        same whichever thread draws it. A thread asking for a pool another is drawing waits for
        it; the two latest are kept (a run's prefetcher draws the next epoch's ahead)."""
        key = (epoch, size, settings.shift, settings.rotate, settings.scale, settings.shear,
               settings.elastic_alpha, settings.elastic_sigma)
        with self._warps_lock:
            entry = self._warp_pools.get(key)
            mine = entry is None
            if mine:
                entry = self._warp_pools[key] = Future()
                while len(self._warp_pools) > 2:
                    del self._warp_pools[next(iter(self._warp_pools))]
        if mine:
            try:
                entry.set_result(self._draw_warp_pool(key, settings, epoch, max(1, int(size))))
            except BaseException as error:
                with self._warps_lock:  # the next to ask tries again
                    if self._warp_pools.get(key) is entry:
                        del self._warp_pools[key]
                entry.set_exception(error)
        return entry.result()

    def _draw_warp_pool(self, key: tuple, settings: Augmentation, epoch: int, size: int) -> WarpPool:
        h, w = self.image_shape
        ph, pw = h + 2 * PAD, w + 2 * PAD
        rows = size + BLOCK
        fractions = np.empty((2, rows, h * w), np.float32)
        coords = self._coordinates(size, self.chunk_rng(epoch, WARP_KEY), settings, fractions[:, :size],
                                   np.empty((2 * size, h * w), np.float32))
        corner = np.empty((rows, h * w), np.intp)
        np.copyto(corner[:size], split_cells(coords, (ph, pw), np.empty_like(coords)), casting="unsafe")
        again = np.arange(size, rows) % size  # past the end, the first warps again
        corner[size:] = corner[again]
        fractions[:, size:] = fractions[:, again]
        corner += (np.arange(rows) % BLOCK)[:, None] * (ph * pw)
        return WarpPool(key, size, corner, fractions)

    def _sampler(self) -> Sampler:
        sampler = getattr(self._local, "sampler", None)
        if sampler is None:
            sampler = self._local.sampler = Sampler()
        return sampler

    # -- the work ---------------------------------------------------------------------------

    def __call__(self, pixels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``pixels`` (uint8 rows ``(n, h*w)``, or ``(n, h, w)``) distorted, as float rows in [0, 1]
        written into ``out`` (float32 ``(n, h*w)`` unless given)."""
        return self.distort(pixels, out, self.rng, self._settings)

    def distort(self, pixels: np.ndarray, out: np.ndarray | None, rng: np.random.Generator,
                settings: Augmentation, warps: WarpPool | None = None) -> np.ndarray:
        """As calling, with the random draws from ``rng`` and these ``settings``; with ``warps`` (from
        :meth:`warp_pool` for these settings), each image's warp is taken from that pool."""
        h, w = self.image_shape
        n = len(pixels)
        rows = np.asarray(pixels).reshape(n, h * w)
        if out is None:
            out = np.empty((n, h * w), np.float32)
        for start in range(0, n, BLOCK):  # a block's buffers stay in the cache
            self._block(rows[start:start + BLOCK], out[start:start + BLOCK], rng, settings, warps)
        return out

    def _block(self, rows: np.ndarray, out: np.ndarray, rng: np.random.Generator, s: Augmentation,
               warps: WarpPool | None) -> None:
        h, w = self.image_shape
        n = len(rows)
        scale = out.dtype.type(1 / 255) if rows.dtype == np.uint8 else out.dtype.type(1)
        if not s.warps and not s.thickness:
            np.multiply(rows, scale, out=out)
        elif not s.thickness:
            self._warp(rows.reshape(n, h, w), out, scale, rng, s, warps)  # the pixels are scaled in the sampler
            if s.unwarped:  # a share of the images as they are
                keep = rng.random(n) < s.unwarped
                out[keep] = rows[keep] * scale
        else:
            images = self._sampler().buffer("images", (n, h, w), np.float32)
            np.multiply(rows.reshape(n, h, w), scale, out=images)
            steps = rng.uniform(-s.thickness, s.thickness, n).astype(np.float32) + np.float32(s.thickness_bias)
            images = thickened(images, steps)
            if s.warps:
                self._warp(images, out, 1.0, rng, s, warps)
                if s.unwarped:  # a share of the images only thicker or thinner
                    keep = rng.random(n) < s.unwarped
                    out[keep] = images.reshape(n, h * w)[keep]
            else:
                out[...] = images.reshape(n, h * w)
        if s.noise:
            noise = rng.standard_normal(out.shape, dtype=np.float32)
            noise *= np.float32(s.noise)
            out += noise
            np.clip(out, 0, 1, out=out)

    def _warp(self, images: np.ndarray, out: np.ndarray, scale: float, rng: np.random.Generator,
              s: Augmentation, warps: WarpPool | None) -> None:
        """Resample each image under its own random affine map and elastic field, into ``out``: drawn
        here, or a run of consecutive warps of the pool ``warps`` from a random start."""
        sampler = self._sampler()
        if warps is None:
            n, h, w = images.shape
            coords = self._coordinates(n, rng, s, sampler.buffer("coords", (2, n, h * w), np.float32),
                                       sampler.buffer("spare", (2 * n, h * w), np.float32))
            sampler(images, coords, out, scale)
        else:
            start = int(rng.integers(0, warps.size))
            end = start + len(images)
            sampler.resample(images, warps.corner[start:end], warps.fractions[:, start:end], out, scale,
                             frames=BLOCK, first=start)

    def _coordinates(self, n: int, rng: np.random.Generator, s: Augmentation, coords: np.ndarray,
                     spare: np.ndarray) -> np.ndarray:
        """Where each output pixel of ``n`` images comes from, written into ``coords`` ``(2, n, h*w)``
        float32 (rows, then columns, in the padded frame), under random affine maps and elastic
        fields (``spare``, ``(2 * n, h*w)`` float32, is scratch)."""
        h, w = self.image_shape
        angle = np.deg2rad(rng.uniform(-s.rotate, s.rotate, n)) if s.rotate else np.zeros(n)
        zoom = rng.uniform(1 - s.scale, 1 + s.scale, n) if s.scale else np.ones(n)
        slant = np.tan(np.deg2rad(rng.uniform(-s.shear, s.shear, n))) if s.shear else np.zeros(n)
        shift = rng.uniform(-s.shift, s.shift, (2, n)) if s.shift else np.zeros((2, n))
        # Where each output pixel comes from: the inverse map (rotation, shear, 1/zoom) of its
        # offset from the centre, moved by the shift.
        cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
        coefficients = np.empty((2, n, 3), np.float32)  # rows' then columns': dy, dx, constant
        coefficients[0, :, 0], coefficients[0, :, 1] = cos + sin * slant, sin
        coefficients[1, :, 0], coefficients[1, :, 1] = cos * slant - sin, cos
        coefficients[0, :, 2], coefficients[1, :, 2] = self._centre[0] - shift[0], self._centre[1] - shift[1]
        np.einsum("cnk,kp->cnp", coefficients, self._basis, out=coords, optimize=False)
        if s.elastic_alpha:
            fields = self.elastic_pool(s)
            distinct = len(fields) // 2  # each field as drawn and negated
            if n <= distinct:  # runs of consecutive fields from random starts: slices, no gather
                for axis, start in enumerate(rng.integers(0, distinct, 2)):
                    coords[axis] += fields[start:start + n]
            else:
                np.take(fields, rng.integers(0, distinct, 2 * n), axis=0, out=spare)
                coords += spare.reshape(2, n, h * w)
        return coords


# -- fixed transforms (for tests, robustness checks and previews) ---------------------------------

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
