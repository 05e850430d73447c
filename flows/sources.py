"""Sources as configuration: the packaged ``sources.yaml``, overridable by a user file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

SPIDERS = ("infoshos", "sectsco", "ecrats", "generic")
DEFAULT_SOURCES = ("infoshos-sample", "sectsco-sample")


class ConfigError(ValueError):
    """A malformed sources file or an unknown source (one line, for the operator)."""


@dataclass(frozen=True)
class Source:
    name: str
    spider: str
    style: str
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
    #: IANA zone of datelines written without an offset (the typed model will validate it).
    timezone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

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
        }


def _as_tuple(value: Any, what: str, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"source {name!r}: {what} must be a string or a list of strings")


def parse_source(name: str, data: Any) -> Source:
    if not isinstance(data, dict):
        raise ConfigError(f"source {name!r}: expected a mapping of fields")
    spider = data.get("spider", "generic")
    if spider not in SPIDERS:
        raise ConfigError(f"source {name!r}: unknown spider {spider!r} (one of {SPIDERS})")
    start_urls = _as_tuple(data.get("start_urls"), "start_urls", name)
    for url in start_urls:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"source {name!r}: start URL {url!r} is not http(s)")
    sample = bool(data.get("sample", False))
    if not start_urls and not sample:
        raise ConfigError(f"source {name!r}: no start_urls")
    domains = _as_tuple(data.get("allowed_domains"), "allowed_domains", name) or tuple(
        sorted({urlsplit(u).hostname or "" for u in start_urls} - {""})
    )
    try:
        delay = float(data.get("delay", 1.0))
        concurrency = int(data.get("concurrency", 2))
        max_pages = int(data.get("max_pages", 0))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"source {name!r}: delay/concurrency/max_pages: {exc}") from exc
    if delay < 0 or concurrency < 1 or max_pages < 0:
        raise ConfigError(f"source {name!r}: delay >= 0, concurrency >= 1, max_pages >= 0")
    known = {
        "spider",
        "style",
        "start_urls",
        "allowed_domains",
        "language",
        "encoding",
        "delay",
        "concurrency",
        "max_pages",
        "schedule",
        "sample",
        "url_map",
    }
    url_map: list[tuple[str, str]] = []
    for item in _as_tuple(data.get("url_map"), "url_map", name):
        local, sep, canonical = item.partition("=")
        if not sep or not local or not canonical:
            raise ConfigError(f"source {name!r}: url_map entries are LOCAL_PREFIX=CANONICAL_PREFIX")
        url_map.append((local, canonical))
    return Source(
        name=name,
        spider=spider,
        style=str(data.get("style", spider)),
        start_urls=start_urls,
        allowed_domains=domains,
        language=_as_tuple(data.get("language"), "language", name),
        encoding=data.get("encoding"),
        delay=delay,
        concurrency=concurrency,
        max_pages=max_pages,
        schedule=data.get("schedule"),
        sample=sample,
        url_map=tuple(url_map),
        extra={k: v for k, v in data.items() if k not in known},
    )


def _parse_file(text: str, origin: str) -> dict[str, Source]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{origin}: not valid YAML{where}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise ConfigError(f"{origin}: expected a top-level 'sources:' mapping")
    return {str(name): parse_source(str(name), entry) for name, entry in data["sources"].items()}


def load_sources(path: str | os.PathLike[str] | None = None) -> dict[str, Source]:
    """Built-in sources, then those of ``path`` (or ``$INFOSHOS_SOURCES``) on top."""
    text = resources.files("infoshos.flows").joinpath("sources.yaml").read_text("utf-8")
    sources = _parse_file(text, "built-in sources.yaml")
    user = path or os.environ.get("INFOSHOS_SOURCES")
    if user:
        try:
            user_text = Path(user).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read sources file {user}: {exc.strerror or exc}") from exc
        sources.update(_parse_file(user_text, str(user)))
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


def adhoc_source(start_urls: list[str]) -> Source:
    """A generic source for ``infoshos run --start-url URL ...``."""
    host = urlsplit(start_urls[0]).hostname or "adhoc"
    return parse_source(f"web:{host}", {"spider": "generic", "start_urls": start_urls})
