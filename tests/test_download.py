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


@pytest.fixture
def own_cache(tmp_path, monkeypatch) -> Path:
    """nnstudio's cache folder, moved under tmp_path: the one folder where a download may replace files."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from nnstudio.core.mnist import default_data_dir

    return default_data_dir()


def test_present_files_are_kept_and_bad_ones_replaced_in_the_own_cache(own_cache, good_server, mnist, refused_url):
    dest = own_cache
    download_mnist(dest, mirrors=[good_server.url])
    good_server.requests.clear()
    (dest / "t10k-labels-idx1-ubyte.gz").write_bytes(b"damaged")
    download_mnist(dest, mirrors=[good_server.url])
    assert good_server.requests == ["t10k-labels-idx1-ubyte.gz"]
    assert load_mnist(dest).checksum == mnist.checksum
    download_mnist(dest, mirrors=[refused_url])  # nothing to fetch: no network needed


def test_unpacked_copy_counts_as_present(own_cache, good_server, source_files):
    dest = own_cache
    dest.mkdir(parents=True)
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
    assert message.count("HTTP error 404") == 2  # every mirror's reason is reported (the port may hold "404")
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


# --- issue 8: a trickling server, cancel within a second, never over the user's files --------------


def trickle(server: Server, every: float = 0.2):
    """A server that announces 10 MB and sends one byte every ``every`` seconds, alive but useless."""
    server.asked = threading.Event()

    def respond(handler: BaseHTTPRequestHandler, name: str) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(10_000_000))
        handler.end_headers()
        server.asked.set()
        try:
            while not server.release.wait(every):
                handler.wfile.write(b"\x1f")
                handler.wfile.flush()
        except OSError:
            pass
    return respond


@pytest.fixture
def trickling(serve) -> Server:
    state = {}
    server = serve(lambda handler, name: state["respond"](handler, name))
    state["respond"] = trickle(server)
    return server


def test_a_trickling_server_fails_the_minimum_rate(tmp_path, trickling):
    dest = tmp_path / "mnist"
    message = download_error(dest, mirrors=[trickling.url], min_rate=1000, rate_window=1.0)
    assert "too slow" in message and "at least 1 kB/s needed" in message
    assert_empty(dest)


def test_a_trickling_server_meets_the_overall_deadline(tmp_path, trickling):
    dest = tmp_path / "mnist"
    message = download_error(dest, mirrors=[trickling.url], deadline=1.0, min_rate=0)
    assert "not done within 1 s" in message
    assert_empty(dest)


def test_cancel_during_a_trickle_returns_at_once_and_keeps_nothing(tmp_path, trickling):
    cancel = threading.Event()
    dest = tmp_path / "mnist"
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            download_mnist(dest, mirrors=[trickling.url], cancel=cancel, min_rate=0)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert trickling.asked.wait(30)
    cancel.set()
    thread.join(timeout=5)  # a hang guard, not a timing: the cancel is honoured within a tick (0.1 s)
    assert not thread.is_alive()
    assert isinstance(outcome[0], DownloadCancelled)
    assert_empty(dest)


def test_download_never_replaces_the_users_files(tmp_path, good_server, mnist):
    from nnstudio.core.idx import idx_header

    dest = tmp_path / "my-digits"
    dest.mkdir()
    small = {"train-images-idx3-ubyte": mnist.train_images[:20], "train-labels-idx1-ubyte": mnist.train_labels[:20],
             "t10k-images-idx3-ubyte": mnist.test_images[:10], "t10k-labels-idx1-ubyte": mnist.test_labels[:10]}
    for name, array in small.items():
        (dest / name).write_bytes(idx_header(array.shape) + array.tobytes())
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    message = download_error(dest, mirrors=[good_server.url])
    assert "already holds files that are not MNIST" in message and "never replaced" in message
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert good_server.requests == []
    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"jpeg")
    assert "holiday.jpg" in download_error(other, mirrors=[good_server.url])
    assert [p.name for p in other.iterdir()] == ["holiday.jpg"]


def test_download_resumes_in_a_new_folder_holding_only_verified_mnist(tmp_path, good_server, source_files):
    dest = tmp_path / "mnist"
    dest.mkdir()
    (dest / GZ_NAMES[0]).write_bytes(source_files[GZ_NAMES[0]])
    download_mnist(dest, mirrors=[good_server.url])
    assert sorted(good_server.requests) == sorted(GZ_NAMES[1:])


def test_downloaded_files_respect_the_umask(tmp_path, good_server):
    import os

    dest = download_mnist(tmp_path / "mnist", mirrors=[good_server.url])
    umask = os.umask(0)
    os.umask(umask)
    assert {p.stat().st_mode & 0o777 for p in dest.iterdir()} == {0o666 & ~umask}


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_sigterm_or_ctrl_c_during_a_cli_download_leaves_no_part_file(tmp_path, trickling, signum):
    import os
    import signal
    import subprocess
    import sys

    data = tmp_path / "data"
    script = ("import sys; from nnstudio.core import download; "
              f"download.download_mnist.__kwdefaults__['mirrors'] = [{trickling.url!r}]; "
              "from nnstudio.cli.train import main; sys.exit(main(['--epochs', '1']))")
    env = {**os.environ, "NNSTUDIO_DATA": str(data), "no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"}
    process = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert trickling.asked.wait(60)
        process.send_signal(getattr(signal, signum))
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, err
    assert "download cancelled" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no runs/ either
    assert list(data.iterdir()) == []  # no .part file
