"""The one base of every local HTTP server (sample site, test sites, the bench's fallback)."""

from __future__ import annotations

import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler

import pytest

from infoshos.spiders.sample_site.loopback import Loopback, LoopbackHTTPServer


class _Hello(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_serves_on_loopback_only_and_stops_completely() -> None:
    server = LoopbackHTTPServer(_Hello)
    assert server.server_address[0] == "127.0.0.1" and server.port > 0
    before = set(threading.enumerate())
    with Loopback(server, "hello") as loop:
        assert loop.base_url == f"http://127.0.0.1:{server.port}"
        with urllib.request.urlopen(loop.base_url + "/x?y=1", timeout=10) as resp:
            assert resp.read() == b"/x?y=1"
        assert any(t.name == "hello" for t in threading.enumerate())
    # none of the server's threads is left: its loop, its request handlers (a thread another
    # library starts meanwhile in this process is not the server's: counting threads was flaky)
    left = [t for t in threading.enumerate() if t not in before]
    assert not [t for t in left if t.name == "hello" or "process_request" in t.name], left
    assert server.socket.fileno() == -1  # closed
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), 2):
        pass
