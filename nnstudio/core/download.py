"""Downloading MNIST from public mirrors, for users who have no copy.

Each file is streamed into a temporary file beside its destination (same file system, so
the final :func:`os.replace` is atomic), its decompressed content checked against the
SHA-256 published with the data set, and only then moved into place. Content rather than
gzip bytes is checked because equal data can be compressed differently (a local copy may be
recompressed). Whatever goes wrong, including a cancel or Ctrl-C, the temporary file is
removed: the folder only ever holds complete, verified files.

It runs in a GUI worker thread, so it prints nothing, keeps no global state, reports through
``progress`` and stops when ``cancel`` is set.

The network is read by a helper thread that hands chunks to the caller, which waits in short
ticks: a cancel is honoured within a fraction of a second whatever the connection does (a DNS
lookup, a connect, a server that trickles one byte every few seconds), and the whole download
has a deadline and a minimum rate, so a slow-but-alive connection cannot hang it.

A download writes only where it may: nnstudio's own cache folder, or a folder that is new,
empty or holds nothing but verified MNIST files. A user's own files are never replaced.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import queue
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from nnstudio.core.atomic_file import file_mode
from nnstudio.core.idx import GZIP_MAGIC
from nnstudio.core.mnist import ENV_VAR, FILE_NAMES, default_data_dir, find_file
from nnstudio.core.url_reader import END, UrlReader
from nnstudio.core.url_reader import describe as _describe

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
_TICK = 0.1  # seconds between checks of cancel, deadline and rate while waiting on the network

DEADLINE = 30 * 60.0  # seconds for the whole download: 11.6 MB at the minimum rate takes 20 minutes
MIN_RATE = 10_000  # bytes a second, averaged over RATE_WINDOW; slower than that is a stalled link
RATE_WINDOW = 30.0  # seconds


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
    deadline: float = DEADLINE,
    min_rate: float = MIN_RATE,
    rate_window: float = RATE_WINDOW,
) -> Path:
    """Fetch into ``dest`` each MNIST ``.gz`` file not already there and valid; return ``dest``.

    ``dest`` must be nnstudio's cache folder (:func:`~nnstudio.core.mnist.default_data_dir`) or a
    folder that does not exist yet, is empty, or holds only verified MNIST files; anything else
    raises :class:`DownloadError` before any request, so a user's own files are never replaced.
    ``progress(bytes_done, bytes_total)`` covers all files still to fetch, is called at most
    about ten times a second and once at the end with ``bytes_done == bytes_total``.
    ``timeout`` (seconds) applies to connecting and to each read; ``deadline`` (seconds) to the
    whole download; a mirror that delivers less than ``min_rate`` bytes a second over
    ``rate_window`` seconds is given up for the next. A set ``cancel`` is honoured within a second.
    Raises :class:`DownloadCancelled` if ``cancel`` is set, :class:`DownloadError` on failure.
    """
    dest = Path(dest)
    limits = _Limits(cancel, time.monotonic() + deadline, deadline, min_rate, rate_window, timeout)
    _check_cancel(cancel)
    own_cache = _is_own_cache(dest)
    if not own_cache:
        _check_may_write(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"could not download MNIST: cannot create folder {dest}: {exc.strerror or exc}") from exc
    todo = [name for name in FILE_NAMES.values() if not _present_and_valid(dest, name)]
    meter = _Meter(progress, {name: _EXPECTED_GZ_SIZE[name] for name in todo})
    for name in todo:
        failures = []
        for mirror in mirrors:
            _check_cancel(cancel)
            url = mirror.rstrip("/") + "/" + name + ".gz"
            try:
                _fetch(url, dest / f"{name}.gz", name, meter, limits, replace=own_cache)
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


def _is_own_cache(dest: Path) -> bool:
    try:
        return dest.expanduser().resolve() == default_data_dir().resolve()
    except (OSError, RuntimeError):
        return False


def _check_may_write(dest: Path) -> None:
    """Refuse a folder of the user's that holds anything but verified MNIST files."""
    try:
        if not dest.exists():
            return
        if not dest.is_dir():
            raise DownloadError(f"could not download MNIST: {dest} is a file, not a folder")
        entries = list(dest.iterdir())
    except OSError as exc:
        raise DownloadError(f"could not download MNIST: cannot read folder {dest}: {exc.strerror or exc}") from exc
    names = {*FILE_NAMES.values(), *(f"{n}.gz" for n in FILE_NAMES.values())}
    foreign = [e.name for e in entries if e.name not in names and not _is_our_leftover(e.name)]
    damaged = [e.name for e in entries if e.name in names and not _valid_file(e, e.name.removesuffix(".gz"))]
    if foreign or damaged:
        shown = ", ".join(sorted(damaged + foreign)[:4]) + (", …" if len(damaged + foreign) > 4 else "")
        raise DownloadError(
            f"could not download MNIST: {dest} already holds files that are not MNIST ({shown}); "
            f"they are never replaced. Download into nnstudio's cache folder {default_data_dir()} "
            f"or into a new, empty folder"
        )


def _is_our_leftover(name: str) -> bool:
    """A temporary file of a download killed outright (``.NAME.gz.XXXX.part``): not the user's."""
    return name.startswith(".") and name.endswith(".part")


class _Limits:
    """What ends a download early: a cancel, the overall deadline, a rate too low for too long."""

    def __init__(self, cancel, deadline_at: float, deadline: float, min_rate: float, window: float,
                 timeout: float) -> None:
        self.cancel = cancel
        self.deadline_at = deadline_at
        self.deadline = deadline
        self.min_rate = min_rate
        self.window = window
        self.timeout = timeout


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled("MNIST download cancelled")


def _present_and_valid(dest: Path, name: str) -> bool:
    """Whether the file :func:`load_mnist` would read for ``name`` holds the right content."""
    path = find_file(dest, name)
    return path is not None and _valid_file(path, name)


def _valid_file(path: Path, name: str) -> bool:
    """Whether the file at ``path`` holds MNIST's ``name`` (gzip-compressed or not)."""
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


def _fetch(url: str, target: Path, name: str, meter: _Meter, limits: _Limits, *, replace: bool) -> None:
    """Download ``url`` to ``target`` through a verified temporary file, or raise _FetchFailed."""
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise _cannot_write(target.parent, exc) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as out:
            if hasattr(os, "fchmod"):  # mkstemp's 0600 would hide the data from other users
                os.fchmod(out.fileno(), file_mode())
            received, announced = _stream(url, out, target.parent, name, meter, limits)
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
        _place(tmp, target, replace)
        meter.complete(name)
    except BaseException:
        meter.abandon()
        raise
    finally:
        tmp.unlink(missing_ok=True)


def _place(tmp: Path, target: Path, replace: bool) -> None:
    """Move the verified file into place; outside the cache, never over a file that is there."""
    try:
        if replace:
            os.replace(tmp, target)
            return
        try:
            os.link(tmp, target)  # fails, atomically, if target exists
        except FileExistsError:
            raise DownloadError(f"could not download MNIST: {target} appeared meanwhile; it was not replaced") from None
        except OSError:  # a file system without hard links: check, then rename
            if os.path.lexists(target):
                raise DownloadError(f"could not download MNIST: {target} appeared meanwhile; "
                                    f"it was not replaced") from None
            os.replace(tmp, target)
    except OSError as exc:
        raise _cannot_write(target.parent, exc) from exc


def _stream(url: str, out: BinaryIO, folder: Path, name: str, meter: _Meter, limits: _Limits) -> tuple[int, int | None]:
    """Copy the body of ``url`` into ``out``; return (bytes received, Content-Length or None).

    The caller compares the two: ``http.client`` returns a short body, without error, when
    the server closes the connection before sending all it announced.
    """
    received = 0
    announced: int | None = None
    reader = UrlReader(url, limits.timeout, _CHUNK)
    started = time.monotonic()
    marks = [(started, 0)]  # (time, bytes received): the recent past, for the rate
    try:
        while True:
            _check_cancel(limits.cancel)
            now = time.monotonic()
            if now >= limits.deadline_at:
                raise DownloadError(f"could not download MNIST: not done within {_duration(limits.deadline)} "
                                    f"(the network is too slow); try again later")
            while len(marks) > 1 and marks[1][0] <= now - limits.window:
                marks.pop(0)
            if now - started >= limits.window and received - marks[0][1] < limits.min_rate * limits.window:
                raise _FetchFailed(f"{url}: too slow: {received - marks[0][1]} bytes in the last "
                                   f"{limits.window:g} s (at least {limits.min_rate / 1000:g} kB/s needed)")
            try:
                item = reader.items.get(timeout=_TICK)
            except queue.Empty:
                continue
            if item is END:
                break
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, tuple):
                announced = item[1]
                meter.start(name, announced)
                continue
            try:
                out.write(item)
            except OSError as exc:  # the disk, not the network: no other mirror will help
                raise _cannot_write(folder, exc) from exc
            received += len(item)
            marks.append((time.monotonic(), received))
            meter.advance(len(item))
    except urllib.error.HTTPError as exc:
        raise _FetchFailed(f"{url}: HTTP error {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise _FetchFailed(f"{url}: {_describe(exc.reason)}") from exc
    except http.client.IncompleteRead as exc:
        raise _FetchFailed(f"{url}: connection dropped after {received + len(exc.partial)} bytes") from exc
    except (http.client.HTTPException, OSError) as exc:
        raise _FetchFailed(f"{url}: {_describe(exc)}") from exc
    finally:
        reader.abandon()
    return received, announced


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 120 else f"{seconds:g} s"


def _cannot_write(folder: Path, exc: OSError) -> DownloadError:
    return DownloadError(f"could not download MNIST: cannot write to {folder}: {exc.strerror or exc}")
