"""The sample site's articles: loaded from ``articles.yaml`` (the ground truth, clean text)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_FILE = Path(__file__).with_name("articles.yaml")

#: Moscow time, the zone of every date shown on both portals.
MSK = timezone(timedelta(hours=3), "MSK")

#: local path prefix -> canonical prefix (see docs/CONTRACTS.md).
PREFIXES: tuple[tuple[str, str], ...] = (
    ("/infoshos/", "http://infoshos.sample.test/"),
    ("/sectsco/eng/", "https://eng.sectsco.sample.test/"),
    ("/sectsco/rus/", "https://rus.sectsco.sample.test/"),
)

#: The prepositions followed by a no-break space in English bodies.
PREPOSITIONS: tuple[str, ...] = (
    "of",
    "in",
    "on",
    "by",
    "with",
    "at",
    "to",
    "between",
    "for",
    "into",
    "about",
    "as",
    "from",
    "against",
)

NBSP_FORMS: tuple[str, ...] = ("nbsp_entity", "raw_a0", "glued", "mac_roman", "cp437", "latin1")
BROKEN_KINDS: tuple[str, ...] = (
    "http500_once",
    "missing_404",
    "truncated",
    "no_date",
    "empty_body",
)
#: Broken cases that are still valid articles a perfect crawl stores.
VALID_BROKEN: frozenset[str] = frozenset({"http500_once"})


@dataclass(frozen=True)
class SampleLink:
    """A phrase of a paragraph rendered as a link (the YAML text stays clean)."""

    paragraph: int
    text: str
    href: str


@dataclass(frozen=True)
class SampleDocument:
    """A PDF linked from a list (infoshos) or an article (``doc_link``)."""

    portal: str
    path: str  # below the portal's local prefix, e.g. ``files/charter.pdf``
    title: str
    published: str = ""
    language: str = "en"
    edition: str | None = None

    @property
    def local_path(self) -> str:
        return _local_prefix(self.portal, self.edition) + self.path


@dataclass(frozen=True)
class SampleArticle:
    key: str
    portal: str  # infoshos | sectsco
    language: str  # en | ru
    published: str  # "DD.MM.YYYY HH:MM", Moscow time
    title: str
    paragraphs: list[str]
    idn: int | None = None
    date_path: str | None = None
    id: int | None = None
    edition: str | None = None  # eng | rus
    subtitle: str | None = None
    nbsp_form: str | None = None
    encoding_variant: str | None = None  # header_only | meta_only | none | None (both)
    republish_of: str | None = None
    translation_of: str | None = None
    broken: str | None = None
    news_alias: bool = False  # also linked from lists as news/YYYYMMDD/ID.html
    php_warning: bool = False
    links: list[SampleLink] = field(default_factory=list)
    doc_link: str | None = None  # path of a PDF below the edition prefix

    @property
    def published_at(self) -> datetime:
        """Publication time, timezone-aware (UTC)."""
        return (
            datetime.strptime(self.published, "%d.%m.%Y %H:%M").replace(tzinfo=MSK).astimezone(UTC)
        )

    @property
    def published_msk(self) -> datetime:
        return datetime.strptime(self.published, "%d.%m.%Y %H:%M").replace(tzinfo=MSK)

    @property
    def text(self) -> str:
        """The clean body: paragraphs separated by a blank line."""
        return "\n\n".join(self.paragraphs)

    @property
    def canonical_url(self) -> str:
        """The article's address on the portal the sample site stands in for."""
        return _canonical_prefix(self.portal, self.edition) + self._address

    @property
    def local_path(self) -> str:
        """Where the sample site serves the article."""
        return _local_prefix(self.portal, self.edition) + self._address

    @property
    def _address(self) -> str:
        """Below the portal's prefix: ``{language}/?idn=N`` (Infoshos), ``YYYYMMDD/ID.html``."""
        if self.portal == "infoshos":
            return f"{self.language}/?idn={self.idn}"
        return f"{self.date_path}/{self.id}.html"

    @property
    def alias_path(self) -> str | None:
        """The older ``news/YYYYMMDD/ID.html`` local path of a Secretariat article."""
        if self.portal != "sectsco":
            return None
        return f"{_local_prefix('sectsco', self.edition)}news/{self.date_path}/{self.id}.html"

    @property
    def is_valid(self) -> bool:
        return self.broken is None or self.broken in VALID_BROKEN


def _local_prefix(portal: str, edition: str | None) -> str:
    return "/infoshos/" if portal == "infoshos" else f"/sectsco/{edition}/"


def _canonical_prefix(portal: str, edition: str | None) -> str:
    local = _local_prefix(portal, edition)
    return dict(PREFIXES)[local]


def _article(raw: dict[str, Any]) -> SampleArticle:
    links = [SampleLink(int(x["paragraph"]), x["text"], x["href"]) for x in raw.get("links", [])]
    nbsp = raw.get("nbsp_form")
    return SampleArticle(
        key=raw["key"],
        portal=raw["portal"],
        language=raw["language"],
        published=raw["published"],
        title=raw["title"],
        paragraphs=list(raw.get("paragraphs") or []),
        idn=raw.get("idn"),
        date_path=str(raw["date_path"]) if raw.get("date_path") else None,
        id=raw.get("id"),
        edition=raw.get("edition"),
        subtitle=raw.get("subtitle"),
        nbsp_form=None if nbsp in (None, "none") else nbsp,
        encoding_variant=raw.get("encoding_variant"),
        republish_of=raw.get("republish_of"),
        translation_of=raw.get("translation_of"),
        broken=raw.get("broken"),
        news_alias=bool(raw.get("news_alias", False)),
        php_warning=bool(raw.get("php_warning", False)),
        links=links,
        doc_link=raw.get("doc_link"),
    )


@cache
def _load() -> tuple[tuple[SampleArticle, ...], tuple[SampleDocument, ...]]:
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    articles = tuple(_article(raw) for raw in data["articles"])
    documents = tuple(
        SampleDocument(
            portal=d["portal"],
            path=d["path"],
            title=d["title"],
            published=d.get("published", ""),
            language=d.get("language", "en"),
            edition=d.get("edition"),
        )
        for d in data.get("documents", [])
    )
    return articles, documents


def load_articles() -> list[SampleArticle]:
    """Every article of ``articles.yaml``, broken ones included."""
    return list(_load()[0])


def load_documents() -> list[SampleDocument]:
    """The PDFs the sample site serves."""
    return list(_load()[1])


def expected_articles() -> list[SampleArticle]:
    """The valid articles a perfect crawl stores: one per canonical article URL."""
    return [a for a in load_articles() if a.is_valid]


def url_map(base_url: str) -> list[tuple[str, str]]:
    """(local prefix, canonical prefix) pairs for a server at ``base_url``."""
    base = base_url.rstrip("/")
    return [(base + local, canonical) for local, canonical in PREFIXES]


def start_urls(base_url: str) -> dict[str, list[str]]:
    """Where a crawl of each sample source starts."""
    base = base_url.rstrip("/")
    return {
        "infoshos-sample": [
            f"{base}/infoshos/en/news/?page=1",
            f"{base}/infoshos/ru/news/?page=1",
            f"{base}/infoshos/rss/rss_en.xml",
            f"{base}/infoshos/rss/rss_ru.xml",
        ],
        "sectsco-sample": [
            f"{base}/sectsco/eng/news/?offset=0",
            f"{base}/sectsco/rus/news/?offset=0",
        ],
    }
