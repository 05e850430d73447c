"""Canonical URLs and article ids: the keys every layer uses (spiders key known URLs by them,
flows key articles by them, the tables are keyed by them).

``canonical_url`` maps every spelling of one page's address to a single string, and
``article_id`` hashes that string, so an article keeps its id however it was reached.

Rules, in order (pure string work, no network):

1. Percent-encoding, query order and fragments: ``w3lib.url.canonicalize_url`` (upper-case
   escapes, unreserved characters decoded, non-ASCII paths UTF-8 encoded, IDN hosts in
   punycode, query parameters sorted, fragment dropped).
2. Scheme and host lower-cased, a trailing dot on the host dropped, default ports
   (``:80`` for http, ``:443`` for https) dropped.
3. Scheme: ``http`` and ``https`` are *not* merged in general (a host may serve different
   things on each). For the portal hosts we know, the scheme is fixed per host, whatever the
   link said: Infoshos-style hosts use ``http`` (as in ``http://infoshos.sample.test/``),
   Secretariat-style hosts use ``https``, SCO RATS hosts ``https``. ``infoshos.ru`` is folded
   into ``www.infoshos.ru``, ``www.ecrats.org`` into ``ecrats.org``.
4. Tracking parameters are dropped: ``utm_*``, ``fbclid``, ``gclid``, ``yclid``,
   ``_openstat``, ``from``, ``ref`` (names compared case-insensitively).
5. Trailing slashes are removed from paths other than ``/``.
6. Portal rules:

   * Infoshos: ``/{en,ru}/print.php?idn=N``, ``/{en,ru}/index.php?idn=N`` and
     ``/{en,ru}?idn=N`` become ``/{en,ru}/?idn=N``; only ``idn`` is kept on these article
     URLs and leading zeros are dropped from it. (This form keeps its slash: it is the
     address the portal links to.)
   * SCO Secretariat: every form of a story's address becomes ``/YYYYMMDD/ID.html``, keyed
     by the story's ID (the trailing number): ``/news/YYYYMMDD/ID.html``, the slug form
     ``/YYYYMMDD/Words-Of-Title-ID.html`` and the section form
     ``/SECTION/YYYYMMDD/ID/slug.html`` (``political``, ``cultural``, ``media_SCO``...). The
     edition hosts (``eng.``, ``rus.``, ``chn.``) stay distinct.
   * SCO RATS: ``/{en,ru}/press/news/N/`` loses its trailing slash like any other path.

The result is idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``.
A canonical URL is an identifier; the URL actually fetched is kept elsewhere (``fetch_url``).

``canonical_url`` raises ValueError on a URL that has no canonical form (a port out of range or
not a number, a broken IPv6 host). Code that keys data it did not check itself (stored pages
and articles, links found in a page) uses :func:`url_key`: such a URL is its own key, stripped,
so one odd URL never stops a crawl or a run.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

__all__ = [
    "INFOSHOS_HOSTS",
    "SECRETARIAT_HOSTS",
    "RATS_HOSTS",
    "portal_style",
    "TRACKING_PARAMS",
    "article_id",
    "canonical_url",
    "url_key",
]

#: Infoshos-style hosts, mapped to the host name used in canonical URLs.
INFOSHOS_HOSTS: dict[str, str] = {
    "www.infoshos.ru": "www.infoshos.ru",
    "infoshos.ru": "www.infoshos.ru",
    "infoshos.sample.test": "infoshos.sample.test",
}

#: SCO Secretariat-style hosts.
SECRETARIAT_HOSTS: frozenset[str] = frozenset(
    {
        "eng.sectsco.org",
        "rus.sectsco.org",
        "chn.sectsco.org",
        "eng.sectsco.sample.test",
        "rus.sectsco.sample.test",
    }
)

#: SCO RATS hosts, mapped to the host name used in canonical URLs.
RATS_HOSTS: dict[str, str] = {"ecrats.org": "ecrats.org", "www.ecrats.org": "ecrats.org"}

#: Query parameters that never change the page (exact names; ``utm_*`` is matched by prefix).
TRACKING_PARAMS: frozenset[str] = frozenset(
    {"fbclid", "gclid", "yclid", "_openstat", "from", "ref"}
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_INFOSHOS_ARTICLE_PATH = re.compile(r"^/(en|ru)(?:/|/index\.php|/print\.php)?$", re.IGNORECASE)
#: ``/[SECTION/]YYYYMMDD/[Words-Of-Title-]ID.html`` and ``/SECTION/YYYYMMDD/ID/slug.html``.
_SECRETARIAT_STORY = re.compile(
    r"^/(?:[A-Za-z_]+/)?(\d{8})/(?:(?:[^/]*-)?(\d+)\.html|(\d+)/[^/]+\.html)$"
)


def _param_name(pair: str) -> str:
    return unquote_plus(pair.split("=", 1)[0]).casefold()


def _is_tracking(pair: str) -> bool:
    name = _param_name(pair)
    return name.startswith("utm_") or name in TRACKING_PARAMS


def _netloc(parts: SplitResult, scheme: str, host: str, *, portal: bool = False) -> str:
    if ":" in host and not host.startswith("["):  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: keep the netloc as it was
        return parts.netloc.lower()
    netloc = host
    default = set(_DEFAULT_PORTS.values()) if portal else {_DEFAULT_PORTS.get(scheme)}
    if port is not None and port not in default:
        netloc = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username
        if parts.password is not None:
            userinfo += f":{parts.password}"
        netloc = f"{userinfo}@{netloc}"
    return netloc


def _infoshos_article(path: str, pairs: list[str]) -> tuple[str, list[str]] | None:
    """``(path, [idn pair])`` for an Infoshos article URL, else ``None``."""
    match = _INFOSHOS_ARTICLE_PATH.match(path)
    if match is None:
        return None
    idns = [p.split("=", 1)[1] if "=" in p else "" for p in pairs if _param_name(p) == "idn"]
    idns = [v for v in idns if v.isdigit()]
    if not idns:
        return None
    idn = str(int(idns[0]))
    return f"/{match.group(1).lower()}/", [f"idn={idn}"]


def canonical_url(url: str) -> str:
    """The canonical form of ``url`` (see the module docstring for the rules)."""
    url = url.strip()
    parts = urlsplit(canonicalize_url(url, keep_fragments=False))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")  # .hostname is lower-cased
    path = parts.path or "/"
    pairs = [p for p in parts.query.split("&") if p and not _is_tracking(p)]

    portal = host in INFOSHOS_HOSTS or host in SECRETARIAT_HOSTS or host in RATS_HOSTS
    if host in INFOSHOS_HOSTS:
        host = INFOSHOS_HOSTS[host]
        scheme = "http"
        article = _infoshos_article(path, pairs)
        if article is not None:
            path, pairs = article
            return urlunsplit(
                (scheme, _netloc(parts, scheme, host, portal=portal), path, pairs[0], "")
            )
    elif host in SECRETARIAT_HOSTS:
        scheme = "https"
        story = _SECRETARIAT_STORY.match(path.rstrip("/"))
        if story is not None:
            path = f"/{story.group(1)}/{int(story.group(2) or story.group(3))}.html"
    elif host in RATS_HOSTS:
        host = RATS_HOSTS[host]
        scheme = "https"

    if path != "/":
        path = path.rstrip("/") or "/"
    query = "&".join(sorted(pairs))
    return urlunsplit((scheme, _netloc(parts, scheme, host, portal=portal), path, query, ""))


def url_key(url: str) -> str:
    """The key ``url`` is known under: its canonical form, or the URL itself (stripped) when it
    has none (:func:`canonical_url` raised ValueError)."""
    try:
        return canonical_url(url)
    except ValueError:
        return url.strip()


def rules_fingerprint() -> str:
    """A fingerprint of the key rules: this module's source and w3lib's version. A key made under
    one fingerprint is the key of its URL for as long as the fingerprint holds (a cache of keys
    is dropped when it changes)."""
    import w3lib

    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(str(getattr(w3lib, "__version__", "")).encode())
    return digest.hexdigest()[:16]


def article_id(canonical: str) -> str:
    """First 16 hex characters of the SHA-256 of the canonical URL (UTF-8)."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def portal_style(url: str | None) -> str | None:
    """The site rules a URL's host calls for (``infoshos``, ``sectsco``), or None."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    if host in INFOSHOS_HOSTS:
        return "infoshos"
    if host in SECRETARIAT_HOSTS:
        return "sectsco"
    return None
