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

    def _frames(self, images: np.ndarray) -> np.ndarray:
        """``images`` written into zero-bordered float32 frames, flat (the border is zeroed once, when
        made; uint8 pixels are converted on the way in, so every later step is float32)."""
        n, h, w = images.shape
        ph, pw = h + 2 * PAD, w + 2 * PAD
        frames = self._buffers.get("frames")
        if frames is None or len(frames) < n or frames.shape[1:] != (ph, pw):
            frames = self._buffers["frames"] = np.zeros((max(n, 1), ph, pw), np.float32)
        frames[:n, PAD:PAD + h, PAD:PAD + w] = images
        return frames[:n].reshape(-1)

    def __call__(self, images: np.ndarray, coords: np.ndarray, out: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Bilinear samples of ``images`` ``(n, h, w)`` at ``coords`` ``(2, n, h*w)`` float32 (rows
        then columns, in the frame padded by :data:`PAD` pixels; overwritten), zeros outside the
        image, times ``scale``, into ``out`` ``(n, h*w)`` float32."""
        n, h, w = images.shape
        ph, pw = h + 2 * PAD, w + 2 * PAD
        flat = self._frames(images)
        shape = coords.shape[1:]
        rows, cols = coords
        np.clip(rows, 0, ph - 2, out=rows)  # beyond the image: a square of the zero border
        np.clip(cols, 0, pw - 2, out=cols)
        whole = self.buffer("whole", coords.shape, np.float32)
        np.floor(coords, out=whole)
        coords -= whole  # now the fractions
        starts = self._buffers.get("starts")  # each frame's first pixel in the stack
        if starts is None or len(starts) < n or (len(starts) > 1 and starts[1, 0] != ph * pw):
            starts = self._buffers["starts"] = np.arange(max(n, 2), dtype=np.float32)[:, None] * (ph * pw)
        corner = whole[0]  # the flat index of each square's upper-left corner, exact in float32
        corner *= pw
        corner += whole[1]
        corner += starts[:n]
        index = self.buffer("index", shape, np.intp)  # np.take's own index type: no conversion
        np.copyto(index, corner, casting="unsafe")
        # The corners go into buffers done with (the floors, the elastic term): fewer in the cache.
        corners = [*whole, *self.buffer("spare", coords.shape, np.float32)]
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
