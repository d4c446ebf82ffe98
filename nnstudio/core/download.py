"""Downloading MNIST from public mirrors, for users who have no copy.

Each file is streamed into a temporary file beside its destination (same file system, so
the final :func:`os.replace` is atomic), its decompressed content checked against the
SHA-256 published with the data set, and only then moved into place. Content rather than
gzip bytes is checked because equal data can be compressed differently (a local copy may be
recompressed). Whatever goes wrong, including a cancel or Ctrl-C, the temporary file is
removed: the folder only ever holds complete, verified files.

It runs in a GUI worker thread, so it prints nothing, keeps no global state, reports through
``progress`` and stops when ``cancel`` is set.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from nnstudio import __version__
from nnstudio.core.idx import GZIP_MAGIC
from nnstudio.core.mnist import ENV_VAR, FILE_NAMES, find_file

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# SHA-256 of each file's decompressed content, as published with the data set.
CONTENT_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Sizes of the .gz files on the mirrors: the progress total until a server states the real one.
_EXPECTED_GZ_SIZE: dict[str, int] = {
    "train-images-idx3-ubyte": 9_912_422,
    "train-labels-idx1-ubyte": 28_881,
    "t10k-images-idx3-ubyte": 1_648_877,
    "t10k-labels-idx1-ubyte": 4_542,
}

_CHUNK = 64 * 1024
_PROGRESS_INTERVAL = 0.1  # seconds between progress calls: enough for a progress bar


class DownloadError(Exception):
    """MNIST could not be downloaded; the message says why and what the user can do."""


class DownloadCancelled(DownloadError):
    """The download was cancelled through its ``cancel`` event; nothing partial was kept."""


class _FetchFailed(Exception):
    """One mirror failed for one file; the next mirror may still work."""


def download_mnist(
    dest: str | Path,
    *,
    mirrors: Sequence[str] = MIRRORS,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 10.0,
) -> Path:
    """Fetch into ``dest`` each MNIST ``.gz`` file not already there and valid; return ``dest``.

    ``progress(bytes_done, bytes_total)`` covers all files still to fetch, is called at most
    about ten times a second and once at the end with ``bytes_done == bytes_total``.
    ``timeout`` (seconds) applies to connecting and to each read; it is also how long a cancel
    can wait on a stalled connection, since a blocked read cannot be interrupted.
    Raises :class:`DownloadCancelled` if ``cancel`` is set, :class:`DownloadError` on failure.
    """
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"could not download MNIST: cannot create folder {dest}: {exc.strerror or exc}") from exc
    _check_cancel(cancel)
    todo = [name for name in FILE_NAMES.values() if not _present_and_valid(dest, name)]
    meter = _Meter(progress, {name: _EXPECTED_GZ_SIZE[name] for name in todo})
    for name in todo:
        failures = []
        for mirror in mirrors:
            _check_cancel(cancel)
            url = mirror.rstrip("/") + "/" + name + ".gz"
            try:
                _fetch(url, dest / f"{name}.gz", name, meter, cancel, timeout)
                break
            except _FetchFailed as exc:
                failures.append(str(exc))
        else:
            reasons = "; ".join(failures) or "no mirrors given"
            raise DownloadError(
                f"could not download MNIST: {reasons}. Download the four files by hand into {dest} "
                f"or point {ENV_VAR} at a folder that has them"
            )
    meter.finish()
    return dest


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled("MNIST download cancelled")


def _present_and_valid(dest: Path, name: str) -> bool:
    """Whether the file :func:`load_mnist` would read for ``name`` holds the right content."""
    path = find_file(dest, name)
    if path is None:
        return False
    try:
        with open(path, "rb") as f:
            return _content_sha256(f) == CONTENT_SHA256[name]
    except (OSError, EOFError, zlib.error):
        return False


def _content_sha256(f: BinaryIO) -> str:
    """SHA-256 of a file's content after gzip decompression if it is gzip (by magic bytes)."""
    compressed = f.read(2) == GZIP_MAGIC
    f.seek(0)
    stream: BinaryIO = gzip.GzipFile(fileobj=f, mode="rb") if compressed else f  # type: ignore[assignment]
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


class _Meter:
    """Progress over all files, rate-limited; totals follow Content-Length as it becomes known."""

    def __init__(self, callback: Callable[[int, int], None] | None, sizes: dict[str, int]) -> None:
        self._callback = callback
        self._sizes = sizes
        self._finished = 0  # bytes of files already complete
        self._current = 0  # bytes of the file in flight
        self._last = 0.0

    def start(self, name: str, size: int | None) -> None:
        self._current = 0
        if size is not None:
            self._sizes[name] = size
        self._report(force=True)

    def advance(self, count: int) -> None:
        self._current += count
        self._report()

    def complete(self, name: str) -> None:
        self._sizes[name] = self._current  # the real size, whatever was announced
        self._finished += self._current
        self._current = 0

    def abandon(self) -> None:
        self._current = 0

    def finish(self) -> None:
        self._report(force=True)

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._callback is None or (not force and now - self._last < _PROGRESS_INTERVAL):
            return
        self._last = now
        done = self._finished + self._current
        self._callback(done, max(done, sum(self._sizes.values())))


def _fetch(url: str, target: Path, name: str, meter: _Meter, cancel: threading.Event | None, timeout: float) -> None:
    """Download ``url`` to ``target`` through a verified temporary file, or raise _FetchFailed."""
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise _cannot_write(target.parent, exc) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as out:
            received, announced = _stream(url, out, target.parent, name, meter, cancel, timeout)
            if announced is not None and received < announced:
                raise _FetchFailed(f"{url}: connection dropped after {received} of {announced} bytes")
            out.flush()
            out.seek(0)
            try:
                actual = _content_sha256(out)
            except (OSError, EOFError, zlib.error) as exc:
                raise _FetchFailed(f"{url}: checksum failed: the file is not valid gzip data ({exc})") from exc
        if actual != CONTENT_SHA256[name]:
            raise _FetchFailed(
                f"{url}: checksum mismatch: content SHA-256 {actual[:12]}…, expected {CONTENT_SHA256[name][:12]}…"
            )
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise _cannot_write(target.parent, exc) from exc
        meter.complete(name)
    except BaseException:
        meter.abandon()
        raise
    finally:
        tmp.unlink(missing_ok=True)


def _stream(
    url: str, out: BinaryIO, folder: Path, name: str, meter: _Meter, cancel: threading.Event | None, timeout: float
) -> tuple[int, int | None]:
    """Copy the body of ``url`` into ``out``; return (bytes received, Content-Length or None).

    The caller compares the two: ``http.client`` returns a short body, without error, when
    the server closes the connection before sending all it announced.
    """
    request = urllib.request.Request(url, headers={"User-Agent": f"nnstudio/{__version__}"})
    received = 0
    announced: int | None = None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            announced = int(length) if length and length.isdigit() else None
            meter.start(name, announced)
            while True:
                _check_cancel(cancel)
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                try:
                    out.write(chunk)
                except OSError as exc:  # the disk, not the network: no other mirror will help
                    raise _cannot_write(folder, exc) from exc
                received += len(chunk)
                meter.advance(len(chunk))
    except urllib.error.HTTPError as exc:
        raise _FetchFailed(f"{url}: HTTP error {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise _FetchFailed(f"{url}: {_describe(exc.reason)}") from exc
    except http.client.IncompleteRead as exc:
        raise _FetchFailed(f"{url}: connection dropped after {received + len(exc.partial)} bytes") from exc
    except (http.client.HTTPException, OSError) as exc:
        raise _FetchFailed(f"{url}: {_describe(exc)}") from exc
    return received, announced


def _cannot_write(folder: Path, exc: OSError) -> DownloadError:
    return DownloadError(f"could not download MNIST: cannot write to {folder}: {exc.strerror or exc}")


def _describe(reason: object) -> str:
    """A short human account of a network failure."""
    if isinstance(reason, socket.gaierror):
        return f"no network connection or unknown host ({reason.strerror or reason})"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the server down?)"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out (slow or no network connection)"
    if isinstance(reason, http.client.RemoteDisconnected):  # before its base, ConnectionResetError
        return "server closed the connection without answering"
    if isinstance(reason, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return "connection dropped"
    if isinstance(reason, OSError) and reason.strerror:
        return f"network error ({reason.strerror})"
    return f"network error ({reason})"
