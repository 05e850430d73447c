"""Countries an article mentions, with their SCO status in the article's year."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from .gazetteer import Gazetteer
from .linking import Mention


def country_rows(
    article_id: str, mentions: list[Mention], published_at: datetime | None, gaz: Gazetteer
) -> list[dict[str, Any]]:
    """One row per country entity: ISO code, SCO status (None when the date is unknown), count."""
    counts = Counter(m.entity_id for m in mentions if m.type == "country")
    rows: list[dict[str, Any]] = []
    for eid, n in sorted(counts.items()):
        ent = gaz.entities.get(eid)
        iso = ent.iso_code if ent else None
        status = None
        if iso and published_at is not None:
            status = gaz.status_at(iso, published_at.year)
        rows.append(
            {
                "article_id": article_id,
                "entity_id": eid,
                "iso_code": iso,
                "sco_status": status,
                "mentions": n,
            }
        )
    return rows
