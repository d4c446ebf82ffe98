"""Writing 8-bit PNG pictures with the standard library alone (zlib), atomically."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from nnstudio.core.atomic_file import atomic_write

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_bytes(pixels: np.ndarray, *, level: int = 6) -> bytes:
    """A PNG of ``pixels``: uint8 ``(h, w)`` gray, ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise ValueError(f"PNG pixels must be uint8, got {pixels.dtype}")
    if pixels.ndim == 2:
        color_type, channels = 0, 1
    elif pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        color_type, channels = (2, 3) if pixels.shape[2] == 3 else (6, 4)
    else:
        raise ValueError(f"PNG pixels must be (h, w), (h, w, 3) or (h, w, 4), got shape {pixels.shape}")
    h, w = pixels.shape[:2]
    if h < 1 or w < 1:
        raise ValueError(f"a PNG needs at least one pixel, got {w}x{h}")
    rows = np.empty((h, 1 + w * channels), np.uint8)
    rows[:, 0] = 0  # filter type "none" on every row
    rows[:, 1:] = np.ascontiguousarray(pixels).reshape(h, w * channels)
    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
            + _chunk(b"IEND", b""))


def write_png(path: str | Path, pixels: np.ndarray) -> Path:
    """Write ``pixels`` (see :func:`png_bytes`) to ``path`` all at once or not at all."""
    path = Path(path)
    data = png_bytes(pixels)
    with atomic_write(path) as f:
        f.write(data)
    return path


def read_png(data: bytes) -> np.ndarray:
    """Decode a PNG as :func:`png_bytes` writes it (8-bit, unfiltered, not interlaced) into its
    pixels: the inverse used by tests and by callers that check what they wrote."""
    if data[:8] != SIGNATURE:
        raise ValueError("not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            raise ValueError(f"PNG chunk {kind!r} fails its CRC")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    if header is None:
        raise ValueError("PNG without a header")
    w, h, depth, color_type = header[:4]
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * channels)
    if depth != 8 or rows[:, 0].any():
        raise ValueError("only 8-bit, unfiltered PNGs are read")
    pixels = rows[:, 1:].reshape(h, w, channels)
    return pixels[:, :, 0] if channels == 1 else pixels


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
