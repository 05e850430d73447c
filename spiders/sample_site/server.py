"""A small threaded HTTP server for the sample site, bound to 127.0.0.1 only."""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import render
from .loopback import Loopback, LoopbackHTTPServer, StartStop
from .render import Page, SiteData

HTML_CP1251 = "text/html; charset=windows-1251"
HTML_UTF8 = "text/html; charset=utf-8"
NOT_FOUND = Page(
    404, "text/html; charset=utf-8", b"<html><body><h1>404 Not Found</h1></body></html>"
)
SERVER_ERROR = Page(
    500, "text/html; charset=utf-8", b"<html><body><h1>500 Internal Server Error</h1></body></html>"
)

_IDN = re.compile(r"^/infoshos/(en|ru)/(?:index\.php|print\.php)?$")
_ARTICLE_PATH = re.compile(r"^/infoshos/(en|ru)/(?:index\.php)?$")
_SECTSCO_ARTICLE = re.compile(r"^/sectsco/(eng|rus)/(?:news/)?(\d{8})/(\d+)\.html$")


def _int(query: dict[str, list[str]], name: str, default: int | None = None) -> int | None:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        return None


def resolve(data: SiteData, target: str, base_url: str) -> Page:
    """The page served for a request target (path and query)."""
    parts = urlsplit(target)
    path, query = parts.path, parse_qs(parts.query)
    if path == "/robots.txt":
        return Page(200, "text/plain; charset=utf-8", render.ROBOTS)
    if path.startswith("/infoshos/"):
        return _infoshos(data, path, query, base_url)
    if path.startswith("/sectsco/"):
        return _sectsco(data, path, query)
    return NOT_FOUND


def _infoshos(data: SiteData, path: str, query: dict[str, list[str]], base_url: str) -> Page:
    doc = data.documents_by_path.get(path)
    if doc is not None:
        return Page(200, "application/pdf", render.pdf_bytes(doc.title))
    if path in ("/infoshos/rss/rss_en.xml", "/infoshos/rss/rss_ru.xml"):
        lang = path[-6:-4]
        body = render.infoshos_rss(data, lang, base_url)
        return Page(200, "application/rss+xml; charset=windows-1251", body)
    for lang in ("en", "ru"):
        if path == f"/infoshos/{lang}/news/":
            page = _int(query, "page", 1)
            if page is None or not 1 <= page <= render.infoshos_list_pages(data, lang):
                return NOT_FOUND
            return Page(200, HTML_CP1251, render.infoshos_list(data, lang, page))
    m = _IDN.match(path)
    if m is None:
        return NOT_FOUND
    lang = m.group(1)
    idn = _int(query, "idn")
    article = data.by_idn.get(idn) if idn is not None else None
    if article is None or article.language != lang or article.broken == "missing_404":
        return NOT_FOUND
    if path.endswith("print.php"):
        body = render.infoshos_print(article)
    else:
        body = render.infoshos_article(data, article)
    variant = article.encoding_variant
    ctype = "text/html" if variant in ("meta_only", "none") else HTML_CP1251
    return Page(200, ctype, body)


def _sectsco(data: SiteData, path: str, query: dict[str, list[str]]) -> Page:
    doc = data.documents_by_path.get(path)
    if doc is not None:
        return Page(200, "application/pdf", render.pdf_bytes(doc.title))
    for edition in ("eng", "rus"):
        if path == f"/sectsco/{edition}/news/":
            offset = _int(query, "offset", 0)
            size = render.sectsco_list_size(data, edition)
            if offset is None or offset % render.PER_PAGE or not 0 <= offset < max(size, 1):
                return NOT_FOUND
            return Page(200, HTML_UTF8, render.sectsco_list(data, edition, offset))
    m = _SECTSCO_ARTICLE.match(path)
    if m is None:
        return NOT_FOUND
    article = data.by_sectsco_path.get((m.group(1), m.group(2), int(m.group(3))))
    if article is None:
        return NOT_FOUND
    return Page(200, HTML_UTF8, render.sectsco_article(data, article))


class _Server(LoopbackHTTPServer):
    def __init__(self, port: int, data: SiteData) -> None:
        super().__init__(_Handler, port)
        self.data = data
        self.failed_once: set[int] = set()
        self.lock = threading.Lock()
        self.cache: dict[str, Page] = {}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "SampleSite/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line per request."""

    def _page(self) -> Page:
        srv = self.server
        target = self.path
        parts = urlsplit(target)
        if _ARTICLE_PATH.match(parts.path):
            idn = _int(parse_qs(parts.query), "idn")
            article = srv.data.by_idn.get(idn) if idn is not None else None
            if article is not None and article.broken == "http500_once":
                with srv.lock:
                    first = article.idn not in srv.failed_once
                    srv.failed_once.add(idn or 0)
                if first:
                    return SERVER_ERROR
        with srv.lock:
            cached = srv.cache.get(target)
        if cached is not None:
            return cached
        page = resolve(srv.data, target, srv.base_url)
        with srv.lock:
            srv.cache[target] = page
        return page

    def _send(self, with_body: bool) -> None:
        try:
            page = self._page()
        except Exception:  # a bug in a page must not kill the connection silently
            page = SERVER_ERROR
        etag = '"' + hashlib.sha1(page.body).hexdigest()[:16] + '"'
        if page.status == 200 and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        if page.status == 200:
            self.send_header("ETag", etag)
        for name, value in page.headers:
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(page.body)

    def do_GET(self) -> None:
        self._send(with_body=True)

    def do_HEAD(self) -> None:
        self._send(with_body=False)


class SampleSite(StartStop):
    """The sample site on 127.0.0.1, served from a background thread while in a ``with`` block.

    >>> with SampleSite(port=0) as site:  # doctest: +SKIP
    ...     site.base_url
    'http://127.0.0.1:PORT'
    """

    def __init__(self, port: int = 0, data: SiteData | None = None) -> None:
        self.port = port
        self._data = data
        self._server: _Server | None = None
        self._loop: Loopback | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SampleSite is not running")
        return self._server.base_url

    def start(self) -> SampleSite:
        self._server = _Server(self.port, self._data or SiteData())
        self.port = self._server.port
        self._loop = Loopback(self._server, "sample-site").start()
        return self

    def update(self, data: SiteData) -> None:
        """Serve other content from now on (tests: a new, changed or deleted article)."""
        if self._server is None:
            raise RuntimeError("SampleSite is not running")
        with self._server.lock:
            self._server.data = data
            self._server.cache.clear()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
        self._server = self._loop = None


def serve_forever(port: int) -> None:
    """Serve the sample site until interrupted (the CLI entry point); prints the URL."""
    server = _Server(port, SiteData())
    print(f"Sample site at {server.base_url}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
