"""Quality of deduplication, enrichment and translation links against the gold set.

    .venv/bin/python bench/quality.py            # gold evaluation + dedup timing at 2k/10k/20k
    .venv/bin/python bench/quality.py --no-scale # gold evaluation only

Input: the sample site's ground truth (``spiders/sample_site/articles.yaml``, valid articles
only), as the pipeline would store it after a perfect crawl and extraction: the text is the
paragraphs joined by a blank line, ``event_date`` comes from ``flows.clean.dates`` on the first
paragraph (then the subtitle), ``content_hash`` and ``word_count`` from ``flows.clean``. The
real transforms then run: ``cluster_articles``, ``enrich_articles`` and ``link_translations``.
The crawl and extraction are measured elsewhere (``bench/extraction.py``).

Gold: ``tests/gold/entities.yaml`` (entities of 51 articles) and ``tests/gold/pairs.yaml``
(duplicate, alias and translation pairs of all 76 valid articles); see their headers.

Metrics:

* entities, per type: precision, recall, F1 of the set of (article, entity_id, type) over the
  gold articles (a right id with a wrong type is an error in both types);
* linking accuracy: every occurrence in the text of a gold surface (skipping occurrences inside
  a longer gold surface) is a gold mention; it is right when a system mention overlapping it
  has the gold entity_id;
* duplicates: pairwise precision and recall over article pairs; a pair is predicted when both
  articles are in one cluster, or (aliases) when both URLs give the same canonical URL;
* translations: pairwise precision and recall at the story level (duplicate clusters), from
  the links of ``link_translations``.
"""

from __future__ import annotations

import itertools
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infoshos.flows.clean import words
from infoshos.flows.clean.articles import content_hash
from infoshos.flows.clean.dates import find_event_date
from infoshos.flows.dedup import DedupInput, cluster_articles
from infoshos.flows.enrich import enrich_articles
from infoshos.flows.links import link_translations
from infoshos.spiders.sample_site.model import PREFIXES, SampleArticle, expected_articles
from infoshos.warehouse.keys import canonical_url

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIR = ROOT / "tests" / "gold"
TYPES = ("person", "org", "country", "location")
#: The goals of issue 4.
GOALS = {"entity_f1": 0.90, "linking": 0.95, "dup_precision": 0.99, "dup_recall": 0.95}
SCALE_SIZES = (2000, 10000, 20000)


# --------------------------------------------------------------------------------- inputs


def load_gold() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(entity annotations, pairs) from ``tests/gold``."""
    ents = yaml.safe_load((GOLD_DIR / "entities.yaml").read_text(encoding="utf-8"))
    pairs = yaml.safe_load((GOLD_DIR / "pairs.yaml").read_text(encoding="utf-8"))
    return list(ents["articles"]), dict(pairs)


def _record(a: SampleArticle) -> dict[str, Any]:
    text = a.text
    first = a.paragraphs[0] if a.paragraphs else ""
    event = find_event_date(first, a.language, a.published_at)
    if event is None and a.subtitle:
        event = find_event_date(a.subtitle, a.language, a.published_at)
    return {
        "article_id": a.key,
        "url": a.canonical_url,
        "language": a.language,
        "text": text,
        "published_at": a.published_at,
        "event_date": event,
        "content_hash": content_hash(text),
        "word_count": words.word_count(text, a.language),
    }


def sample_records() -> list[dict[str, Any]]:
    """The valid sample articles as the pipeline stores them (article_id = the YAML key)."""
    return [_record(a) for a in expected_articles()]


# --------------------------------------------------------------------------------- results


@dataclass
class PRF:
    tp: int = 0
    predicted: int = 0
    gold: int = 0

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    entities: dict[str, PRF] = field(default_factory=dict)
    linking_right: int = 0
    linking_total: int = 0
    duplicates: PRF = field(default_factory=PRF)
    translations: PRF = field(default_factory=PRF)
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def linking_accuracy(self) -> float:
        return self.linking_right / self.linking_total if self.linking_total else 1.0


# --------------------------------------------------------------------------------- metrics


def _components(nodes: Iterable[str], pairs: Iterable[Sequence[str]]) -> dict[str, str]:
    """node -> the smallest node of its connected component."""
    parent = {n: n for n in nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in parent}


def _pairs_of(groups: Mapping[str, str]) -> set[frozenset[str]]:
    members: dict[str, list[str]] = defaultdict(list)
    for node, root in groups.items():
        members[root].append(node)
    return {frozenset(p) for m in members.values() for p in itertools.combinations(sorted(m), 2)}


def evaluate_entities(
    gold: list[dict[str, Any]],
    texts: Mapping[str, str],
    mentions: Sequence[Mapping[str, Any]],
    entity_types: Mapping[str, str],
    report: Report,
) -> None:
    keys = {g["key"] for g in gold}
    gold_set = {(g["key"], e["id"], e["type"]) for g in gold for e in g["entities"]}
    sys_set = {
        (m["article_id"], m["entity_id"], entity_types.get(m["entity_id"], "?"))
        for m in mentions
        if m["article_id"] in keys
    }
    for t in TYPES:
        want = {x for x in gold_set if x[2] == t}
        got = {x for x in sys_set if x[2] == t}
        report.entities[t] = PRF(len(want & got), len(got), len(want))
        report.errors["entity_fp"] += [f"{k} {i} ({t})" for k, i, _ in sorted(got - want)]
        report.errors["entity_fn"] += [f"{k} {i} ({t})" for k, i, _ in sorted(want - got)]

    by_article: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for m in mentions:
        by_article[m["article_id"]].append(m)
    for g in gold:
        text = texts[g["key"]]
        spans: list[tuple[int, int, str, str]] = []
        for e in g["entities"]:
            for s in e["surfaces"]:
                for mt in re.finditer(r"(?<![\w-])" + re.escape(s) + r"(?![\w-])", text):
                    spans.append((mt.start(), mt.end(), e["id"], s))
        for a, b, eid, s in spans:
            if any(c <= a and b <= d and (d - c) > (b - a) for c, d, _, _ in spans):
                continue  # inside a longer gold surface
            report.linking_total += 1
            ids = [m["entity_id"] for m in by_article[g["key"]]
                   if m["start_char"] < b and a < m["end_char"]]  # fmt: skip
            if eid in ids:
                report.linking_right += 1
            else:
                report.errors["linking"].append(f"{g['key']} {s!r}@{a}: {eid} got {ids or '-'}")


def evaluate_duplicates(
    pairs: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    clusters: Sequence[Mapping[str, Any]],
    report: Report,
) -> dict[str, str]:
    """Pairwise duplicate precision/recall; returns the gold story of every article."""
    keys = [r["article_id"] for r in records]
    gold_story = _components(keys, pairs.get("duplicates") or [])
    gold_pairs = _pairs_of(gold_story)
    cluster_of = {r["article_id"]: r["cluster_id"] for r in clusters}
    predicted = _pairs_of(cluster_of)
    url_of = {r["article_id"]: r["url"] for r in records}
    for key, alias_path, _canonical in pairs.get("aliases") or []:
        alias = f"alias:{key}"
        gold_pairs.add(frozenset((key, alias)))
        # the alias URL as the live portal would serve it (local prefix -> portal prefix)
        alias_url = next(
            c + alias_path[len(lp) :] for lp, c in PREFIXES if alias_path.startswith(lp)
        )
        if canonical_url(alias_url) == url_of[key]:
            predicted.add(frozenset((key, alias)))
        else:
            report.errors["duplicates"].append(f"alias not folded: {alias_url}")
    tp = predicted & gold_pairs
    report.duplicates = PRF(len(tp), len(predicted), len(gold_pairs))
    report.errors["duplicates"] += [
        f"false: {sorted(p)}" for p in sorted(predicted - gold_pairs, key=sorted)
    ]
    report.errors["duplicates"] += [
        f"missed: {sorted(p)}" for p in sorted(gold_pairs - predicted, key=sorted)
    ]
    return gold_story


def evaluate_translations(
    pairs: Mapping[str, Any],
    gold_story: Mapping[str, str],
    links: Sequence[Mapping[str, Any]],
    report: Report,
) -> None:
    gold = {frozenset((gold_story[a], gold_story[b])) for a, b in pairs.get("translations") or []}
    predicted = {frozenset((gold_story[r["article_id"]], gold_story[r["other_id"]])) for r in links}
    report.translations = PRF(len(predicted & gold), len(predicted), len(gold))
    report.errors["translations"] += [f"false: {sorted(p)}" for p in predicted - gold]
    report.errors["translations"] += [f"missed: {sorted(p)}" for p in gold - predicted]


# --------------------------------------------------------------------------------- run


def evaluate() -> Report:
    """Run the transforms on the sample site and score them against the gold set."""
    gold, pairs = load_gold()
    records = sample_records()
    report = Report()

    dedup_in = [
        DedupInput(
            article_id=r["article_id"],
            url=r["url"],
            language=r["language"],
            text=r["text"],
            content_hash=r["content_hash"],
            word_count=r["word_count"],
            seen_order=(r["published_at"].isoformat(), r["article_id"]),
            published_at=r["published_at"],
        )
        for r in records
    ]
    clusters = cluster_articles(dedup_in)
    gold_story = evaluate_duplicates(pairs, records, clusters, report)

    enriched = enrich_articles(records)
    types = {e["entity_id"]: e["type"] for e in enriched.entities}
    texts = {r["article_id"]: r["text"] for r in records}
    evaluate_entities(gold, texts, enriched.mentions, types, report)

    entity_ids: dict[str, set[str]] = defaultdict(set)
    for m in enriched.mentions:
        entity_ids[m["article_id"]].add(m["entity_id"])
    links = link_translations([{**r, "entity_ids": entity_ids[r["article_id"]]} for r in records])
    evaluate_translations(pairs, gold_story, links, report)
    return report


def scale_timings(sizes: Sequence[int] = SCALE_SIZES) -> list[tuple[int, float, int]]:
    """(articles, seconds, clusters) of ``cluster_articles`` on the synthetic corpus of
    ``bench/dedup_scale.py`` (one corpus of the largest size, cut to each size)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from dedup_scale import build

    records, _ = build(max(sizes))
    out = []
    for n in sizes:
        start = time.perf_counter()
        rows = cluster_articles(records[:n])
        out.append((n, time.perf_counter() - start, len({r["cluster_id"] for r in rows})))
    return out


def print_report(report: Report, verbose: bool = False) -> None:
    head = f"{'entities':<12} {'precision':>9} {'recall':>7} {'F1':>6}"
    print(f"{head} {'tp':>4} {'sys':>4} {'gold':>4}")
    for t, m in report.entities.items():
        print(f"{t:<12} {m.precision:>9.3f} {m.recall:>7.3f} {m.f1:>6.3f} "
              f"{m.tp:>4} {m.predicted:>4} {m.gold:>4}")  # fmt: skip
    print(f"linking accuracy {report.linking_accuracy:.3f} "
          f"({report.linking_right}/{report.linking_total} gold mentions)")  # fmt: skip
    for name, m in (("duplicates", report.duplicates), ("translations", report.translations)):
        print(f"{name:<12} precision {m.precision:.3f} recall {m.recall:.3f} "
              f"({m.tp} right, {m.predicted} predicted, {m.gold} gold pairs)")  # fmt: skip
    if verbose:
        for kind, items in report.errors.items():
            for item in items:
                print(f"  {kind}: {item}")


def main(argv: Sequence[str]) -> None:
    report = evaluate()
    print_report(report, verbose="-v" in argv)
    if "--no-scale" not in argv:
        print(f"\n{'articles':>9} {'dedup s':>8} {'articles/s':>11} {'clusters':>9}")
        for n, seconds, clusters in scale_timings():
            print(f"{n:>9} {seconds:>8.2f} {n / seconds:>11.0f} {clusters:>9}")


if __name__ == "__main__":
    main(sys.argv[1:])
