"""Sources as configuration: the packaged ``sources.yaml``, overridable by a user file.

A source is a typed, frozen and hashable :class:`Source` (a pydantic dataclass): every value is
checked when the file is read, before anything runs. An unknown key, a cron expression that
does not parse, a time zone that is not an IANA name, a URL that is not http(s), a number that
is not finite (NaN, inf) or below its minimum, or a pattern that is not a regular expression is
a :class:`ConfigError` with one line naming the file, the source and the key
(``infoshos sources --check FILE`` checks a file and does nothing else).

Discovery fields (see docs/sources.md, "How a source is discovered"):

- ``article_patterns``: regular expressions searched (``re.search``) in the path plus
  ``?query`` of a link's canonical URL (:func:`infoshos.warehouse.keys.canonical_url`), e.g.
  ``^/(en|ru)/\\?idn=\\d+$``. A link on any page of the source that matches is fetched as an
  article candidate. Empty: the spider's own patterns for its portal.
- ``list_patterns``: the same for navigation pages worth following (home pages, section fronts,
  lists, pagination), up to ``list_depth`` navigation hops from a start URL.
- ``list_css`` / ``next_css``: optional CSS hints, used when present and never required: one
  item of a list page (its links are articles, its date dates them) and the next-page link.
"""

from __future__ import annotations

import os
import re
from dataclasses import field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic.dataclasses import dataclass

from infoshos.spiders.crawl import DEFAULT_LIST_DEPTH
from infoshos.spiders.crawl import SPIDERS as SPIDER_CLASSES

#: The spiders a source may name (declared in :data:`infoshos.spiders.crawl.SPIDERS`).
SPIDERS: tuple[str, ...] = tuple(SPIDER_CLASSES)
DEFAULT_SOURCES = ("infoshos-sample", "sectsco-sample")


class ConfigError(ValueError):
    """A malformed sources file or an unknown source (one line, for the operator)."""


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host, else ValueError."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port out of range or not a number
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"{url!r} is not an http(s) URL")
    return url


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone known here, else ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Moscow)") from None
    return name


def check_cron(expr: str) -> str:
    """``expr`` if it is a valid cron expression, else ValueError."""
    from cronsim import CronSim, CronSimError

    try:
        CronSim(expr, datetime.now(UTC))
    except (CronSimError, ValueError) as exc:
        raise ValueError(f"{expr!r} is not a cron expression: {exc}") from None
    return expr


def check_pattern(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
    return pattern


#: The numbers of a source that have a lower bound, and the bound.
_MINIMUMS = {"delay": 0, "concurrency": 1, "max_pages": 0, "list_depth": 0}


#: ``allow_inf_nan=False``: a float setting (``delay``) that is NaN or infinite is refused like
#: any other bad value, never handed to Scrapy.
@dataclass(frozen=True, config=ConfigDict(extra="forbid", allow_inf_nan=False))
class Source:
    name: str
    spider: str
    style: str = ""
    start_urls: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    encoding: str | None = None
    delay: float = 1.0
    concurrency: int = 2
    max_pages: int = 0
    schedule: str | None = None
    sample: bool = False
    url_map: tuple[tuple[str, str], ...] = ()
    #: IANA zone of datelines written without an offset; None: the site rules' own zone (the
    #: portals), else UTC.
    timezone: str | None = None
    article_patterns: tuple[str, ...] = ()
    list_patterns: tuple[str, ...] = ()
    list_css: str | None = None
    next_css: str | None = None
    list_depth: int = field(default=DEFAULT_LIST_DEPTH)
    idn_ahead: bool = False

    def __post_init__(self) -> None:
        if not self.style:
            object.__setattr__(self, "style", self.spider)

    @field_validator("spider")
    @classmethod
    def _spider(cls, value: str) -> str:
        if value not in SPIDERS:
            raise ValueError(f"unknown spider {value!r} (one of {', '.join(SPIDERS)})")
        return value

    @field_validator("start_urls")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_url(u) for u in value)

    @field_validator("url_map")
    @classmethod
    def _url_map(cls, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        return tuple((check_url(a), check_url(b)) for a, b in value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @field_validator("article_patterns", "list_patterns")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_pattern(p) for p in value)

    @field_validator("list_css", "next_css")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from cssselect import SelectorError
        from parsel import Selector

        try:
            Selector(text="<html></html>").css(value)
        except (SelectorError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a CSS selector: {exc}") from None
        return value

    @field_validator(*_MINIMUMS)
    @classmethod
    def _at_least(cls, value: float, info: ValidationInfo) -> float:
        minimum = _MINIMUMS[cast(str, info.field_name)]  # always set for a field
        if value < minimum:
            raise ValueError(f"must be >= {minimum}")
        return value

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spider": self.spider,
            "style": self.style,
            "start_urls": list(self.start_urls),
            "allowed_domains": list(self.allowed_domains),
            "language": list(self.language),
            "encoding": self.encoding,
            "delay": self.delay,
            "concurrency": self.concurrency,
            "max_pages": self.max_pages,
            "schedule": self.schedule,
            "sample": self.sample,
            "url_map": [f"{a}={b}" for a, b in self.url_map],
            "timezone": self.timezone,
            "article_patterns": list(self.article_patterns),
            "list_patterns": list(self.list_patterns),
            "list_css": self.list_css,
            "next_css": self.next_css,
            "list_depth": self.list_depth,
            "idn_ahead": self.idn_ahead,
        }


#: The keys a source entry may have (its name is the mapping key, not a field).
KEYS: tuple[str, ...] = tuple(f for f in Source.__dataclass_fields__ if f != "name")
_LISTS = ("start_urls", "allowed_domains", "language", "article_patterns", "list_patterns")


def _as_tuple(value: Any, what: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: {what} must be a string or a list of strings")


def parse_source(name: str, data: Any, origin: str = "sources file") -> Source:
    """One entry of a sources file as a :class:`Source`; ConfigError (one line) if bad."""
    where = f"{origin}: source {name!r}"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of fields")
    unknown = [str(k) for k in data if k not in KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    values: dict[str, Any] = {k: v for k, v in data.items() if v is not None}
    for key in _LISTS:
        if key in values:
            values[key] = _as_tuple(values[key], key, where)
    url_map: list[tuple[str, str]] = []
    for item in _as_tuple(data.get("url_map"), "url_map", where):
        local, sep, canonical = item.partition("=")
        if not sep or not local or not canonical:
            raise ConfigError(f"{where}: url_map entries are LOCAL_PREFIX=CANONICAL_PREFIX")
        url_map.append((local, canonical))
    values["url_map"] = tuple(url_map)
    values.setdefault("spider", "generic")
    if values.get("idn_ahead") and values["spider"] != "infoshos":
        raise ConfigError(f"{where}: idn_ahead applies to the infoshos spider only")
    if not values.get("start_urls") and not values.get("sample"):
        raise ConfigError(f"{where}: no start_urls")
    if not values.get("allowed_domains"):
        hosts = set()  # a site is an origin: a port other than the default is part of it
        for url in values.get("start_urls", ()):
            try:
                parts = urlsplit(str(url))
                host, port = (parts.hostname or "").rstrip("."), parts.port
            except ValueError:
                continue  # reported by the URL check below
            if host and port is not None:  # written in the URL
                host = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            hosts.add(host)
        values["allowed_domains"] = tuple(sorted(hosts - {""}))
    try:
        return Source(name=name, **values)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"] if not isinstance(p, int)) or "value"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where}: {key}: {message}") from None


def _parse_file(text: str, origin: str) -> dict[str, Source]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{origin}: not valid YAML{where}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise ConfigError(f"{origin}: expected a top-level 'sources:' mapping")
    extra = [str(k) for k in data if k != "sources"]
    if extra:
        raise ConfigError(f"{origin}: unknown top-level key {extra[0]!r} (only 'sources:')")
    return {
        str(name): parse_source(str(name), entry, origin) for name, entry in data["sources"].items()
    }


def read_sources_file(path: str | os.PathLike[str]) -> dict[str, Source]:
    """The sources of one file alone (no built-in entries); ConfigError if unreadable/bad."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(f"cannot read sources file {os.fspath(path)}: {reason}") from exc
    return _parse_file(text, os.fspath(path))


def load_sources(path: str | os.PathLike[str] | None = None) -> dict[str, Source]:
    """Built-in sources, then those of ``path`` (or ``$INFOSHOS_SOURCES``) on top."""
    text = resources.files("infoshos.flows").joinpath("sources.yaml").read_text("utf-8")
    sources = _parse_file(text, "built-in sources.yaml")
    user = path or os.environ.get("INFOSHOS_SOURCES")
    if user:
        sources.update(read_sources_file(user))
    return sources


def select_sources(names: list[str] | None, sources: dict[str, Source]) -> list[Source]:
    """The sources named (``all`` = every configured live source); default: the sample site."""
    if not names:
        names = list(DEFAULT_SOURCES)
    if names == ["all"]:
        return [s for s in sources.values() if not s.sample]
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise ConfigError(f"unknown source {unknown[0]!r}; known: {', '.join(sorted(sources))}")
    return [sources[n] for n in names]


def adhoc_source(start_urls: list[str], timezone: str | None = None) -> Source:
    """A generic source for ``infoshos run --start-url URL ...`` (dates in ``timezone``,
    UTC when None)."""
    host = urlsplit(start_urls[0]).hostname or "adhoc"
    data: dict[str, Any] = {"spider": "generic", "start_urls": start_urls}
    if timezone is not None:
        data["timezone"] = timezone
    return parse_source(f"web:{host}", data, "--start-url")
