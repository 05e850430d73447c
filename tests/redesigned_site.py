"""The sample site after a redesign: the same articles, URLs and feeds, but every HTML class name
renamed (``class="title"`` -> ``class="v2-title"``), so the portals' site rules find nothing
while the text, the datelines and the links are all still there. Served on 127.0.0.1 (a free
port) from a background thread; robots.txt, feeds and PDFs are served as the sample site serves
them.

A source for it: :func:`sources_file` writes a sources YAML with one source crawling the
redesigned Infoshos-style portal with the ``infoshos`` spider and style (``url_map`` to the
canonical sample host, as the sample sources have).
"""

from __future__ import annotations

import re
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import yaml

from infoshos.spiders import sample_site
from infoshos.spiders.sample_site.loopback import Loopback, LoopbackHTTPServer, StartStop
from infoshos.spiders.sample_site.render import SiteData
from infoshos.spiders.sample_site.server import resolve

_CLASS = re.compile(rb'class="([^"]*)"')


def redesign(body: bytes) -> bytes:
    """Every class name of an HTML page prefixed with ``v2-`` (bytes: any ASCII-compatible
    encoding stays as it is)."""
    return _CLASS.sub(
        lambda m: b'class="' + b" ".join(b"v2-" + c for c in m.group(1).split()) + b'"', body
    )


class RedesignedSite(StartStop):
    """``with RedesignedSite() as site: site.base_url`` -> ``http://127.0.0.1:PORT``."""

    def __init__(self) -> None:
        self.data = SiteData()
        self.base_url = ""
        self._loop: Loopback | None = None

    def start(self) -> RedesignedSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                page = resolve(site.data, self.path, site.base_url)
                body = redesign(page.body) if "html" in page.content_type else page.body
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._loop = Loopback(LoopbackHTTPServer(Handler), "redesigned-site").start()
        self.base_url = self._loop.base_url
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None


def sources_file(folder: Path, base_url: str, name: str, **fields: Any) -> Path:
    """A sources YAML with source ``name``: the Infoshos-style portal at ``base_url`` (the
    sample site or its redesign), crawled with the infoshos spider, without delay."""
    local = dict(sample_site.url_map(base_url))
    infoshos_local = next(k for k in local if "/infoshos/" in k)
    entry = {
        "spider": "infoshos",
        "start_urls": sample_site.start_urls(base_url)["infoshos-sample"],
        "url_map": [f"{infoshos_local}={local[infoshos_local]}"],
        "encoding": "windows-1251",
        "delay": 0,
        "concurrency": 8,
        **fields,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"sources": {name: entry}}))
    return path


def infoshos_titles() -> set[str]:
    """Titles of the Infoshos-style sample articles (the damaged ones included)."""
    return {a.title for a in sample_site.load_articles() if a.portal == "infoshos"}
