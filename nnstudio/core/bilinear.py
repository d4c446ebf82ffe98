"""Bilinear resampling of a batch of images at arbitrary source coordinates, in few NumPy passes.

The images are written once into zero-padded float32 frames, laid end to end. Each output
pixel's source coordinate is clipped into the frame (a square beyond the image lies in the zero
border, so its sample is zero whatever the fraction) and split into its floor and fraction; the
floors give the flat index of the upper-left corner of its interpolation square, and four gathers
with that one index array, from the frames and from the frames shifted by one column, one row and
both, fetch the four corners of the whole batch. Two linear interpolations, along the columns and
then along the rows, give the sample. All arithmetic is float32 in contiguous buffers kept between
calls (a :class:`Sampler` belongs to one thread); the index is NumPy's own integer type, so the
gathers convert nothing.
"""

from __future__ import annotations

import math

import numpy as np

#: The zero border around each image in the frames, in pixels.
PAD = 2


class Sampler:
    """Bilinear resampling of batches of images, with buffers kept between calls."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def buffer(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A reusable buffer of at least this size, as an array of ``shape`` (contents undefined)."""
        size = math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(size, dtype)
        return buf[:size].reshape(shape)

    def _frames(self, images: np.ndarray, count: int = 0, first: int = 0) -> np.ndarray:
        """``images`` written into zero-bordered float32 frames, flat (the border is zeroed once, when
        made; uint8 pixels are converted on the way in, so every later step is float32): image
        ``i`` into frame ``(first + i) % count`` of ``count`` (at least as many as the images)."""
        n, h, w = images.shape
        ph, pw = h + 2 * PAD, w + 2 * PAD
        count = max(count, n, 1)
        frames = self._buffers.get("frames")
        if frames is None or len(frames) < count or frames.shape[1:] != (ph, pw):
            frames = self._buffers["frames"] = np.zeros((count, ph, pw), np.float32)
        first %= count
        head = min(n, count - first)
        frames[first:first + head, PAD:PAD + h, PAD:PAD + w] = images[:head]
        frames[:n - head, PAD:PAD + h, PAD:PAD + w] = images[head:]
        return frames[:count].reshape(-1)

    def __call__(self, images: np.ndarray, coords: np.ndarray, out: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Bilinear samples of ``images`` ``(n, h, w)`` at ``coords`` ``(2, n, h*w)`` float32 (rows
        then columns, in the frame padded by :data:`PAD` pixels; overwritten), zeros outside the
        image, times ``scale``, into ``out`` ``(n, h*w)`` float32."""
        n, h, w = images.shape
        flat = self._frames(images)
        whole = self.buffer("whole", coords.shape, np.float32)
        corner = split_cells(coords, (h + 2 * PAD, w + 2 * PAD), whole, self._starts(n, images.shape))
        index = self.buffer("index", corner.shape, np.intp)  # np.take's own index type: no conversion
        np.copyto(index, corner, casting="unsafe")
        # The corners go into buffers done with (the floors, the elastic term): fewer in the cache.
        corners = [*whole, *self.buffer("spare", coords.shape, np.float32)]
        return _interpolate(flat, index, coords, corners, w + 2 * PAD, out, scale)

    def resample(self, images: np.ndarray, corner: np.ndarray, fractions: np.ndarray, out: np.ndarray,
                 scale: float = 1.0, *, frames: int, first: int) -> np.ndarray:
        """As calling, with the sampling grid already split by :func:`split_cells`: ``corner``
        ``(n, h*w)`` intp, each square's upper-left corner counted from the first of ``frames``
        frames, and ``fractions`` ``(2, n, h*w)`` float32 (neither is written): for grids made once
        and used for many images (:class:`nnstudio.core.augment.WarpPool`). Image ``i`` is
        written into frame ``(first + i) % frames``, the frame its ``corner`` row counts from, so
        the index needs no per-image offset."""
        n, h, w = images.shape
        flat = self._frames(images, frames, first)
        corners = list(self.buffer("corners", (4, *corner.shape), np.float32))
        return _interpolate(flat, corner, fractions, corners, w + 2 * PAD, out, scale)

    def _starts(self, n: int, shape: tuple[int, int, int]) -> np.ndarray:
        """Each frame's first pixel in the stack, ``(n, 1)`` float32."""
        size = (shape[1] + 2 * PAD) * (shape[2] + 2 * PAD)
        starts = self._buffers.get("starts")
        if starts is None or len(starts) < n or (len(starts) > 1 and starts[1, 0] != size):
            starts = self._buffers["starts"] = np.arange(max(n, 2), dtype=np.float32)[:, None] * size
        return starts[:n]


def split_cells(coords: np.ndarray, frame: tuple[int, int], whole: np.ndarray,
                starts: np.ndarray | int = 0) -> np.ndarray:
    """Split source coordinates ``coords`` ``(2, ...)`` float32 (rows then columns, in frames of
    shape ``frame``) into their interpolation squares: ``coords`` become the fractions within the
    square (in place), ``whole`` (the same shape, float32) the floors, and the result (a view of
    ``whole[0]``) is the flat index of each square's upper-left corner plus ``starts``, exact in
    float32. A coordinate beyond the image is clipped into the zero border, whose squares sample zero."""
    ph, pw = frame
    rows, cols = coords
    np.clip(rows, 0, ph - 2, out=rows)  # beyond the image: a square of the zero border
    np.clip(cols, 0, pw - 2, out=cols)
    np.floor(coords, out=whole)
    coords -= whole  # now the fractions
    corner = whole[0]
    corner *= pw
    corner += whole[1]
    corner += starts
    return corner


def _interpolate(flat: np.ndarray, index: np.ndarray, fractions: np.ndarray, corners: list[np.ndarray],
                 pw: int, out: np.ndarray, scale: float) -> np.ndarray:
    """The four corners of each square gathered from the flat frames ``flat`` at ``index`` into
    ``corners`` (four float32 buffers of ``index``'s shape), and mixed by ``fractions``."""
    rows, cols = fractions
    for values, offset in zip(corners, (0, 1, pw, pw + 1)):
        np.take(flat[offset:], index, out=values, mode="wrap")  # in range: "wrap" changes nothing
    tl, tr, bl, br = corners
    tr -= tl  # along the columns: the top and the bottom edges...
    tr *= cols
    tl += tr
    br -= bl
    br *= cols
    bl += br
    bl -= tl  # ...then along the rows
    bl *= rows
    if scale != 1:
        tl += bl
        np.multiply(tl, np.float32(scale), out=out)
    else:
        np.add(tl, bl, out=out)
    return out


def sample_bilinear(images: np.ndarray, rows: np.ndarray, cols: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:class:`Sampler`'s work once, with fresh buffers (``rows`` and ``cols`` ``(n, h*w)``)."""
    return Sampler()(images, np.stack([rows, cols]).astype(np.float32), out)
