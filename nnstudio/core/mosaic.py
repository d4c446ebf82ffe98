"""Many small images in one picture: a grid of tiles, each with an optional one-line caption in a
tiny built-in pixel font (digits and a few signs), for galleries drawn as a single image."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# 3x5 glyphs, one string of 15 bits per character, row by row.
_GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001010010010",
    "8": "111101111101111", "9": "111101111001111", ">": "100010001010100", "%": "101001010100101",
    ".": "000000000000010", " ": "000000000000000", "?": "111001011000010",
}
GLYPH_W, GLYPH_H = 3, 5


@dataclass(frozen=True)
class Layout:
    """Where tile ``i`` lies in a mosaic: row ``i // columns``, column ``i % columns``."""

    columns: int
    rows: int
    tile_h: int  # the tile's image part, scaled
    tile_w: int
    cell_h: int  # tile + caption + gap
    cell_w: int
    height: int
    width: int

    def tile_at(self, y: float, x: float, count: int) -> int | None:
        """The tile under the mosaic pixel ``(y, x)`` (row grows down), or None (gap, caption, past the end)."""
        if y < 0 or x < 0:
            return None
        row, col = int(y // self.cell_h), int(x // self.cell_w)
        if col >= self.columns or y - row * self.cell_h >= self.tile_h or x - col * self.cell_w >= self.tile_w:
            return None
        index = row * self.columns + col
        return index if index < count else None


def layout(count: int, image_shape: tuple[int, int], *, columns: int = 10, scale: int = 1,
           caption: bool = False, gap: int = 2) -> Layout:
    h, w = image_shape
    columns = max(1, min(columns, count)) if count else max(1, columns)
    rows = max(1, -(-count // columns))
    tile_h, tile_w = h * scale, w * scale
    caption_h = (GLYPH_H + 2) * scale if caption else 0
    cell_h, cell_w = tile_h + caption_h + gap, tile_w + gap
    return Layout(columns, rows, tile_h, tile_w, cell_h, cell_w, rows * cell_h - gap, columns * cell_w - gap)


def mosaic(images: np.ndarray, image_shape: tuple[int, int] = (28, 28), *, columns: int = 10, scale: int = 1,
           captions: Sequence[str] | None = None, gap: int = 2, background: int = 128,
           invert: bool = False) -> tuple[np.ndarray, Layout]:
    """One uint8 picture of ``images`` (uint8 rows or ``(n, h, w)``) in a grid; ``invert`` draws dark
    ink on light paper. Captions are drawn under each tile in the built-in font."""
    n = len(images)
    h, w = image_shape
    grid = layout(n, image_shape, columns=columns, scale=scale, caption=captions is not None, gap=gap)
    out = np.full((grid.height, grid.width), background, np.uint8)
    if n == 0:
        return out, grid
    tiles = np.asarray(images).reshape(n, h, w)
    if tiles.dtype != np.uint8:
        tiles = np.clip(np.rint(tiles * 255), 0, 255).astype(np.uint8)
    if invert:
        tiles = 255 - tiles
    if scale > 1:
        tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
    # All tiles at once: pad the tile stack to whole rows, then interleave rows and columns.
    padded = np.full((grid.rows * grid.columns, grid.cell_h, grid.cell_w), background, np.uint8)
    paper = 0 if invert else 255
    if captions is not None:
        padded[:n, grid.tile_h:grid.cell_h - gap, :grid.tile_w] = paper
    padded[:n, :grid.tile_h, :grid.tile_w] = tiles
    if captions is not None:
        for i, text in enumerate(captions[:n]):
            _draw_text(padded[i, grid.tile_h + scale:, :grid.tile_w], text, scale, ink=255 - paper)
    full = padded.reshape(grid.rows, grid.columns, grid.cell_h, grid.cell_w).transpose(0, 2, 1, 3)
    full = full.reshape(grid.rows * grid.cell_h, grid.columns * grid.cell_w)
    out[...] = full[:grid.height, :grid.width]
    return out, grid


def _draw_text(area: np.ndarray, text: str, scale: int, ink: int) -> None:
    x = scale
    for char in text:
        glyph = _glyph(char, scale)
        gh, gw = glyph.shape
        if x + gw > area.shape[1] or gh > area.shape[0]:
            return
        area[:gh, x:x + gw][glyph] = ink
        x += gw + scale


@functools.lru_cache(maxsize=256)
def _glyph(char: str, scale: int) -> np.ndarray:
    """A character's mask at ``scale``, made once (a gallery captions 60 tiles after every epoch)."""
    bits = _GLYPHS.get(char, _GLYPHS["?"])
    glyph = np.array([b == "1" for b in bits]).reshape(GLYPH_H, GLYPH_W)
    glyph = glyph.repeat(scale, axis=0).repeat(scale, axis=1)
    glyph.setflags(write=False)
    return glyph
