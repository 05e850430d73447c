"""Run health: is a source still yielding articles? Pure functions over counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from statistics import median

from infoshos.warehouse.schema import ARTICLE_PAGE_TYPES

#: A source yielding less than this share of its recent median is flagged.
YIELD_FLOOR = 0.2
#: How many recent runs (of the same mode) make the baseline.
HISTORY = 5


def source_yield(
    page_rows: Iterable[Mapping[str, object]], known_skipped: Mapping[str, int]
) -> dict[str, int]:
    """Article pages each source offered this run: fetched (200/304) or skipped as known."""
    out: dict[str, int] = dict(known_skipped)
    for row in page_rows:
        if row.get("skip_reason") is not None or row.get("page_type") not in ARTICLE_PAGE_TYPES:
            continue
        if row.get("status") in (200, 304):
            src = str(row["source"])
            out[src] = out.get(src, 0) + 1
    return out


def yield_alarms(
    sources: Sequence[str],
    current: Mapping[str, int],
    history: Sequence[Mapping[str, int]],
    floor: float = YIELD_FLOOR,
) -> list[str]:
    """Messages for sources that yielded nothing, or far less than in their recent runs.

    ``history`` holds earlier runs' yields (oldest first) of the same mode."""
    alarms = []
    for src in sources:
        now = current.get(src, 0)
        past = [h[src] for h in history if src in h][-HISTORY:]
        if now == 0:
            alarms.append(f"source {src} yielded no articles (a redesigned or unreachable site?)")
        elif past and now < floor * median(past):
            alarms.append(
                f"source {src} yielded {now} articles, far below its recent median "
                f"{median(past):g} (a redesigned site?)"
            )
    return alarms
