"""``infoshos probe``: check a source before scheduling it.

A probe crawls a source's entry points and a handful of pages through the same spider a run uses
(a subprocess, with the source's own delay and politeness, into a temporary spool), cleans every
page exactly as the clean stage does and reports:

- which discovery paths found links (the spool's ``via`` column; without it, the page type of
  the page that linked to each one);
- on how many pages the source's site rules matched, and where they fell back to the generic
  extractor (and why);
- what would be stored: title, date with its zone, language and the first lines of text;
- what would be rejected, with the reason code and its detail.

Nothing is written to any warehouse and no Prefect flow runs. The aggregation and formatting
(:func:`analyse`, :func:`format_text`, :func:`to_json`) are pure; :func:`run_probe` does the crawl.
"""

from __future__ import annotations

import tempfile
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from infoshos.flows.clean import sites
from infoshos.flows.clean.articles import clean_page
from infoshos.flows.sources import Source
from infoshos.warehouse.schema import ARTICLE_PAGE_TYPES, NAVIGATION_PAGE_TYPES

#: How a page was reached when the spool does not say (``via`` missing): by the page type of
#: the page that linked to it.
VIA_BY_REFERER_TYPE = {"feed": "feed", "list": "list", "article": "link", "print": "link"}
#: Paragraphs of each stored article shown, and their width.
PREVIEW_PARAGRAPHS = 2
PREVIEW_WIDTH = 160


@dataclass
class ProbeReport:
    source: str
    style: str
    #: The zone used for datelines without an offset, and where it comes from.
    timezone: str
    start_urls: list[str]
    #: discovery path -> {"links": rows reached that way, "articles": article pages among them}
    discovery: dict[str, dict[str, int]] = field(default_factory=dict)
    #: the style has site rules (else every page goes through the generic extractor)
    has_rules: bool = False
    rules_matched: int = 0
    #: pages on which the site rules missed: {"url", "miss", "outcome"}
    fallbacks: list[dict[str, str]] = field(default_factory=list)
    stored: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    #: list and feed pages fetched (navigation: never articles, never rejects)
    navigation: int = 0
    crawl: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when at least one article would be stored, 1 otherwise."""
        return 0 if self.stored else 1


def via_of(row: Mapping[str, Any], page_types: Mapping[str, str]) -> str:
    """How a spool row was reached: its ``via`` when the spider wrote one, else ``start`` for a
    row without a referer, else the kind of page that linked to it (``feed``, ``list``,
    ``link`` for an article, ``link`` for anything unknown)."""
    via = row.get("via")
    if via:
        return str(via)
    referer = row.get("referer")
    if not referer:
        return "start"
    return VIA_BY_REFERER_TYPE.get(page_types.get(referer, ""), "link")


def discovery_paths(
    rows: Iterable[Mapping[str, Any]], links_by_via: Mapping[str, int] | None = None
) -> dict[str, dict[str, int]]:
    """Per discovery path: the links it found and the article pages fetched through it that
    answered (status below 400). ``links_by_via`` (the crawl's count of distinct links each
    path found, also those another path had found first) gives the links; without it, the
    spool rows reached through each path."""
    rows = list(rows)
    page_types = {r["url"]: r.get("page_type") or "" for r in rows if r.get("status") is not None}
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = out.setdefault(via_of(row, page_types), {"links": 0, "articles": 0})
        counts["links"] += 1
        answered = row.get("status") is not None and int(row["status"]) < 400
        ok = answered and not row.get("skip_reason")
        counts["articles"] += ok and row.get("page_type") in ARTICLE_PAGE_TYPES
    for via, found in (links_by_via or {}).items():
        out.setdefault(via, {"links": 0, "articles": 0})["links"] = int(found)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["links"], kv[0])))


def _preview(text: str) -> list[str]:
    paragraphs = [p for p in text.split("\n\n") if p.strip()][:PREVIEW_PARAGRAPHS]
    return [textwrap.shorten(p, PREVIEW_WIDTH, placeholder=" …") for p in paragraphs]


def _date(value: datetime | None, timezone: str | None) -> str | None:
    if value is None:
        return None
    if timezone:
        value = value.astimezone(ZoneInfo(timezone))
    return value.isoformat()


def analyse(
    rows: Iterable[Mapping[str, Any]],
    source: Source,
    timezone: str | None,
    timezone_label: str,
    now: datetime | None = None,
    links_by_via: Mapping[str, int] | None = None,
) -> ProbeReport:
    """Clean every spool row as the clean stage would and aggregate what a run would do.

    ``timezone`` is the zone handed to the extraction (None: the site rules' own zone, or UTC
    for generic pages); ``timezone_label`` says which zone that is and where it comes from."""
    rows = list(rows)
    report = ProbeReport(
        source=source.name,
        style=source.style,
        timezone=timezone_label,
        start_urls=list(source.start_urls),
        discovery=discovery_paths(rows, links_by_via),
        has_rules=source.style in sites.RULES,
    )
    seen: set[str] = set()
    for row in rows:
        if row.get("status") is not None and row.get("page_type") in NAVIGATION_PAGE_TYPES:
            report.navigation += 1
        result = clean_page(row, source.style, source.encoding, now, timezone)
        if result.rule_miss is not None:
            outcome = "stored" if result.article is not None else "rejected"
            report.fallbacks.append(
                {"url": row["url"], "miss": result.rule_miss, "outcome": outcome}
            )
        if result.reject is not None:
            rej = result.reject
            report.rejected.append({k: rej[k] for k in ("url", "stage", "reason", "detail")})
        art = result.article
        if art is None or art["article_id"] in seen:
            continue
        seen.add(art["article_id"])
        if report.has_rules and result.rule_miss is None:
            report.rules_matched += 1
        report.stored.append(
            {
                "url": art["url"],
                "title": art["title"],
                "published_at": _date(art["published_at"], timezone),
                "language": art["language"],
                "words": art["word_count"],
                "extraction": _extraction(report.has_rules, result.rule_miss),
                "first_lines": _preview(art["text"]),
            }
        )
    return report


def _extraction(has_rules: bool, miss: str | None) -> str:
    if miss is not None:
        return "generic (site rules missed)"
    return "site rules" if has_rules else "generic"


def to_json(report: ProbeReport) -> dict[str, Any]:
    out = asdict(report)
    out["exit_code"] = report.exit_code
    return out


def format_text(report: ProbeReport) -> str:
    lines = [
        f"source: {report.source} (style {report.style})",
        f"timezone: {report.timezone}",
        "start urls: " + (", ".join(report.start_urls) or "-"),
        f"crawl: {_crawl_line(report.crawl)}",
        "",
        "discovery (how the pages were reached):",
    ]
    lines += [
        f"  {via:<10} {c['links']:>4} links, {c['articles']:>4} article pages"
        for via, c in report.discovery.items()
    ] or ["  nothing: no page was fetched"]
    lines += ["", _rules_line(report)]
    for fb in report.fallbacks:
        lines.append(f"  fell back ({fb['outcome']}): {fb['url']}: {fb['miss']}")
    lines += ["", f"would store: {_n(len(report.stored), 'article')}"]
    for art in report.stored:
        lines.append(f"  {art['title']}")
        lines.append(
            f"    {art['url']}\n    date {art['published_at'] or '-'}, language "
            f"{art['language']}, {art['words']} words, {art['extraction']}"
        )
        lines += [f"    | {line}" for line in art["first_lines"]]
    reasons = Counter(r["reason"] for r in report.rejected)
    by_reason = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
    lines += [
        "",
        f"would reject: {len(report.rejected)}" + (f" ({by_reason})" if by_reason else ""),
    ]
    for rej in report.rejected:
        lines.append(f"  {rej['reason']} ({rej['stage']}): {rej['url']}: {rej['detail']}")
    lines += [
        "",
        f"navigation pages (lists, feeds): {report.navigation}",
        "verdict: "
        + (
            f"OK, {_n(len(report.stored), 'article')} would be stored"
            if report.stored
            else "no article would be stored"
        ),
    ]
    return "\n".join(lines) + "\n"


def _rules_line(report: ProbeReport) -> str:
    if not report.has_rules:
        return f"site rules: none for style {report.style!r}: every page is extracted generically"
    return (
        f"site rules ({report.style}): matched on {_n(report.rules_matched, 'page')}, "
        f"fell back to generic extraction on {len(report.fallbacks)}"
    )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _crawl_line(stats: Mapping[str, Any]) -> str:
    if not stats:
        return "-"
    keys = ("pages", "skipped", "errors", "finish_reason")
    return ", ".join(f"{k} {stats[k]}" for k in keys if k in stats)


# -- the crawl -------------------------------------------------------------------------------
def run_probe(source: Source, pages: int, timezone: str | None, timezone_label: str) -> ProbeReport:
    """Crawl ``source``'s entry points and up to ``pages`` more pages into a temporary spool
    (the source's spider, delay and concurrency; robots.txt obeyed) and analyse them."""
    import pyarrow.parquet as pq

    from infoshos.flows.crawl_stage import (
        CrawlOptions,
        plan_crawls,
        run_crawl,
        sample_site_if_needed,
    )

    with tempfile.TemporaryDirectory(prefix="infoshos-probe-") as tmp:
        out = Path(tmp) / "spool.parquet"
        with sample_site_if_needed([source]) as base_url:
            plan = plan_crawls([source], base_url, CrawlOptions(), None)[0]
            plan.source = replace(source, max_pages=len(plan.start_urls) + pages)
            stats = run_crawl(plan, out)
        rows = pq.read_table(out).to_pylist()
    shown = replace(source, start_urls=tuple(plan.start_urls))
    report = analyse(rows, shown, timezone, timezone_label, links_by_via=stats.get("links_by_via"))
    report.crawl = stats
    return report
