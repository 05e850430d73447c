"""URLs in a crawl: mapping a local mirror to canonical URLs, what is on the site, and what
a link is. Pure functions over strings (no Scrapy).

Rules:

- URL mapping: a crawl of a local mirror passes ``url_map`` pairs ``(local_prefix,
  canonical_prefix)``, longest local prefix first. A fetched URL becomes canonical through
  :func:`to_canonical` (records carry canonical URLs); a canonical link found in a page (e.g. an
  absolute link in an RSS feed) is mapped back to the mirror by :func:`to_fetch` before it is
  requested. No pair applies: the URL is its own canonical form.
- A site is an origin: a host (``www.`` ignored, subdomains included) on one port; the default
  ports of http and https are one site (a site moving to https stays itself).
- A URL is known, fetched once and matched under its key (:func:`url_key`): the warehouse's
  canonical form, so that ``/news/YYYYMMDD/ID.html`` and ``/YYYYMMDD/ID.html``, or
  ``print.php?idn=N`` and ``?idn=N``, are one key. Source patterns are searched in
  :func:`url_target`: the path plus ``?query`` of the key.
- A link is followed only when it is an absolute http(s) URL (:func:`absolute_url`); a link to
  a document or media file (:func:`document_extension`) is never fetched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from scrapy.linkextractors import IGNORED_EXTENSIONS

from infoshos.warehouse import keys

#: ``(local_prefix, canonical_prefix)`` pairs, longest local prefix first.
UrlMap = list[tuple[str, str]]
#: ``(host, port)``, the port None for the scheme's default.
Origin = tuple[str, int | None]

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: How many links, URLs' keys and pattern targets a crawl process remembers (least recently used
#: first out; a few MB). A page's navigation links repeat on every page, and one link is keyed
#: up to three times (article pattern, list pattern, seen key): keying was half of a crawl's
#: parsing time before.
KEY_MEMORY = 1 << 14
_DOC_EXTENSIONS = frozenset(
    {*IGNORED_EXTENSIONS, "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "odt"}
)
_LANG_CODES = {
    "en": "en",
    "eng": "en",
    "ru": "ru",
    "rus": "ru",
    "zh": "zh",
    "cn": "zh",
    "chn": "zh",
    "zh-cn": "zh",
}


def split_arg(value: str | Iterable[str] | None) -> list[str]:
    """Spider arguments arrive as lists (from code) or strings (``scrapy crawl -a``)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[\s,]+", value) if v]
    return [str(v) for v in value]


def parse_url_map(value: str | Iterable[Any] | None) -> UrlMap:
    """``[(local, canonical), ...]`` from pairs or from ``"LOCAL=CANONICAL ..."`` strings."""
    pairs: UrlMap = []
    items: Iterable[Any] = split_arg(value) if isinstance(value, str) else (value or [])
    for item in items:
        if isinstance(item, str):
            m = re.fullmatch(r"(https?://\S+?)=(https?://\S+)", item.strip())
            if not m:
                raise ValueError(f"bad url map entry {item!r}, expected LOCAL=CANONICAL")
            pairs.append((m.group(1), m.group(2)))
        else:
            local, canonical = item
            pairs.append((str(local), str(canonical)))
    # Longest prefix first, so that nested prefixes map correctly.
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def to_canonical(url: str, url_map: UrlMap) -> str:
    """The canonical URL of a fetched URL (identity when no mapping applies)."""
    for local, canonical in url_map:
        if url.startswith(local):
            return canonical + url[len(local) :]
    return url


def to_fetch(url: str, url_map: UrlMap) -> str:
    """The URL to request for a URL seen in a page (canonical links go to the mirror)."""
    for local, canonical in url_map:
        if url.startswith(canonical):
            return local + url[len(canonical) :]
    return url


def _host(url: str) -> str:
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def _without_host_dot(url: str) -> str:
    """``http://eng.sectsco.org./x`` -> ``http://eng.sectsco.org/x`` (a trailing dot on the
    host names the same host; the link is requested and mapped without it)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    host, sep, port = netloc.rpartition(":") if "]" not in netloc else (netloc, "", "")
    if not sep or not port.isdigit():
        host, sep, port = netloc, "", ""
    if host.endswith(".") and not host.endswith(".."):
        return parts._replace(netloc=host.rstrip(".") + sep + port).geturl()
    return url


@lru_cache(maxsize=KEY_MEMORY)
def absolute_url(base: str, href: str) -> str | None:
    """The absolute http(s) URL of a link, None for fragments and other schemes (remembered for
    the last :data:`KEY_MEMORY` links: a page's links are resolved once to be sorted, once to be
    followed)."""
    href = (href or "").strip()
    if not href or href.startswith("#"):
        return None
    try:
        absolute = _without_host_dot(urldefrag(urljoin(base, href))[0])
        scheme = urlsplit(absolute).scheme
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    if scheme not in ("http", "https"):
        return None  # mailto:, javascript:, file:, data: ... never requested
    return absolute


def compile_patterns(patterns: str | Iterable[str] | None) -> list[re.Pattern[str]]:
    """Regular expressions from a list (or a newline-separated string: ``scrapy -a``)."""
    if patterns is None:
        return []
    items = [p for p in patterns.splitlines() if p] if isinstance(patterns, str) else patterns
    return [re.compile(p) for p in items]


#: The key a URL is known under: :func:`infoshos.warehouse.keys.url_key` (the one rule),
#: remembered for the last :data:`KEY_MEMORY` URLs.
url_key = lru_cache(maxsize=KEY_MEMORY)(keys.url_key)


@lru_cache(maxsize=KEY_MEMORY)
def url_target(canonical: str) -> str:
    """What source patterns are searched in: the path plus ``?query`` of a URL's canonical
    form (:func:`url_key`)."""
    parts = urlsplit(url_key(canonical))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def matches(patterns: Iterable[re.Pattern[str]], canonical_url: str) -> bool:
    """True when one of ``patterns`` is found in the URL's :func:`url_target`."""
    target = url_target(canonical_url)
    return any(p.search(target) for p in patterns)


def path_matches(patterns: Iterable[re.Pattern[str]], url: str) -> bool:
    """True when one of ``patterns`` is found in the URL's path (as it is: no canonical form)."""
    path = urlsplit(url).path
    return any(p.search(path) for p in patterns)


def _domain_matches(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def url_origin(url: str) -> Origin | None:
    """``(host, port)`` of a URL, the port None for the scheme's default; None when the URL
    has no host or a bad port."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = _host(url)
    if not host:
        return None
    if port is not None and _DEFAULT_PORTS.get(parts.scheme.lower()) == port:
        port = None
    return host, port


def domain_origin(domain: str) -> Origin | None:
    """An ``allowed_domains`` entry as an origin: ``example.org`` or ``example.org:8080``."""
    domain = domain.strip().lower()
    if not domain:
        return None
    if domain.count(":") > 1 and not domain.startswith("["):  # a bare IPv6 address
        domain = f"[{domain}]"
    return url_origin(domain if "://" in domain else f"http://{domain}")


def origin_matches(url: str, origins: Iterable[Origin]) -> bool:
    """True when ``url`` is on one of ``origins``: the same port, the host or a subdomain."""
    found = url_origin(url)
    if found is None:
        return False
    host, port = found
    return any(port == p and _domain_matches(host, (d,)) for d, p in origins)


def origin_text(url: str) -> str:
    """An origin for messages: ``127.0.0.1:8081``, ``example.org``."""
    found = url_origin(url)
    if found is None:
        return _host(url)
    return found[0] if found[1] is None else f"{found[0]}:{found[1]}"


def document_extension(url: str) -> str | None:
    """The extension of a URL that points at a document or media file, else None."""
    path = urlsplit(url).path.lower()
    name = path.rsplit("/", 1)[-1]
    if "." not in name:
        return None
    ext = name.rsplit(".", 1)[-1]
    if name.endswith(".tar.gz"):
        ext = "tar.gz"
    return ext if ext in _DOC_EXTENSIONS else None


def language_hint(canonical_url: str, content_language: bytes | None = None) -> str | None:
    """A language guessed from the URL (edition subdomain, path segment, feed name), else from
    a ``Content-Language`` header value."""
    parts = urlsplit(canonical_url)
    first_label = (parts.hostname or "").split(".")[0].lower()
    if first_label in _LANG_CODES:
        return _LANG_CODES[first_label]
    segments = [s for s in parts.path.lower().split("/") if s]
    if segments and segments[0] in _LANG_CODES:
        return _LANG_CODES[segments[0]]
    m = re.search(r"[_-](en|ru|zh|cn)\.(?:xml|rss)$", parts.path.lower())
    if m:
        return _LANG_CODES[m.group(1)]
    if content_language:
        code = content_language.decode("latin-1").split(",")[0].strip().lower()
        return _LANG_CODES.get(code, _LANG_CODES.get(code.split("-")[0]))
    return None
