"""What a run keeps per article between chunks, and at its end: prints bytes per article.

    .venv/bin/python bench/keys.py [N ...]          # default: 100000 300000

Two cases per N, each in a fresh subprocess (so that one case's freed memory does not hide
the next one's):

- ``stored``: a warehouse of N stored articles (``StoredState.read`` over synthetic Arrow
  columns, no DuckDB: the keys, latest versions and MinHash signatures a run reads), a run
  over it (``RunIndex.start``) and one chunk of 2,000 pages (1,000 new articles, 500 changed,
  500 unchanged), then the end-of-run ``sign_stored`` and ``cluster``: a daily run.
- ``written``: an empty warehouse and a run writing N new articles in chunks of 2,000
  (``take``, ``plan``: each chunk's texts signed), then ``cluster``: the first run.

Printed per case: ``kept`` = bytes traced by ``tracemalloc`` (Python objects and numpy
arrays) that the state and the run's index hold before the end of the run, per article,
with the MinHash signatures (512 bytes per signed text) counted apart (``sigs``);
``cluster`` = the traced peak above that during ``sign_stored`` + ``cluster`` (results
included), per article; ``RSS`` = the growth of the process's RSS from before the state was
read to the end of the clustering, and ``peak RSS`` = its peak above the same start, per
article (Arrow buffers, which tracemalloc does not see, included; allocator slack too),
measured in another subprocess without tracemalloc (whose own records would count); with two
sizes or more, ``marginal`` is what one more article adds between the smallest and largest
(fixed costs, such as a block of signatures or a module loaded on first use, drop out).

The synthetic stored articles: 2 % exact copies, 6 % near copies (a signature differing in 20
of 128 entries), 5 % without a signature (short texts), 1 % gone, 3 % without a publication
date, three languages, a run id per 5,000 articles.
"""

from __future__ import annotations

import gc
import hashlib
import json
import random
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
import pyarrow as pa

from infoshos.flows.clean.articles import CleanOutput
from infoshos.flows.dedup import NUM_PERM, SIGNATURE_SCHEME
from infoshos.flows.state import StoredState
from infoshos.flows.stream import RunIndex
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import Warehouse

CHUNK = 2000
T0 = datetime(2020, 1, 1, tzinfo=UTC)
WORDS = [f"w{i}" for i in range(5000)]


def _hex(prefix: str, i: int, width: int) -> str:
    return hashlib.sha256(f"{prefix}{i}".encode()).hexdigest()[:width]


class SyntheticWarehouse:
    """The reads ``StoredState`` makes, answered from synthetic Arrow tables made before the
    measurement starts (the bench's own Python objects freed by then)."""

    def __init__(self, n: int, seed: int = 1) -> None:
        self.tables = _tables(n, seed)

    def read(self, table: str, columns: Sequence[str] | None = None) -> pa.Table:
        schema = TABLES[table].schema
        names = list(columns or schema.names)
        if table in self.tables:
            return self.tables[table].select(names)
        return schema.empty_table().select(names)

    def rows_by_key(
        self, table: str, key: str, values: Sequence[str], columns: Sequence[str] | None = None
    ) -> pa.Table:
        assert table == "articles" and key == "article_id"
        return pa.table({"article_id": list(values), "text": ["short text"] * len(values)})


def _tables(n: int, seed: int) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    ids = [_hex("url", i, 16) for i in range(n)]
    hashes = [_hex("text", i, 32) for i in range(n)]
    kind = rng.random(n)  # < .02: exact copy, < .08: near copy
    orig = rng.integers(0, max(1, n), n)
    cluster = list(ids)
    canonical = [True] * n
    for i in np.flatnonzero((kind < 0.08) & (orig < np.arange(n))).tolist():
        o = int(orig[i])
        if kind[i] < 0.02:
            hashes[i] = hashes[o]
        cluster[i], canonical[i] = cluster[o], False
    runs = [f"2026{m:02d}01T000000Z-{_hex('run', m, 6)}" for m in range(n // 5000 + 1)]
    published = [
        None if p < 0.03 else T0 + timedelta(seconds=int(s))
        for p, s in zip(rng.random(n), rng.integers(0, 10**8, n), strict=True)
    ]
    gone = [T0 + timedelta(days=400) if g < 0.01 else None for g in rng.random(n)]
    cols = {
        "article_id": ids,
        "content_hash": hashes,
        "first_seen_run": [runs[i // 5000] for i in range(n)],
        "gone_at": gone,
        "cluster_id": cluster,
        "is_canonical": canonical,
        "language": rng.choice(["en", "ru", "zh"], n, p=[0.45, 0.45, 0.1]).tolist(),
        "word_count": rng.integers(40, 900, n).tolist(),
        "published_at": published,
    }
    schema = TABLES["articles"].schema
    articles = pa.table({c: pa.array(v, schema.field(c).type) for c, v in cols.items()})
    twice = ids[::10]
    versions = pa.table(
        {
            "article_id": pa.array(ids + twice, pa.string()),
            "version": pa.array([1] * len(ids) + [2] * len(twice), pa.int32()),
        }
    )
    sig = rng.integers(0, 2**32, (n, NUM_PERM), dtype=np.uint32)
    for i in np.flatnonzero((kind >= 0.02) & (kind < 0.08)).tolist():
        row = sig[int(orig[i])].copy()  # a near copy: 20 of 128 entries differ
        row[:20] = sig[i, :20]
        sig[i] = row
    signed = np.flatnonzero(rng.random(n) >= 0.05).tolist()
    minhashes = pa.table(
        {
            "content_hash": pa.array([hashes[i] for i in signed], pa.string()),
            "scheme": pa.array([SIGNATURE_SCHEME] * len(signed)),
            "signature": pa.array([sig[i].tobytes() for i in signed], pa.binary()),
        }
    )
    return {"articles": articles, "article_versions": versions, "minhashes": minhashes}


def new_articles(start: int, count: int, rng: random.Random, run: str) -> list[dict[str, Any]]:
    """``count`` cleaned articles with ids ``start..``: texts of 40-120 words."""
    out = []
    for i in range(start, start + count):
        text = " ".join(rng.choices(WORDS, k=rng.randint(40, 120)))
        out.append(
            {
                "article_id": _hex("url", i, 16),
                "url": f"https://bench.test/news/{i}",
                "source": "bench",
                "language": rng.choice(["en", "ru", "zh"]),
                "title": f"title {i}",
                "published_at": T0 + timedelta(seconds=rng.randint(0, 10**8)),
                "text": text,
                "word_count": len(text.split()),
                "content_hash": hashlib.sha256(text.encode()).hexdigest()[:32],
                "page_id": f"{run}-{i}",
            }
        )
    return out


def rss(field: str = "VmRSS") -> int:
    """This process's resident set (``VmHWM``: its peak), bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as fh:  # "5": VmHWM back to the current RSS
        fh.write("5")


def measure(case: str, n: int, trace: bool) -> dict[str, Any]:
    wh = SyntheticWarehouse(n if case == "stored" else 0)
    stored_hashes = wh.read("articles", ["content_hash"])["content_hash"]
    gc.collect()
    reset_peak_rss()
    rss0 = rss()
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    rng = random.Random(7)
    run = "20270101T000000Z-bench0"
    if case == "stored":
        state = StoredState.read(cast(Warehouse, wh))
        index = RunIndex.start(state, run, False)
        chunk = new_articles(n, CHUNK // 2, rng, run)  # new
        changed = new_articles(0, CHUNK // 4, rng, run)  # stored ids, new texts
        unchanged = [
            dict(a, content_hash=stored_hashes[i].as_py())
            for i, a in enumerate(new_articles(CHUNK // 4, CHUNK // 4, rng, run), CHUNK // 4)
        ]
        chunks: Iterable[list[dict[str, Any]]] = [chunk + changed + unchanged]
        articles = n + CHUNK // 2
    else:
        state = StoredState.read(cast(Warehouse, wh))
        index = RunIndex.start(state, run, False)
        chunks = (new_articles(s, min(CHUNK, n - s), rng, run) for s in range(0, n, CHUNK))
        articles = n
    for arts in chunks:
        index.plan(state, index.take(CleanOutput(articles=arts)))
        del arts
    gc.collect()
    kept_bytes = tracemalloc.get_traced_memory()[0] if trace else 0
    sig_bytes = int(index.signatures.matrix(np.arange(len(index.signatures))).nbytes)
    t1 = time.perf_counter()
    if trace:
        tracemalloc.reset_peak()
    index.sign_stored(state)
    rows = index.cluster(state)
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    rss1, peak_rss = rss(), rss("VmHWM")
    tracemalloc.stop()
    assert len(rows) == articles, (len(rows), articles)
    return {
        "case": case,
        "n": n,
        "articles": articles,
        "kept_per_article": (kept_bytes - sig_bytes) / articles,
        "sigs_per_article": sig_bytes / articles,
        "cluster_peak_per_article": (peak - kept_bytes) / articles,
        "rss_per_article": (rss1 - rss0) / articles,
        "peak_rss_per_article": (peak_rss - rss0) / articles,
        "build_s": round(t1 - t0, 1),
        "cluster_s": round(time.perf_counter() - t1, 1),
    }


def one(case: str, n: int, how: str) -> dict[str, Any]:
    """``measure`` in a fresh subprocess."""
    args = [sys.executable, __file__, "--one", case, str(n), how]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        print(json.dumps(measure(argv[1], int(argv[2]), argv[3] == "trace")))
        return
    sizes = [int(a) for a in argv] or [100_000, 300_000]
    print(f"{'case':8} {'N':>8} {'kept B/art':>11} {'sigs B/art':>11} {'cluster B/art':>14} "
          f"{'RSS B/art':>10} {'peak RSS':>9} {'build s':>8} {'cluster s':>9}")  # fmt: skip
    metrics = (
        "kept_per_article", "sigs_per_article", "cluster_peak_per_article",
        "rss_per_article", "peak_rss_per_article",
    )  # fmt: skip
    for case in ("stored", "written"):
        done = []
        for n in sizes:
            r, untraced = (one(case, n, how) for how in ("trace", "rss"))
            r.update({k: v for k, v in untraced.items() if "rss" in k})
            done.append(r)
            print(f"{case:8} {n:>8} " + row([r[m] for m in metrics], r), flush=True)
        if len(done) > 1:  # what one more article costs, between the smallest and largest N
            a, b = done[0], done[-1]
            more = b["articles"] - a["articles"]
            grown = [(b[m] * b["articles"] - a[m] * a["articles"]) / more for m in metrics]
            print(f"{case:8} {'marginal':>8} " + row(grown), flush=True)


def row(values: list[float], r: dict[str, Any] | None = None) -> str:
    widths = (11, 11, 14, 10, 9)
    out = " ".join(f"{v:>{w}.0f}" for v, w in zip(values, widths, strict=True))
    return out + (f" {r['build_s']:>8} {r['cluster_s']:>9}" if r else "")


if __name__ == "__main__":
    main(sys.argv[1:])
