"""Reading IDX files, the plain big-endian array format MNIST is published in.

An IDX file is a 4-byte magic number ``00 00 TT NN`` (TT: element type, NN: number of
dimensions), NN big-endian uint32 dimension sizes, then the elements in C order. MNIST ships
it gzip-compressed; we detect compression by content, never by file name, because users
unpack and rename these files freely.

Every fault in a file is reported as a :class:`DataError` whose message names the file and
the fault, so the GUI can show it as is. The reader never trusts the header for memory: it
reads the payload in chunks and stops one byte past the size the header announces, so a
corrupt header cannot make it allocate gigabytes.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
UBYTE = 0x08
# IDX element types we recognise but do not read: named so the error says what the file is.
_OTHER_TYPES = {0x09: "int8", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}
# numpy 1.x cannot hold more than 32 dimensions; real IDX files have 1 to 3.
MAX_DIMS = 32
MAX_BYTES = 1 << 31  # 2 GiB of pixels: 40 times MNIST; a header announcing more is refused unread
_CHUNK = 1 << 20
_MAX_TRAILING_COUNT = 1 << 20  # trailing bytes counted for the message, no more: a gzip bomb stays unopened


class DataError(ValueError):
    """A data file or folder that cannot be used; the message names the file and the fault."""


def idx_header(shape: tuple[int, ...]) -> bytes:
    """The IDX header of a uint8 array of ``shape``: what precedes its bytes in the file."""
    return bytes((0, 0, UBYTE, len(shape))) + struct.pack(f">{len(shape)}I", *shape)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes, gzip-compressed or raw, into an array of its shape.

    The result is writable and owns its memory (one buffer, no copy of the pixels). Raises
    :class:`DataError` for anything that is not a complete, well-formed IDX uint8 file.
    """
    name = str(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            if not compressed:
                return _parse(raw, name)
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _parse(stream, name)
            except EOFError as exc:
                raise DataError(f"{name}: truncated: gzip stream ends early ({exc})") from exc
            except gzip.BadGzipFile as exc:
                if str(exc).startswith("Not a gzipped file"):  # the first member started with the magic
                    raise DataError(f"{name}: junk after the end of the gzip data (the file goes on past "
                                    f"its compressed stream with bytes that are not gzip)") from exc
                raise DataError(f"{name}: not gzip data / corrupt gzip stream ({exc})") from exc
            except zlib.error as exc:
                raise DataError(f"{name}: not gzip data / corrupt gzip stream ({exc})") from exc
    except DataError:
        raise
    except OSError as exc:
        raise DataError(f"{name}: cannot read: {exc.strerror or exc}") from exc


def _parse(stream: BinaryIO, name: str) -> np.ndarray:
    """Parse header and payload from an open (decompressed) stream."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise DataError(f"{name}: truncated: {len(magic)} bytes, too short for an IDX header")
    code = int.from_bytes(magic, "big")
    if magic[:2] != b"\0\0":
        raise DataError(f"{name}: bad magic 0x{code:08X}: not an IDX file")
    dtype, ndim = magic[2], magic[3]
    if dtype in _OTHER_TYPES:
        raise DataError(
            f"{name}: unsupported data type 0x{dtype:02X} ({_OTHER_TYPES[dtype]}): "
            f"only unsigned bytes (0x08) are supported"
        )
    if dtype != UBYTE:
        raise DataError(f"{name}: bad magic 0x{code:08X}: unknown IDX data type 0x{dtype:02X}")
    if not 1 <= ndim <= MAX_DIMS:
        raise DataError(f"{name}: unsupported number of dimensions {ndim} (expected 1 to {MAX_DIMS})")

    dims_bytes = stream.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise DataError(
            f"{name}: truncated: header announces {ndim} dimensions, "
            f"found only {len(dims_bytes)} of {4 * ndim} bytes of sizes"
        )
    shape = struct.unpack(f">{ndim}I", dims_bytes)
    if 0 in shape:
        raise DataError(f"{name}: dimension {shape.index(0)} is 0 in shape {shape}: no data")

    expected = math.prod(shape)
    if expected > MAX_BYTES:
        raise DataError(f"{name}: shape {shape} declares {expected:,} bytes, more than the "
                        f"{MAX_BYTES:,} nnstudio reads")
    payload = _read_at_most(stream, expected + 1)
    if len(payload) < expected:
        raise DataError(f"{name}: truncated: expected {expected} bytes of pixels, found {len(payload)}")
    if len(payload) > expected:
        extra = 1 + _count_rest(stream, _MAX_TRAILING_COUNT)
        amount = f"{extra}" if extra <= _MAX_TRAILING_COUNT else f"more than {_MAX_TRAILING_COUNT}"
        raise DataError(f"{name}: {amount} trailing bytes after the {expected} bytes of data of shape {shape}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(shape)


def _read_at_most(stream: BinaryIO, limit: int) -> bytearray:
    """Read up to ``limit`` bytes in chunks, so memory follows what is really there."""
    buffer = bytearray()
    while len(buffer) < limit:
        chunk = stream.read(min(_CHUNK, limit - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer


def _count_rest(stream: BinaryIO, limit: int) -> int:
    """Count (and discard) the bytes left in ``stream``, stopping once past ``limit``."""
    count = 0
    while count <= limit and (chunk := stream.read(min(_CHUNK, limit + 1 - count))):
        count += len(chunk)
    return count
