"""How ``cluster_articles`` scales: prints seconds and articles/s on synthetic articles.

    .venv/bin/python bench/dedup_scale.py [sizes...]     # default: 2000 10000 20000

Three timings per size, in the same run (the machines are shared: compare ratios, not
absolute figures across runs): ``reference`` is the previous implementation (one datasketch
``MinHash`` per text from ``MinHash.bulk``, a ``MinHashLSH`` queried then filled, kept below as
``reference_cluster_articles``), ``new`` is ``cluster_articles`` from scratch, ``incr`` is the
daily case: signatures stored for 99% of the articles, ``article_signatures`` computes the
rest, then ``cluster_articles(..., signatures=...)``. Every result is asserted equal to the
reference's (clusters, roles, reasons, similarities).

Texts are 120-400 words drawn from a random vocabulary (Zipf-like, plus shared boilerplate
sentences); about 20% of the articles are injected near duplicates of another one (a few
words changed, a sentence dropped or a chrome line added) and 5% exact copies. Also prints
how many injected duplicates were clustered with their original (recall) and how many
clusters mix unrelated originals (false merges).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from datasketch import MinHash, MinHashLSH

from infoshos.flows.dedup import (
    DEFAULT_THRESHOLD,
    LSH_MARGIN,
    MIN_WORDS,
    NUM_PERM,
    SEED,
    ClusterRow,
    DedupInput,
    Reason,
    Role,
    article_signatures,
    cluster_articles,
    gc_paused,
    shingle_hashes,
)

BOILER = [
    "SCO Secretary-General Rashid Alimov met with the delegation",
    "The sides discussed the state and prospects of cooperation within the organisation",
    "The meeting took place in a warm and friendly atmosphere",
]
T = TypeVar("T")

CHROME = "Share this page Facebook Twitter VK Telegram Print version"


def identity(value: int) -> int:
    """datasketch's ``hashfunc`` for values that are already 32-bit hashes (``shingle_hashes``)."""
    return value


def vocabulary(rng: random.Random, size: int = 20000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(size)]


def story(rng: random.Random, vocab: list[str], weights: list[float]) -> list[str]:
    sentences = []
    for _ in range(rng.randint(8, 25)):
        sentences.append(
            " ".join(rng.choices(vocab, cum_weights=weights, k=rng.randint(10, 22))) + "."
        )
    if rng.random() < 0.5:
        sentences.insert(0, rng.choice(BOILER) + ".")
    return sentences


def variant(rng: random.Random, sentences: list[str], vocab: list[str]) -> list[str]:
    out = list(sentences)
    kind = rng.randrange(3)
    if kind == 0:
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(out))
            words = out[i].split()
            words[rng.randrange(len(words))] = rng.choice(vocab)
            out[i] = " ".join(words)
    elif kind == 1 and len(out) > 8:
        del out[rng.randrange(len(out))]
    else:
        out.append(CHROME)
    return out


def build(n: int, seed: int = 1) -> tuple[list[DedupInput], dict[str, str]]:
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    weights = list(itertools.accumulate(1.0 / (rank + 10) for rank in range(len(vocab))))
    records: list[DedupInput] = []
    origin: dict[str, str] = {}  # article_id -> original story id
    originals: list[tuple[str, list[str], str]] = []
    for i in range(n):
        aid = f"{i:016x}"
        r = rng.random()
        if originals and r < 0.25:
            src_id, src, lang = rng.choice(originals)
            sentences = src if r < 0.05 else variant(rng, src, vocab)
        else:
            sentences = story(rng, vocab, weights)
            lang = "ru" if rng.random() < 0.3 else "en"
            src_id = aid
            originals.append((aid, sentences, lang))
        text = " ".join(sentences)
        records.append(
            DedupInput(
                article_id=aid,
                url=f"http://infoshos.sample.test/en/?idn={i}",
                language=lang,
                text=text,
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
                word_count=len(text.split()),
                seen_order=(f"run{i // 1000:03d}", aid),
                published_at=None,
            )
        )
        origin[aid] = src_id
    return records, origin


# The record-at-a-time helpers the clustering used before it ran over columns: the reference
# keeps them, so that ``cluster_columns``'s cluster ids and canonical members are checked too.
class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller index becomes the root: deterministic for sorted input
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def _seen_key(rec: DedupInput) -> tuple[Any, str]:
    return (rec["seen_order"], rec["article_id"])


def _canonical_key(rec: DedupInput) -> tuple[int, Any, str]:
    return (-int(rec["word_count"]), rec["seen_order"], rec["article_id"])


def _assign_cluster_ids(
    recs: Sequence[DedupInput], members: list[list[int]], previous: Mapping[str, str]
) -> list[str]:
    """One cluster id per component (see the module docstring)."""
    comp_of = {}
    for c, comp in enumerate(members):
        for i in comp:
            comp_of[recs[i]["article_id"]] = c

    # every old id present: which components carry it, and from which earliest member
    claims: dict[str, dict[int, tuple[Any, str]]] = defaultdict(dict)
    for c, comp in enumerate(members):
        for i in comp:
            old = previous.get(recs[i]["article_id"])
            if old is None:
                continue
            key = _seen_key(recs[i])
            best = claims[old].get(c)
            if best is None or key < best:
                claims[old][c] = key

    # an old id belongs to one component: the one holding its namesake article, else the
    # one whose member carrying it was seen first
    owned: dict[int, list[tuple[tuple[Any, str], str]]] = defaultdict(list)
    for old, by_comp in claims.items():
        owner = comp_of.get(old)
        if owner is None or owner not in by_comp:
            owner = min(by_comp, key=lambda c: (by_comp[c], c))
        owned[owner].append((by_comp[owner], old))

    taken = {old for claimed in owned.values() for _, old in claimed}
    ids = []
    for c, comp in enumerate(members):
        if owned.get(c):
            ids.append(min(owned[c])[1])
            continue
        # the first-seen member's id, unless an old cluster elsewhere is already called that
        by_seen = [recs[i]["article_id"] for i in sorted(comp, key=lambda i: _seen_key(recs[i]))]
        ids.append(next((a for a in by_seen if a not in taken), by_seen[0]))
    return ids


def reference_cluster_articles(
    records: Sequence[DedupInput],
    previous: Mapping[str, str] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[ClusterRow]:
    """``cluster_articles`` as it was before batching (datasketch ``MinHash.bulk`` and
    ``MinHashLSH``, one representative queried then inserted at a time): the reference the
    batched implementation must equal; its cluster ids and canonical members as they were
    chosen record by record (the helpers above)."""
    previous = previous or {}
    with gc_paused():
        recs = sorted(records, key=lambda r: r["article_id"])
        n = len(recs)
        uf = _UnionFind(n)
        by_hash: dict[str, int] = {}
        reps: list[int] = []
        for i, rec in enumerate(recs):
            first = by_hash.setdefault(rec["content_hash"], i)
            if first == i:
                reps.append(i)
            else:
                uf.union(first, i)

        def sketch(sets: list[list[int]]) -> list[MinHash]:
            return MinHash.bulk(sets, num_perm=NUM_PERM, seed=SEED, hashfunc=identity)

        sets = [shingle_hashes(recs[i]["text"]) for i in reps]
        long_reps = [(i, s) for i, (s, count) in zip(reps, sets, strict=True) if count >= MIN_WORDS]
        sketches: dict[int, MinHash] = {}
        lshs: dict[str, MinHashLSH] = {}
        lsh_threshold = max(0.05, threshold - LSH_MARGIN)
        for (i, _), mh in zip(long_reps, sketch([s for _, s in long_reps]), strict=True):
            lang = recs[i]["language"]
            lsh = lshs.get(lang)
            if lsh is None:
                lsh = lshs[lang] = MinHashLSH(threshold=lsh_threshold, num_perm=NUM_PERM)
            for other in lsh.query(mh):
                if float(mh.jaccard(sketches[other])) >= threshold:
                    uf.union(other, i)
            lsh.insert(i, mh, check_duplication=False)
            sketches[i] = mh

        groups: dict[int, list[int]] = defaultdict(list)
        for i in range(n):
            groups[uf.find(i)].append(i)
        members = list(groups.values())

        def similarity(a: int, b: int) -> float:
            for i in (a, b):
                if i not in sketches:
                    sketches[i] = sketch([shingle_hashes(recs[i]["text"])[0]])[0]
            return round(float(sketches[a].jaccard(sketches[b])), 6)

        rows: list[ClusterRow] = []
        ids = _assign_cluster_ids(recs, members, previous)
        for comp, cid in zip(members, ids, strict=True):
            canon = min(comp, key=lambda i: _canonical_key(recs[i]))
            canon_hash = recs[canon]["content_hash"]
            for i in comp:
                rec = recs[i]
                role: Role = "duplicate"
                reason: Reason
                sim = 1.0
                if i == canon:
                    role, reason = "canonical", "canonical"
                elif rec["content_hash"] == canon_hash:
                    reason = "same_content"
                else:
                    reason = "near_duplicate"
                    sim = similarity(by_hash[rec["content_hash"]], by_hash[canon_hash])
                rows.append(
                    ClusterRow(
                        cluster_id=cid,
                        article_id=rec["article_id"],
                        role=role,
                        similarity=sim,
                        reason=reason,
                    )
                )
        rows.sort(key=lambda r: (r["cluster_id"], r["role"] != "canonical", r["article_id"]))
        return rows


def timed(fn: Callable[..., T], *args: Any, **kw: Any) -> tuple[T, float]:
    start = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - start


def main(sizes: list[int]) -> None:
    print(
        f"{'articles':>9} {'ref s':>7} {'ref/s':>7} {'new s':>7} {'new/s':>7} {'speedup':>8} "
        f"{'incr s':>7} {'incr/s':>7} {'clusters':>9} {'recall':>7} {'false merges':>13}"
    )
    for n in sizes:
        records, origin = build(n)
        ref, t_ref = timed(reference_cluster_articles, records)
        rows, t_new = timed(cluster_articles, records)
        assert rows == ref, "batched clustering differs from the reference"
        # daily case: 99% of the signatures stored by earlier runs
        stored = article_signatures(records[: n - n // 100])
        start = time.perf_counter()
        sigs = article_signatures(records, stored)
        incr = cluster_articles(records, signatures=sigs)
        t_incr = time.perf_counter() - start
        assert incr == ref, "clustering with stored signatures differs from the reference"
        cluster_of = {r["article_id"]: r["cluster_id"] for r in rows}
        copies = [a for a, o in origin.items() if a != o]
        recall = sum(cluster_of[a] == cluster_of[origin[a]] for a in copies) / max(1, len(copies))
        stories: dict[str, set[str]] = defaultdict(set)
        for a, cid in cluster_of.items():
            stories[cid].add(origin[a])
        false = sum(len(s) > 1 for s in stories.values())
        print(
            f"{n:>9} {t_ref:>7.2f} {n / t_ref:>7.0f} {t_new:>7.2f} {n / t_new:>7.0f} "
            f"{t_ref / t_new:>7.1f}x {t_incr:>7.2f} {n / t_incr:>7.0f} {len(stories):>9} "
            f"{recall:>7.3f} {false:>13}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [2000, 10000, 20000])
