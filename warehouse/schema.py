"""The tables of the warehouse, declared once.

Every writer, the DuckDB views, the docs and the export derive from :data:`TABLES`. A column is a
:class:`Column` with its Arrow type and its meaning; a table lists its key columns (unique per
row) and the columns that may never be null.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

#: Bump when a change would break readers (a column removed, renamed or retyped).
SCHEMA_VERSION = 1

TS = pa.timestamp("us", tz="UTC")
#: The stages of a run, in their order: the keys of ``runs.stage_seconds``.
STAGES = ("crawl", "clean", "dedup", "enrich", "load")
#: ``clusters.reason``: the first member seen, an equal text, a near-duplicate text.
CLUSTER_REASONS = ("canonical", "same_content", "near_duplicate")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    #: ``append``: every run adds rows (history); ``state``: rows are keyed and may be replaced.
    mode: str = "state"
    required: tuple[str, ...] = field(default=())
    #: Internal state of the pipeline (not part of an export or the data dictionary).
    internal: bool = False

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> Column:
    return Column(name, type_, doc, nullable)


def _one_of(values: tuple[str, ...]) -> str:
    """``a, b or c``: a column's values in its doc."""
    return f"{', '.join(values[:-1])} or {values[-1]}" if len(values) > 1 else values[0]


RUN_ID = _c("run_id", pa.string(), "the run that wrote this row", nullable=False)

#: ``pages.page_type`` (and the spool's): what a fetch was requested as. A spider never judges
#: content: ``article`` / ``print`` (a print version) are article candidates, the only pages the
#: clean stage extracts; ``list`` and ``feed`` (a feed or sitemap) are navigation, kept in
#: ``pages`` only; ``other`` is anything else (binary answers, a generic crawl's page judged not
#: to be one).
PAGE_TYPES = ("article", "print", "list", "feed", "other")
#: The page types that go to extraction (article candidates).
ARTICLE_PAGE_TYPES = ("article", "print")
#: The navigation page types: lists, feeds and sitemaps (the pages links are found on).
NAVIGATION_PAGE_TYPES = ("list", "feed")
#: ``pages.via``: how a page was reached: a start URL, an item of a feed, a ``<loc>`` of a
#: sitemap, a link matching the source's article patterns, a navigation link (list pattern or
#: list-page CSS hint), the Infoshos idn walk, a full crawl's revisit of a known article, or any
#: other link (the generic spider's breadth-first crawl).
VIA = ("start", "feed", "sitemap", "pattern", "list", "idn", "revisit", "link")

#: The known file: what the warehouse already holds, written by the flow for an incremental
#: crawl (``--known``) and read by the spiders. One row per URL: ``url`` (canonical; the only
#: column a reader requires), ``etag`` and ``last_modified`` (of its latest successful fetch,
#: sent back in a conditional request), ``is_article`` (the URL is in ``articles``) and ``key``
#: (the URL's canonical key, made once by the writer so that no crawl makes it again).
KNOWN = pa.schema(
    [
        pa.field("url", pa.string()),
        pa.field("etag", pa.string()),
        pa.field("last_modified", pa.string()),
        pa.field("is_article", pa.bool_()),
        pa.field("key", pa.string()),
    ]
)

#: What a crawl hands to the flow: one row per fetch, or per link it decided not to fetch.
SPOOL = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),
        pa.field("final_url", pa.string()),
        pa.field("fetch_url", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("page_type", pa.string(), nullable=False),
        pa.field("status", pa.int32()),
        pa.field("headers", pa.map_(pa.string(), pa.string())),
        pa.field("body", pa.binary()),
        pa.field("fetched_at", TS, nullable=False),
        pa.field("language_hint", pa.string()),
        pa.field("referer", pa.string()),
        pa.field("skip_reason", pa.string()),
        pa.field("detail", pa.string()),
        pa.field("via", pa.string()),
    ]
)

PAGES = Table(
    "pages",
    "One row per fetch: the raw response, kept so that anything can be re-processed offline.",
    (
        _c("page_id", pa.string(), "hash of run_id, url and fetched_at", nullable=False),
        _c("url", pa.string(), "canonical URL of the request", nullable=False),
        _c("final_url", pa.string(), "canonical URL after redirects"),
        _c("fetch_url", pa.string(), "the URL actually requested (may be a local mirror)"),
        _c("source", pa.string(), "source name from the sources file", nullable=False),
        _c("page_type", pa.string(), _one_of(PAGE_TYPES), nullable=False),
        _c("status", pa.int32(), "HTTP status; null when no response arrived"),
        _c("headers", pa.map_(pa.string(), pa.string()), "response headers, lower-case names"),
        _c("body", pa.binary(), "the raw response body as bytes"),
        _c("encoding", pa.string(), "the encoding used to decode the body"),
        _c("fetched_at", TS, "when the response arrived (UTC)", nullable=False),
        _c("error", pa.string(), "network error when no response arrived"),
        _c("via", pa.string(), f"how the page was reached: {_one_of(VIA)}"),
        RUN_ID,
    ),
    key=("page_id",),
    mode="append",
    required=("page_id", "url", "source", "fetched_at", "run_id"),
)

ARTICLES = Table(
    "articles",
    "One row per article (its latest version).",
    (
        _c("article_id", pa.string(), "hash of the canonical URL, stable across runs", False),
        _c("url", pa.string(), "canonical URL", nullable=False),
        _c("source", pa.string(), "source name", nullable=False),
        _c("language", pa.string(), "ISO 639-1 code (en, ru, zh) or und"),
        _c("title", pa.string(), "headline"),
        _c("subtitle", pa.string(), "subtitle or lead, apart from the body"),
        _c("published_at", TS, "publication time, timezone-aware (stored in UTC)"),
        _c("event_date", pa.date32(), "the date the lead reports (On 20 September 2017, ...)"),
        _c("text", pa.string(), "repaired body text; paragraphs separated by a blank line"),
        _c("word_count", pa.int32(), "words in text (Chinese segmented, not split on spaces)"),
        _c("content_hash", pa.string(), "hash of the normalised text"),
        _c("cluster_id", pa.string(), "story cluster: the article_id of its first member"),
        _c("is_canonical", pa.bool_(), "the one article chosen to represent its cluster"),
        _c("repairs", pa.map_(pa.string(), pa.int32()), "text repairs made, counts by kind"),
        _c("page_id", pa.string(), "the page this version was extracted from"),
        _c("first_seen_run", pa.string(), "the run that first stored this article"),
        _c("gone_at", TS, "when the article's URL answered 404 or 410 (never deleted)"),
        _c("credit", pa.string(), "the source line the page ends with (Source: ...), not in text"),
        RUN_ID,
    ),
    key=("article_id",),
    required=("article_id", "url", "source", "text", "content_hash", "cluster_id", "run_id"),
)

ARTICLE_VERSIONS = Table(
    "article_versions",
    "Every distinct version of every article, oldest first.",
    (
        _c("article_id", pa.string(), "the article", nullable=False),
        _c("version", pa.int32(), "1 for the first version seen, then 2, 3, ...", False),
        _c("content_hash", pa.string(), "hash of the normalised text", nullable=False),
        _c("title", pa.string(), "headline of this version"),
        _c("text", pa.string(), "body of this version"),
        _c("page_id", pa.string(), "the page it was extracted from"),
        RUN_ID,
    ),
    key=("article_id", "version"),
    mode="append",
    required=("article_id", "version", "content_hash", "run_id"),
)

CLUSTERS = Table(
    "clusters",
    "Story clusters: exact and near duplicates of one text share a cluster.",
    (
        _c("cluster_id", pa.string(), "the article_id of the first member seen", False),
        _c("article_id", pa.string(), "a member", nullable=False),
        _c("role", pa.string(), "canonical or duplicate", nullable=False),
        _c("similarity", pa.float64(), "estimated Jaccard similarity to the canonical member"),
        _c("reason", pa.string(), "why it is in the cluster: " + " or ".join(CLUSTER_REASONS)),
        RUN_ID,
    ),
    key=("article_id",),
    required=("cluster_id", "article_id", "role", "run_id"),
)

ARTICLE_LINKS = Table(
    "article_links",
    "Links between articles that are not duplicates, such as translations.",
    (
        _c("article_id", pa.string(), "one article", nullable=False),
        _c("other_id", pa.string(), "the other article", nullable=False),
        _c("kind", pa.string(), "translation_of", nullable=False),
        _c("score", pa.float64(), "confidence from 0 to 1"),
        RUN_ID,
    ),
    key=("article_id", "other_id", "kind"),
    required=("article_id", "other_id", "kind", "run_id"),
)

ENTITIES = Table(
    "entities",
    "Canonical entities: people, organisations, countries and other locations.",
    (
        _c("entity_id", pa.string(), "stable id (gazetteer id or a hash of the name)", False),
        _c("type", pa.string(), "person, org, country or location", nullable=False),
        _c("name", pa.string(), "canonical name (English where known)", nullable=False),
        _c("aliases", pa.list_(pa.string()), "other names and spellings seen or known"),
        _c("iso_code", pa.string(), "ISO 3166-1 alpha-2 code, for countries"),
        RUN_ID,
    ),
    key=("entity_id",),
    required=("entity_id", "type", "name", "run_id"),
)

MENTIONS = Table(
    "mentions",
    "Each place an entity is mentioned; start_char and end_char index articles.text.",
    (
        _c("article_id", pa.string(), "the article", nullable=False),
        _c("entity_id", pa.string(), "the canonical entity", nullable=False),
        _c("surface", pa.string(), "the mention as written", nullable=False),
        _c("start_char", pa.int32(), "offset in articles.text", nullable=False),
        _c("end_char", pa.int32(), "offset in articles.text, end excluded", nullable=False),
        _c("method", pa.string(), "gazetteer or ner"),
        RUN_ID,
    ),
    key=("article_id", "start_char", "end_char"),
    required=("article_id", "entity_id", "surface", "start_char", "end_char", "run_id"),
)

ROLES = Table(
    "roles",
    "Who held which role in which organisation, as an article states it.",
    (
        _c("article_id", pa.string(), "the article", nullable=False),
        _c("person_id", pa.string(), "entity_id of the person", nullable=False),
        _c("role", pa.string(), "the role, e.g. Secretary-General", nullable=False),
        _c("org_id", pa.string(), "entity_id of the organisation"),
        _c("as_of", pa.date32(), "the article's date"),
        RUN_ID,
    ),
    key=("article_id", "person_id", "role"),
    required=("article_id", "person_id", "role", "run_id"),
)

ARTICLE_COUNTRIES = Table(
    "article_countries",
    "Countries an article mentions, with their SCO status at the article's date.",
    (
        _c("article_id", pa.string(), "the article", nullable=False),
        _c("entity_id", pa.string(), "the country entity", nullable=False),
        _c("iso_code", pa.string(), "ISO 3166-1 alpha-2"),
        _c("sco_status", pa.string(), "member, observer, dialogue_partner or none"),
        _c("mentions", pa.int32(), "how often it is mentioned"),
        RUN_ID,
    ),
    key=("article_id", "entity_id"),
    required=("article_id", "entity_id", "run_id"),
)

ARTICLE_TOPICS = Table(
    "article_topics",
    "Topics from the project's taxonomy, with the words that triggered each.",
    (
        _c("article_id", pa.string(), "the article", nullable=False),
        _c("topic", pa.string(), "topic code", nullable=False),
        _c("score", pa.float64(), "share of trigger words"),
        _c("triggers", pa.list_(pa.string()), "the words that triggered it"),
        RUN_ID,
    ),
    key=("article_id", "topic"),
    required=("article_id", "topic", "run_id"),
)

MINHASHES = Table(
    "minhashes",
    "MinHash signatures of the texts dedup sketched, reused by the next run (internal).",
    (
        _c("article_id", pa.string(), "the article", nullable=False),
        _c("content_hash", pa.string(), "content hash of the text signed", nullable=False),
        _c("scheme", pa.string(), "flows.dedup.SIGNATURE_SCHEME when written", nullable=False),
        _c("signature", pa.binary(), "128 little-endian uint32", nullable=False),
        RUN_ID,
    ),
    key=("article_id",),
    required=("article_id", "content_hash", "scheme", "signature", "run_id"),
    internal=True,
)

REJECTS = Table(
    "rejects",
    "Every page or link that did not become an article, with a reason code.",
    (
        _c("url", pa.string(), "canonical URL", nullable=False),
        _c("source", pa.string(), "source name", nullable=False),
        _c("stage", pa.string(), "crawl, clean, dedup, enrich or load", nullable=False),
        _c("reason", pa.string(), "a fixed code, see REJECT_REASONS", nullable=False),
        _c("detail", pa.string(), "free text"),
        _c("page_id", pa.string(), "the page, when one was fetched"),
        RUN_ID,
    ),
    key=("run_id", "url", "stage", "reason"),
    mode="append",
    required=("url", "source", "stage", "reason", "run_id"),
)

RUNS = Table(
    "runs",
    "One row per run, with its counts and timings.",
    (
        _c("run_id", pa.string(), "the run", nullable=False),
        _c("started_at", TS, "start time", nullable=False),
        _c("finished_at", TS, "end time"),
        _c("sources", pa.list_(pa.string()), "sources crawled"),
        _c("status", pa.string(), "completed or failed"),
        _c("pages_fetched", pa.int64(), "pages fetched"),
        _c("articles_new", pa.int64(), "articles stored for the first time"),
        _c("articles_updated", pa.int64(), "articles with a new version"),
        _c("articles_unchanged", pa.int64(), "articles seen again unchanged"),
        _c("articles_gone", pa.int64(), "known articles now answering 404 or 410"),
        _c("duplicates", pa.int64(), "articles that joined a cluster as duplicates"),
        _c("rejects", pa.int64(), "reject rows written"),
        _c("entities", pa.int64(), "entities in the warehouse"),
        _c("mentions_new", pa.int64(), "mentions written"),
        _c("rejects_by_reason", pa.map_(pa.string(), pa.int64()), "reject counts by reason"),
        _c(
            "stage_seconds",
            pa.map_(pa.string(), pa.float64()),
            "seconds per stage: " + ", ".join(STAGES),
        ),
        _c("code_version", pa.string(), "infoshos version"),
        _c("schema_version", pa.int32(), "warehouse schema version"),
        _c("lock_hash", pa.string(), "sha256 of requirements/runtime.lock, when present"),
        _c("config", pa.string(), "the source configuration used, as JSON"),
        _c("message", pa.string(), "warnings or the failure message"),
        _c("mode", pa.string(), "incremental, full or reprocess"),
        _c(
            "source_yield",
            pa.map_(pa.string(), pa.int64()),
            "article pages each source offered (fetched or known), for the yield alarm",
        ),
        _c(
            "rule_misses",
            pa.map_(pa.string(), pa.int64()),
            "pages per source on which the site rules found no title, date or body, so the "
            "generic extractor was used (a sign of a redesign)",
        ),
    ),
    key=("run_id",),
    mode="append",
    required=("run_id", "started_at"),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        PAGES,
        ARTICLES,
        ARTICLE_VERSIONS,
        CLUSTERS,
        ARTICLE_LINKS,
        ENTITIES,
        MENTIONS,
        ROLES,
        ARTICLE_COUNTRIES,
        ARTICLE_TOPICS,
        MINHASHES,
        REJECTS,
        RUNS,
    )
}

#: The tables a user sees: exported and documented.
PUBLIC_TABLES: dict[str, Table] = {n: t for n, t in TABLES.items() if not t.internal}

#: The reason codes a ``rejects`` row may carry.
#: How a crawled feed or sitemap that could not be read starts its ``detail`` in the spool (the
#: clean stage rejects it as ``bad_feed``).
UNREADABLE_FEED = "unreadable feed"

REJECT_REASONS: dict[str, str] = {
    "http_error": "the server answered with an error status, or did not answer",
    "decode_error": "the body could not be decoded as text",
    "truncated": "the HTML ends before the page does",
    "not_article": "the page or link is not a news article (a list, a PDF, ...)",
    "no_title": "no headline found",
    "no_date": "no publication date found",
    "bad_date": "the date is malformed or in the future",
    "no_body": "no article text found",
    "offsite": "a link outside the source's allowed domains, not followed",
    "too_large": "the response was larger than the download limit",
    "disallowed": "robots.txt forbids the URL",
    "invalid": "the record failed a check before loading",
    "bad_feed": "a feed or sitemap whose XML could not be read (its items are unknown)",
}

#: Reasons that say the page was not read whole (the transfer was cut, not the page broken):
#: an incremental crawl fetches such a page again without a conditional request, which would
#: otherwise answer 304 Not Modified for the same resource and never give the whole page.
REFETCH_REASONS = frozenset({"truncated"})


def empty(table: Table) -> pa.Table:
    return table.schema.empty_table()
