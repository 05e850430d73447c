"""The run summary: counts and timings, printed at the end of a run and stored as a Prefect
artifact and a `runs` row."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infoshos.warehouse.schema import STAGES


@dataclass
class RunSummary:
    run_id: str
    sources: list[str]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: dict[str, float] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    pages_fetched: int = 0
    articles_new: int = 0
    articles_updated: int = 0
    articles_unchanged: int = 0
    articles_gone: int = 0
    articles_total: int = 0
    duplicates: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    repairs: Counter[str] = field(default_factory=Counter)
    entities: int = 0
    mentions_new: int = 0
    snapshot: int | None = None
    #: Scrapy's WARNING and ERROR (or CRITICAL) log lines during the crawls.
    crawl_warnings: int = 0
    crawl_errors: int = 0
    status: str = "completed"
    #: Alarms: any message fails the flow run (after publishing).
    messages: list[str] = field(default_factory=list)
    #: Warnings: shown and stored, but the run still completes.
    warnings: list[str] = field(default_factory=list)
    #: Pages per source on which the site rules missed and the generic extractor took over.
    rule_misses: Counter[str] = field(default_factory=Counter)
    #: The zone given to datelines without an offset, when the run says it (ad hoc runs).
    timezone_note: str | None = None

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage of ``warehouse.schema.STAGES`` (another name is a programming error)."""
        if name not in STAGES:
            raise ValueError(f"unknown stage {name!r}; the stages are {', '.join(STAGES)}")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def run_row(self, **extra: Any) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": datetime.now(UTC),
            "sources": self.sources,
            "status": self.status,
            "pages_fetched": self.pages_fetched,
            "articles_new": self.articles_new,
            "articles_updated": self.articles_updated,
            "articles_unchanged": self.articles_unchanged,
            "articles_gone": self.articles_gone,
            "duplicates": self.duplicates,
            "rejects": sum(self.rejects.values()),
            "entities": self.entities,
            "mentions_new": self.mentions_new,
            "rejects_by_reason": dict(sorted(self.rejects.items())),
            "stage_seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "rule_misses": dict(sorted(self.rule_misses.items())),
            "message": "; ".join(self.messages + self.warnings) or None,
            **extra,
        }

    def to_json(self) -> dict[str, Any]:
        row = self.run_row()
        row["started_at"] = self.started_at.isoformat()
        row["finished_at"] = row["finished_at"].isoformat()
        row["articles_total"] = self.articles_total
        row["snapshot"] = self.snapshot
        row["items"] = dict(self.items)
        row["repairs"] = dict(sorted(self.repairs.items()))
        row["crawl_warnings"] = self.crawl_warnings
        row["crawl_errors"] = self.crawl_errors
        row["alarms"] = list(self.messages)
        row["warnings"] = list(self.warnings)
        row["timezone"] = self.timezone_note
        row["text"] = self.text()
        return row

    def _lines(self) -> list[tuple[str, str]]:
        rejects = ", ".join(f"{k} {v}" for k, v in sorted(self.rejects.items())) or "none"
        repairs = ", ".join(f"{k} {v}" for k, v in sorted(self.repairs.items())) or "none"
        misses = ", ".join(f"{k} {v}" for k, v in sorted(self.rule_misses.items())) or "none"
        zone = [("timezone", self.timezone_note)] if self.timezone_note else []
        return [
            ("run", f"{self.run_id} ({self.status})"),
            ("sources", ", ".join(self.sources)),
            ("pages fetched", str(self.pages_fetched)),
            (
                "articles",
                f"{self.articles_new} new, {self.articles_updated} updated, "
                f"{self.articles_unchanged} unchanged, {self.articles_gone} gone, "
                f"{self.duplicates} duplicates "
                f"({self.articles_total} in the warehouse)",
            ),
            ("rejects", f"{sum(self.rejects.values())} ({rejects})"),
            ("crawl log", f"{self.crawl_warnings} warnings, {self.crawl_errors} errors"),
            ("repairs", repairs),
            ("rule misses", misses),
            *zone,
            ("entities", f"{self.entities} in the warehouse, {self.mentions_new} new mentions"),
            ("snapshot", str(self.snapshot)),
        ]

    def _stage_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for name in STAGES:
            if name in self.seconds:
                secs = self.seconds[name]
                n = self.items.get(name, 0)
                rate = f"{n / secs:,.0f}/s" if secs > 0 and n else "-"
                rows.append((name, f"{secs:.2f} s", f"{n} items, {rate}"))
        return rows

    def text(self) -> str:
        lines = [f"{k:>14}: {v}" for k, v in self._lines()]
        lines.append(f"{'time':>14}: " + ", ".join(f"{n} {s}" for n, s, _ in self._stage_rows()))
        lines += [f"{'warning':>14}: {m}" for m in self.messages + self.warnings]
        return "\n".join(lines)

    def markdown(self) -> str:
        out = [f"# infoshos run {self.run_id}", "", "| | |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in self._lines()]
        out += ["", "| stage | time | items |", "|---|---|---|"]
        out += [f"| {n} | {s} | {i} |" for n, s, i in self._stage_rows()]
        out += [f"\n**warning:** {m}" for m in self.messages + self.warnings]
        return "\n".join(out) + "\n"


def rule_miss_warnings(misses: Mapping[str, int], examples: Mapping[str, str]) -> list[str]:
    """One warning per source whose site rules missed: the count and one example. A sign of a
    redesign, seen before the yield alarm fires (the pages were still extracted generically)."""
    out = []
    for source, n in sorted(misses.items()):
        if n <= 0:
            continue
        pages = "page" if n == 1 else "pages"
        example = examples.get(source)
        tail = f"; e.g. {example}" if example else ""
        out.append(
            f"{source}: site rules missed on {n} {pages} (generic extraction used; "
            f"has the site been redesigned?){tail}"
        )
    return out
