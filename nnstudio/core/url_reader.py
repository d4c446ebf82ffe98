"""An HTTP(S) body read on a helper thread that the reader can abandon at any moment.

The caller waits on :attr:`UrlReader.items` in short ticks, so it can honour a cancel, a deadline
or a minimum rate whatever the connection does (a DNS lookup, a connect, a server that trickles);
:meth:`UrlReader.abandon` shuts the socket, so a blocked read returns at once.
"""

from __future__ import annotations

import http.client
import queue
import socket
import threading
import urllib.request

from nnstudio import __version__


END = object()  # the body is complete


class UrlReader:
    """Reads one URL on a daemon thread and hands the caller ("start", length), chunks, then END or
    an exception. The caller can abandon it at any moment: it stops at its next chance, and its
    socket is shut down so that a blocked read returns at once."""

    def __init__(self, url: str, timeout: float, chunk: int = 64 * 1024) -> None:
        self.url = url
        self.timeout = timeout
        self.chunk = chunk
        self.items: queue.Queue = queue.Queue()
        self.abandoned = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="nnstudio-download", daemon=True).start()

    def _run(self) -> None:
        request = urllib.request.Request(self.url, headers={"User-Agent": f"nnstudio/{__version__}"})
        try:
            with self._opener().open(request, timeout=self.timeout) as response:
                length = response.headers.get("Content-Length")
                self.items.put(("start", int(length) if length and length.isdigit() else None))
                while not self.abandoned.is_set():
                    chunk = response.read1(self.chunk)
                    if not chunk:
                        break
                    self.items.put(chunk)
            self.items.put(END)
        except BaseException as exc:  # handed over; raised by the caller unless it has left
            self.items.put(exc)

    def _opener(self) -> urllib.request.OpenerDirector:
        """urllib's opener (proxies and redirects included) with connections that record their socket."""
        reader = self

        def recording(connection_class):
            class Recording(connection_class):
                def connect(self) -> None:
                    super().connect()
                    reader._keep(self.sock)
            return Recording

        class HTTP(urllib.request.HTTPHandler):
            def do_open(self, http_class, req, **kwargs):
                return super().do_open(recording(http_class), req, **kwargs)

        class HTTPS(urllib.request.HTTPSHandler):
            def do_open(self, http_class, req, **kwargs):
                return super().do_open(recording(http_class), req, **kwargs)

        return urllib.request.build_opener(HTTP, HTTPS)

    def _keep(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.abandoned.is_set():
                self._shut(sock)

    def abandon(self) -> None:
        self.abandoned.set()
        with self._lock:
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: wakes a blocked read
        except OSError:
            pass


def describe(reason: object) -> str:
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
