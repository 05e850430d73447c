"""Merge a run's results into the warehouse's state: pure functions over records.

They decide which articles are new, changed or unchanged, which versions to add, which cluster
assignments changed and which entities are new, so that the load step writes only real changes
and a re-run over the same input writes nothing to the keyed tables.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infoshos.warehouse.schema import ARTICLE_PAGE_TYPES

ARTICLE_STATE_COLUMNS = ("cluster_id", "is_canonical")


@dataclass
class ArticlePlan:
    new: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> list[dict[str, Any]]:
        return self.new + self.updated


def plan_articles(
    existing: Mapping[str, Mapping[str, Any]],
    latest_version: Mapping[str, int],
    cleaned: Iterable[Mapping[str, Any]],
    run_id: str,
) -> ArticlePlan:
    """Compare cleaned articles with the stored ones (by article_id and content_hash)."""
    plan = ArticlePlan()
    for art in cleaned:
        aid = art["article_id"]
        old = existing.get(aid)
        if old is not None and old["content_hash"] == art["content_hash"]:
            plan.unchanged.append(aid)
            continue
        row = dict(art)
        row["run_id"] = run_id
        row["first_seen_run"] = old["first_seen_run"] if old is not None else run_id
        version = latest_version.get(aid, 0) + 1
        plan.versions.append(
            {
                "article_id": aid,
                "version": version,
                "content_hash": art["content_hash"],
                "title": art.get("title"),
                "text": art.get("text"),
                "page_id": art.get("page_id"),
                "run_id": run_id,
            }
        )
        (plan.updated if old is not None else plan.new).append(row)
    return plan


def apply_clusters(
    articles: Mapping[str, dict[str, Any]],
    clusters: Sequence[Mapping[str, Any]],
    changed_ids: set[str],
    run_id: str,
) -> list[dict[str, Any]]:
    """Set cluster_id / is_canonical on ``articles`` (all of them, by id) from the dedup
    result; return the rows that must be written: the changed ones plus any whose cluster
    fields moved."""
    out: list[dict[str, Any]] = []
    for row in clusters:
        art = articles.get(row["article_id"])
        if art is None:
            continue
        cluster_id = row["cluster_id"]
        canonical = row["role"] == "canonical"
        moved = art.get("cluster_id") != cluster_id or art.get("is_canonical") != canonical
        if moved or art["article_id"] in changed_ids:
            art = dict(art)
            art["cluster_id"] = cluster_id
            art["is_canonical"] = canonical
            if moved and art["article_id"] not in changed_ids:
                art["run_id"] = run_id
            out.append(art)
    return out


def cluster_changes(
    existing: Mapping[str, Mapping[str, Any]],
    clusters: Iterable[Mapping[str, Any]],
    run_id: str,
) -> list[dict[str, Any]]:
    """The cluster rows that differ from the stored ones."""
    return [
        {**row, "run_id": run_id}
        for row in clusters
        if not _same_cluster_row(existing.get(row["article_id"]), row)
    ]


def _same_cluster_row(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Same cluster, role and reason, and the same similarity (both none, or within 1e-9)."""
    if old is None or any(old.get(k) != new.get(k) for k in ("cluster_id", "role", "reason")):
        return False
    sim_old, sim_new = old.get("similarity"), new.get("similarity")
    if sim_old is None or sim_new is None:
        return sim_old is None and sim_new is None
    return bool(abs(sim_old - sim_new) < 1e-9)


def merge_entities(
    existing: Mapping[str, Mapping[str, Any]],
    found: Iterable[Mapping[str, Any]],
    run_id: str,
) -> list[dict[str, Any]]:
    """New entities, and known ones whose alias list grew."""
    merged: dict[str, dict[str, Any]] = {}
    for ent in found:
        eid = ent["entity_id"]
        base = merged.get(eid) or dict(existing.get(eid) or ent)
        aliases = set(base.get("aliases") or []) | set(ent.get("aliases") or [])
        aliases.discard(base["name"])
        base["aliases"] = sorted(aliases)
        merged[eid] = base
    return [
        {**ent, "run_id": run_id}
        for eid, ent in merged.items()
        if (old := existing.get(eid)) is None or sorted(old.get("aliases") or []) != ent["aliases"]
    ]


# -- the other decisions of a run: gone articles, moved clusters, links, re-process pages -----
GONE_STATUSES = (404, 410)


def gone_candidates(fetches: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """article_id -> fetched_at of the first fetch of an article (or print) page that answered
    404 or 410. ``fetches`` need ``article_id``, ``status``, ``page_type`` and ``fetched_at``."""
    out: dict[str, Any] = {}
    for row in fetches:
        if row["status"] in GONE_STATUSES and row["page_type"] in ARTICLE_PAGE_TYPES:
            out.setdefault(row["article_id"], row["fetched_at"])
    return out


def gone_articles(candidates: Mapping[str, Any], known: Mapping[str, Any | None]) -> dict[str, Any]:
    """The known articles (``known``: article_id -> its ``gone_at``, None when present) that
    are gone now: marked ``gone_at`` (never deleted), unless they were already."""
    return {aid: when for aid, when in candidates.items() if aid in known and known[aid] is None}


def moved_articles(
    stored: Mapping[str, tuple[str | None, bool | None]],
    clusters: Iterable[Mapping[str, Any]],
    skip: Container[str],
) -> dict[str, tuple[str, bool]]:
    """Stored articles (article_id -> stored (cluster_id, is_canonical)) whose cluster fields
    the dedup result changes, other than those in ``skip`` (written anyway): their new fields."""
    out: dict[str, tuple[str, bool]] = {}
    for row in clusters:
        aid = row["article_id"]
        if aid in skip or aid not in stored:
            continue
        new = (row["cluster_id"], row["role"] == "canonical")
        if stored[aid] != new:
            out[aid] = new
    return out


def _link_key(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str, float]]:
    return sorted(
        (r["article_id"], r["other_id"], r["kind"], round(float(r["score"] or 0), 9)) for r in rows
    )


def links_unchanged(
    stored: Iterable[Mapping[str, Any]], computed: Iterable[Mapping[str, Any]]
) -> bool:
    """Whether the computed translation links equal the stored ones (scores to 9 places)."""
    return _link_key(stored) == _link_key(computed)


def latest_fetches(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """What a re-process starts from: for each URL, its latest fetch of an article (or print)
    page that answered 200 (``rows`` need ``url``, ``page_type``, ``status``, ``fetched_at``)."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["status"] != 200 or row["page_type"] not in ARTICLE_PAGE_TYPES:
            continue
        prev = latest.get(row["url"])
        if prev is None or row["fetched_at"] >= prev["fetched_at"]:
            latest[row["url"]] = dict(row)
    return latest


def rows_to_write(
    plan: ArticlePlan,
    cleaned: Iterable[Mapping[str, Any]],
    existing: Mapping[str, Mapping[str, Any]],
    run_id: str,
    everything: bool = False,
) -> list[dict[str, Any]]:
    """The article rows a run writes: the new and changed ones (keeping a stored ``gone_at``);
    with ``everything`` (a re-process, which rebuilds the tables from the pages) every cleaned
    article, the unchanged ones keeping their first run and ``gone_at``."""
    rows = []
    for art in plan.changed:
        was = existing.get(art["article_id"])
        rows.append(dict(art, gone_at=None if was is None else was.get("gone_at")))
    if everything:
        unchanged = set(plan.unchanged)
        for kept in cleaned:
            if kept["article_id"] in unchanged:
                stored = existing[kept["article_id"]]
                rows.append(
                    dict(
                        kept,
                        run_id=run_id,
                        first_seen_run=stored["first_seen_run"],
                        gone_at=stored.get("gone_at"),
                    )
                )
    return rows
