"""Serve a test site folder on 127.0.0.1 (any free port), for the crawl and flow tests.

A request ``/a/b/`` is answered with ``<root>/a/b/index.html``, ``/a/b.xml`` with that file;
requests with a query string (and any other exceptions) are looked up in the ``routes`` of
``<root>/site.json`` (``{"routes": {"/path/?q=1": "file/in/root.html"}}``). Anything else is a
404. The content type comes from the file extension (HTML and XML as UTF-8) unless
``content_types`` of ``site.json`` names one for the path. A site whose files name their own
absolute address (``"host": "https://news.example"`` in ``site.json``, e.g. in a feed or a
sitemap) is served with that address replaced by the local one, as a live site would link
itself. Every request path is recorded in ``Site.seen``.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from infoshos.spiders.sample_site.loopback import Loopback, LoopbackHTTPServer, StartStop

SITES = Path(__file__).resolve().parent
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}
NOT_FOUND = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"  # noqa: E501


class Site(StartStop):
    """``with Site("ecrats") as site: site.base_url`` -> ``http://127.0.0.1:PORT``."""

    def __init__(self, name: str) -> None:
        self.root = (SITES / name).resolve()
        config = self.root / "site.json"
        data = json.loads(config.read_text("utf-8")) if config.exists() else {}
        self.routes: dict[str, str] = dict(data.get("routes", {}))
        self.content_types: dict[str, str] = dict(data.get("content_types", {}))
        self.host: str | None = data.get("host")
        self.seen: list[str] = []
        self.base_url = ""
        self._loop: Loopback | None = None

    def resolve(self, request_path: str) -> Path | None:
        """The file answering a request path, or None (404)."""
        if request_path in self.routes:
            return self.root / self.routes[request_path]
        if "?" in request_path:
            return None
        target = (self.root / request_path.lstrip("/")).resolve()
        if not target.is_relative_to(self.root):
            return None
        if target.is_dir():
            target = target / "index.html"
        if target.name == "site.json" or target.name == "truth.json":
            return None
        return target if target.is_file() else None

    def content_type(self, request_path: str, path: Path) -> str:
        bare = request_path.split("?", 1)[0]
        return self.content_types.get(bare) or TYPES.get(path.suffix, "application/octet-stream")

    def body(self, path: Path) -> bytes:
        data = path.read_bytes()
        if self.host:
            data = data.replace(self.host.encode(), self.base_url.encode())
        return data

    def start(self) -> Site:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site.seen.append(self.path)
                path = site.resolve(self.path)
                if path is None:
                    status, ctype, body = 404, "text/html; charset=utf-8", NOT_FOUND
                else:
                    status, ctype, body = 200, site.content_type(self.path, path), site.body(path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._loop = Loopback(LoopbackHTTPServer(Handler), "test-site").start()
        self.base_url = self._loop.base_url
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None


def truth(name: str) -> dict[str, Any]:
    """The ground truth of a site (``<site>/truth.json``)."""
    data: dict[str, Any] = json.loads((SITES / name / "truth.json").read_text("utf-8"))
    return data
