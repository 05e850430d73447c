"""A small Infoshos-style site on 127.0.0.1 for crawl tests: articles with ETag and
Last-Modified (conditional GETs answer 304), and routes that inject faults.

Paths (below ``/infoshos/``, canonical prefix ``http://infoshos.sample.test/``):

- ``en/news/?page=N``: 10 items a page, newest first, ``span.date`` ``DD.MM.YYYY HH:MM``,
  ``a.next``; ``en/?idn=N``: articles; ``rss/rss_en.xml``: RSS of the 15 newest (``pubDate``);
- ``faults/``: a list page linking every fault route (:data:`FAULTS`) and hostile links
  (:data:`HOSTILE_LINKS`); it also sets a cookie;
- ``/robots.txt`` disallows ``/infoshos/private/``.

Every request is logged (``site.hits``: path -> count, ``site.times``: (monotonic time, path)
in arrival order, ``site.conditional``: path -> the
If-None-Match / If-Modified-Since headers received, ``site.cookies_sent``). Waits are bounded
(``hang`` at most ``hang_seconds``, released when the server stops); the server is threaded
with daemon threads.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infoshos.spiders.sample_site.loopback import Loopback, LoopbackHTTPServer, StartStop

CANONICAL = "http://infoshos.sample.test/"
_MSK = timezone(timedelta(hours=3), "MSK")
HTML_1251 = "text/html; charset=windows-1251"
PER_PAGE = 10
#: Size of the too-large pages; tests run with ``--max-bytes`` 200 KB.
BIG = 300 * 1024
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)

#: The fault routes (below /infoshos/fault/), linked from /infoshos/faults/ as news items.
FAULTS = (
    "500-once",
    "503-retry-after",
    "hang",
    "slow",
    "reset",
    "truncated",
    "gzip-bomb",
    "too-large",
    "too-large-stream",
    "wrong-charset",
    "no-charset",
    "loop",
    "redirect-offsite",
    "redirect-file",
    "binary",
    "404",
)
#: Links on the faults page that must never be requested (or are refused before requesting).
HOSTILE_LINKS = (
    "/infoshos/private/secret.html",  # robots.txt
    "/infoshos/img/photo.png",  # a media link: not_article, never requested
    "http://evil.example.org/steal",  # offsite
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:text/html;base64,PGgxPng8L2gxPg==",
    "mailto:someone@example.org",
    "ftp://127.0.0.1/x",
    "/infoshos/fault/..%2F..%2F..%2Fetc%2Fpasswd?name=../../x&z=%00",
)


@dataclass
class Article:
    idn: int
    title: str
    published: datetime  # Moscow time, naive
    text: str

    @property
    def path(self) -> str:
        return f"/infoshos/en/?idn={self.idn}"

    @property
    def canonical_url(self) -> str:
        return f"{CANONICAL}en/?idn={self.idn}"


def make_articles(n: int, start: datetime | None = None) -> list[Article]:
    """``n`` articles, one a day from ``start`` (2020-01-01 10:00)."""
    start = start or datetime(2020, 1, 1, 10, 0)
    return [
        Article(100 + i, f"Story {i}", start + timedelta(days=i), f"Text of story {i}.")
        for i in range(n)
    ]


def _page(title: str, center: str) -> str:
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        f"<title>{title}</title></head><body>"
        '<div class="menu"><a href="/infoshos/en/news/?page=1">News</a></div>'
        f'<div class="center-column-wrap"><table><tr><td class="text">{center}'
        "</td></tr></table></div></body></html>"
    )


def _item(when: datetime | None, href: str, title: str) -> str:
    date = f'<span class="date">{when:%d.%m.%Y %H:%M}</span> ' if when else ""
    return f'<div class="news-item">{date}<a href="{href}">{title}</a></div>'


@dataclass
class Reply:
    status: int = 200
    content_type: str = HTML_1251
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


class _Server(LoopbackHTTPServer):
    block_on_close = False

    def __init__(self, site: FaultSite) -> None:
        super().__init__(_Handler)
        self.site = site

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients abort connections on purpose (size limits, timeouts)."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        site = self.server.site
        path = self.path
        with site.lock:
            site.times.append((time.monotonic(), path))
            site.hits[path] += 1
            count = site.hits[path]
            cond = {
                k: v
                for k in ("If-None-Match", "If-Modified-Since")
                if (v := self.headers.get(k)) is not None
            }
            if cond:
                site.conditional[path] = cond
            if self.headers.get("Cookie") is not None:
                site.cookies_sent += 1
        route = urlsplit(path).path
        if route.startswith("/infoshos/fault/"):
            self._fault(route.rsplit("/", 1)[-1], count)
            return
        self._send(site.resolve(path, dict(self.headers.items())))

    # -- plain replies ----------------------------------------------------------------------

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _ok(self, text: str = "A fault page that recovered.") -> None:
        body = _page("Recovered", f'<h1 class="title">Recovered</h1><p>{text}</p>')
        self._send(Reply(body=body.encode("cp1251")))

    # -- faults -----------------------------------------------------------------------------

    def _fault(self, name: str, count: int) -> None:
        site = self.server.site
        if name == "500-once":
            if count == 1:
                self._send(Reply(500, "text/html", b"<h1>500</h1>"))
            else:
                self._ok()
        elif name == "503-retry-after":
            if count == 1:
                self._send(Reply(503, "text/html", b"<h1>busy</h1>", [("Retry-After", "1")]))
            else:
                self._ok()
        elif name == "hang":
            site.stopping.wait(site.hang_seconds)  # bounded; released on stop
            self.close_connection = True
        elif name == "slow":
            site.stopping.wait(site.slow_seconds)
            self._ok("Slow but in time.")
        elif name in ("reset", "truncated"):
            body = _page("Cut", "<p>" + "x" * 5000 + "</p>").encode()
            self.send_response(200)
            self.send_header("Content-Type", HTML_1251)
            self.send_header("Content-Length", str(len(body) + 10000))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            if name == "reset":  # RST instead of FIN
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            self.close_connection = True
        elif name == "gzip-bomb":
            self._send(
                Reply(
                    body=site.bomb,
                    content_type="text/html; charset=utf-8",
                    headers=[("Content-Encoding", "gzip")],
                )
            )
        elif name == "too-large":
            self._send(Reply(body=b"<html><body><p>" + b"y" * BIG + b"</p></body></html>"))
        elif name == "too-large-stream":  # no Content-Length: the limit hits while reading
            self.send_response(200)
            self.send_header("Content-Type", HTML_1251)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"z" * 16384
            try:
                for _ in range(BIG // len(chunk) + 4):  # bounded
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
        elif name == "wrong-charset":
            self._send(Reply(content_type="text/html; charset=utf-8", body=site.cp1251_page))
        elif name == "no-charset":
            self._send(Reply(content_type="text/html", body=site.cp1251_page))
        elif name in ("loop", "loop2"):
            other = "loop2" if name == "loop" else "loop"
            self._send(Reply(302, "text/html", b"", [("Location", f"/infoshos/fault/{other}")]))
        elif name == "redirect-offsite":
            self._send(Reply(302, "text/html", b"", [("Location", "http://evil.example.org/")]))
        elif name == "redirect-file":
            self._send(Reply(302, "text/html", b"", [("Location", "file:///etc/passwd")]))
        elif name == "binary":
            self._send(Reply(content_type="image/png", body=PNG))
        else:
            self._send(Reply(404, "text/html", b"<h1>404</h1>"))


class FaultSite(StartStop):
    """The site in a background thread while in a ``with`` block."""

    def __init__(self, articles: list[Article] | None = None, hang_seconds: float = 6.0) -> None:
        self.articles: dict[int, Article] = {a.idn: a for a in articles or []}
        self.hang_seconds = hang_seconds
        self.slow_seconds = 0.2
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.times: list[tuple[float, str]] = []
        self.conditional: dict[str, dict[str, str]] = {}
        #: Requests that carried a Cookie header (the faults page sets one).
        self.cookies_sent = 0
        self.stopping = threading.Event()
        self.bomb = gzip.compress(b"<html>" + b"\0" * (20 * 1024 * 1024), 9)
        self.cp1251_page = _page(
            "Кодировка", '<h1 class="title">Встреча</h1><p>Министры обсудили вопросы.</p>'
        ).encode("cp1251")
        self._loop: Loopback | None = None

    @property
    def base_url(self) -> str:
        assert self._loop is not None
        return self._loop.base_url

    @property
    def url_map(self) -> list[tuple[str, str]]:
        return [(f"{self.base_url}/infoshos/", CANONICAL)]

    def add(self, article: Article) -> None:
        with self.lock:
            self.articles[article.idn] = article

    def reset_hits(self) -> None:
        with self.lock:
            self.hits.clear()
            self.conditional.clear()

    def article_hits(self) -> dict[str, int]:
        with self.lock:
            return {p: n for p, n in self.hits.items() if "?idn=" in p}

    # -- pages ------------------------------------------------------------------------------

    def _newest_first(self) -> list[Article]:
        with self.lock:
            return sorted(self.articles.values(), key=lambda a: a.published, reverse=True)

    def resolve(self, target: str, headers: dict[str, str]) -> Reply:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path == "/robots.txt":
            return Reply(200, "text/plain", b"User-agent: *\nDisallow: /infoshos/private/\n")
        if path == "/infoshos/en/news/":
            return self._list(int((query.get("page") or ["1"])[0] or 1))
        if path == "/infoshos/rss/rss_en.xml":
            return self._rss()
        if path == "/infoshos/faults/":
            return self._faults_page()
        if path == "/infoshos/en/" and "idn" in query:
            with self.lock:
                article = self.articles.get(int(query["idn"][0]))
            if article is not None:
                return self._article(article, headers)
        return Reply(404, "text/html", b"<h1>404</h1>")

    def _list(self, page: int) -> Reply:
        items = self._newest_first()
        pages = max(1, -(-len(items) // PER_PAGE))
        if not 1 <= page <= pages:
            return Reply(404, "text/html", b"<h1>404</h1>")
        chunk = items[(page - 1) * PER_PAGE : page * PER_PAGE]
        rows = "".join(_item(a.published, a.path, a.title) for a in chunk)
        nxt = f'<a class="next" href="?page={page + 1}">next</a>' if page < pages else ""
        return Reply(body=_page("News", rows + nxt).encode("cp1251"))

    def _rss(self) -> Reply:
        items = "".join(
            f"<item><title>{a.title}</title><link>{CANONICAL}en/?idn={a.idn}</link>"
            f"<pubDate>{format_datetime(a.published.replace(tzinfo=_MSK))}</pubDate></item>"
            for a in self._newest_first()[:15]
        )
        doc = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{items}'
        return Reply(body=(doc + "</channel></rss>").encode(), content_type="application/rss+xml")

    def _article(self, a: Article, headers: dict[str, str]) -> Reply:
        body = _page(
            a.title,
            f'<h1 class="title">{a.title}</h1><div class="date">{a.published:%d.%m.%Y %H:%M}'
            f"</div><p>{a.text}</p>",
        ).encode("cp1251")
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        modified = a.published.replace(tzinfo=_MSK)
        validators = [("ETag", etag), ("Last-Modified", format_datetime(modified, usegmt=False))]
        inm = headers.get("If-None-Match")
        ims = headers.get("If-Modified-Since")
        if inm is not None:
            if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
                return Reply(304, HTML_1251, b"", validators)
        elif ims is not None:
            try:
                if parsedate_to_datetime(ims) >= modified:
                    return Reply(304, HTML_1251, b"", validators)
            except (TypeError, ValueError):
                pass
        return Reply(body=body, headers=validators)

    def _faults_page(self) -> Reply:
        rows = [_item(None, f"/infoshos/fault/{name}", name) for name in FAULTS]
        rows += [_item(None, href, "hostile") for href in HOSTILE_LINKS]
        body = _page("Faults", "".join(rows)).encode("cp1251")
        return Reply(body=body, headers=[("Set-Cookie", "session=abc; Path=/")])

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FaultSite:
        self._loop = Loopback(_Server(self), "fault-site").start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._loop is not None:  # kept: base_url still names the site after it stopped
            self._loop.stop()
