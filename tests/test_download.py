"""download_mnist against real HTTP servers on loopback: good, corrupt, dropping, silent, absent."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nnstudio.core.download import MIRRORS, DownloadCancelled, DownloadError, _describe, download_mnist
from nnstudio.core.mnist import FILE_NAMES, load_mnist

GZ_NAMES = [f"{name}.gz" for name in FILE_NAMES.values()]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Keep a proxy configured on the machine from intercepting loopback requests."""
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


@pytest.fixture(scope="module")
def source_files(mnist_dir) -> dict[str, bytes]:
    return {name: (mnist_dir / name).read_bytes() for name in GZ_NAMES}


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 whose behaviour per request is ``respond``."""

    def __init__(self, respond: Callable[[BaseHTTPRequestHandler, str], None]) -> None:
        self.requests: list[str] = []
        self.release = threading.Event()  # lets handlers that stall finish at teardown
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                server.requests.append(name)
                respond(self, name)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable]:
    servers: list[Server] = []

    def start(respond: Callable[[BaseHTTPRequestHandler, str], None]) -> Server:
        servers.append(Server(respond))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def send(handler: BaseHTTPRequestHandler, body: bytes | None, *, cut: int | None = None) -> None:
    """Answer with ``body`` (404 if None); with ``cut``, announce it all but send only ``cut`` bytes."""
    if body is None:
        handler.send_error(404, "Not Found")
        return
    handler.send_response(200)
    handler.send_header("Content-Type", "application/gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body if cut is None else body[:cut])
    if cut is not None:
        handler.wfile.flush()
        handler.close_connection = True


@pytest.fixture
def good_server(serve, source_files) -> Server:
    return serve(lambda handler, name: send(handler, source_files.get(name)))


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback port that is bound but not listening: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/mnist/"


def assert_empty(folder: Path) -> None:
    assert not folder.exists() or list(folder.iterdir()) == []


def download_error(dest: Path, **kwargs) -> str:
    with pytest.raises(DownloadError) as info:
        download_mnist(dest, **kwargs)
    assert not isinstance(info.value, DownloadCancelled)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("could not download MNIST: ")
    return message


# --- success --------------------------------------------------------------------------------------


def test_good_download(tmp_path, good_server, mnist, source_files):
    calls: list[tuple[int, int]] = []
    dest = tmp_path / "new" / "mnist"
    assert download_mnist(dest, mirrors=[good_server.url], progress=lambda d, t: calls.append((d, t))) == dest
    assert sorted(p.name for p in dest.iterdir()) == sorted(GZ_NAMES)  # no temporary files left
    assert load_mnist(dest).checksum == mnist.checksum
    total = sum(len(body) for body in source_files.values())
    assert calls[-1] == (total, total)
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert all(d <= t for d, t in calls)
    assert len(calls) < 200  # a modest rate, not one call per chunk


def test_present_files_are_kept_and_bad_ones_replaced(tmp_path, good_server, mnist, refused_url):
    dest = tmp_path / "mnist"
    download_mnist(dest, mirrors=[good_server.url])
    good_server.requests.clear()
    (dest / "t10k-labels-idx1-ubyte.gz").write_bytes(b"damaged")
    download_mnist(dest, mirrors=[good_server.url])
    assert good_server.requests == ["t10k-labels-idx1-ubyte.gz"]
    assert load_mnist(dest).checksum == mnist.checksum
    download_mnist(dest, mirrors=[refused_url])  # nothing to fetch: no network needed


def test_unpacked_copy_counts_as_present(tmp_path, good_server, source_files):
    dest = tmp_path / "mnist"
    dest.mkdir()
    for name in GZ_NAMES[1:]:
        (dest / name.removesuffix(".gz")).write_bytes(gzip.decompress(source_files[name]))
    download_mnist(dest, mirrors=[good_server.url])
    assert good_server.requests == [GZ_NAMES[0]]


def test_falls_back_to_next_mirror(tmp_path, good_server, refused_url, mnist):
    dest = tmp_path / "mnist"
    download_mnist(dest, mirrors=[refused_url, good_server.url])
    assert load_mnist(dest).checksum == mnist.checksum


# --- failures leave nothing behind --------------------------------------------------------------


def test_wrong_content_fails_checksum(tmp_path, serve, source_files):
    small = source_files["t10k-labels-idx1-ubyte.gz"]  # valid gzip, wrong content for the others
    server = serve(lambda handler, name: send(handler, small))
    dest = tmp_path / "mnist"
    message = download_error(dest, mirrors=[server.url])
    assert "checksum mismatch" in message and "train-images-idx3-ubyte.gz" in message
    assert str(dest) in message and "NNSTUDIO_DATA" in message
    assert_empty(dest)


def test_corrupt_gzip_fails_checksum(tmp_path, serve, source_files):
    def corrupt(name: str) -> bytes:
        body = bytearray(source_files[name])
        body[len(body) // 2] ^= 0xFF
        return bytes(body)

    server = serve(lambda handler, name: send(handler, corrupt(name)))
    dest = tmp_path / "mnist"
    assert "checksum" in download_error(dest, mirrors=[server.url])
    assert_empty(dest)


def test_connection_dropped_mid_file(tmp_path, serve, source_files):
    server = serve(lambda handler, name: send(handler, source_files[name], cut=len(source_files[name]) // 3))
    dest = tmp_path / "mnist"
    assert "connection dropped" in download_error(dest, mirrors=[server.url])
    assert_empty(dest)


def test_connection_refused(tmp_path, refused_url):
    dest = tmp_path / "mnist"
    message = download_error(dest, mirrors=[refused_url])
    assert "connection refused" in message and str(dest) in message
    assert_empty(dest)


def test_timeout(tmp_path, serve):
    server = serve(lambda handler, name: server.release.wait(10))
    dest = tmp_path / "mnist"
    assert "timed out" in download_error(dest, mirrors=[server.url], timeout=0.3)
    assert_empty(dest)


def test_http_error(tmp_path, serve):
    server = serve(lambda handler, name: send(handler, None))
    message = download_error(tmp_path, mirrors=[server.url, server.url])
    assert "HTTP error 404" in message
    assert message.count("404") == 2  # every mirror's reason is reported
    assert_empty(tmp_path)


def test_unknown_host_message():
    # Checked on the exception itself: a real lookup would leave loopback and may hang offline.
    reason = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert "no network connection or unknown host" in _describe(reason)


# --- cancel and interrupt -------------------------------------------------------------------------


def test_cancel_midway(tmp_path, good_server):
    """Cancel once the first response is open (its temporary file exists): nothing is kept."""
    cancel = threading.Event()
    dest = tmp_path / "mnist"
    with pytest.raises(DownloadCancelled):
        download_mnist(dest, mirrors=[good_server.url], cancel=cancel, progress=lambda d, t: cancel.set())
    assert_empty(dest)
    assert good_server.requests == [GZ_NAMES[0]]


def test_cancel_before_start(tmp_path, good_server):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DownloadCancelled):
        download_mnist(tmp_path, mirrors=[good_server.url], cancel=cancel)
    assert good_server.requests == []


def test_keyboard_interrupt_leaves_nothing(tmp_path, good_server):
    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    dest = tmp_path / "mnist"
    with pytest.raises(KeyboardInterrupt):
        download_mnist(dest, mirrors=[good_server.url], progress=interrupt)
    assert_empty(dest)


def test_default_mirrors_are_https_base_urls():
    assert MIRRORS and all(url.startswith("https://") and url.endswith("/") for url in MIRRORS)
