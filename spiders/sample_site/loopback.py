"""One base for every local HTTP server of the project: the sample site, the test sites (faults,
a redesigned portal) and the benchmark's Python fallback.

:class:`LoopbackHTTPServer` binds 127.0.0.1 only (never another interface) and handles each
request in a daemon thread; :class:`Loopback` serves one from a background thread, as a
context manager, and stops it completely (shutdown, socket closed, thread joined). Every local
server (these, and the test services: Redis, PostgreSQL, S3) is a :class:`StartStop`.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

HOST = "127.0.0.1"


class StartStop:
    """``start()`` and ``stop()`` as a context manager: ``with`` starts it and always stops it,
    a start that fails half-way included."""

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 (``port`` 0: any free port)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        super().__init__((HOST, port), handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


class Loopback(StartStop):
    """Serve ``server`` from a daemon thread: ``with Loopback(server) as loop: loop.base_url``."""

    def __init__(self, server: LoopbackHTTPServer, name: str = "loopback-http") -> None:
        self.server = server
        self.name = name
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self.server.serve_forever, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and wait for the thread (at most 10 s)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self.server.shutdown()
            thread.join(timeout=10)
        self.server.server_close()
