"""The lake's write amplification and search speed, measured through the warehouse's own API.

Builds a warehouse of ``--articles`` synthetic articles (about 340 words, 1.7 KB, each, in English
and Russian), then commits a "daily run" that adds ``--daily`` (default 1 %) new articles and
updates as many existing ones, and prints the bytes that run wrote next to the warehouse's size.
Also prints: an unchanged re-upsert of every article (bytes written, seconds), the time to build
the search index, to bring it up to date after each of the two runs, and the best-of-5 time of a
ranked search. Figures only; nothing is asserted.

    .venv/bin/python bench/lake.py --articles 100000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from infoshos.warehouse.search import build, index, search
from infoshos.warehouse.store import Warehouse

WORDS_EN = [
    "security",
    "cooperation",
    "ministers",
    "summit",
    "trade",
    "energy",
    "council",
    "meeting",
    "declaration",
    "terrorism",
    "agreement",
    "forum",
    "delegation",
    "economic",
    "region",
    "partnership",
]
WORDS_RU = [
    "безопасность",
    "сотрудничество",
    "министры",
    "саммит",
    "торговля",
    "энергетика",
    "совет",
    "встреча",
    "декларация",
    "терроризм",
    "соглашение",
    "форум",
    "делегация",
    "экономика",
    "регион",
]
CHUNK = 5000


def _word(n: int) -> str:
    """A pseudo-word of letters only (the FTS tokenizer drops digits)."""
    out = "q"
    while True:
        n, r = divmod(n, 26)
        out += "abcdefghijklmnopqrstuvwxyz"[r]
        if n == 0:
            return out


def _text(i: int, version: int) -> str:
    """About 340 words: a Zipf-like draw from 30,000 pseudo-words, one topical word
    (English or Russian) in sixty, so that a query term matches some articles, not all."""
    words = WORDS_RU if i % 3 == 0 else WORDS_EN
    digest = hashlib.blake2b(f"{i}-{version}".encode(), digest_size=64).digest()
    out = []
    for n in range(340):
        b = digest[n % 64] * 256 + digest[(n * 7 + 3) % 64] + n * 7919
        if b % 60 == 0:
            out.append(words[(b // 60) % len(words)])
        else:
            out.append(_word(int(30000 ** ((b % 99991) / 99991))))
    return " ".join(out)


def articles(ids: range, version: int = 1) -> pa.Table:
    base = datetime(2015, 1, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = [
        {
            "article_id": f"a{i:07d}",
            "url": f"http://bench.test/{i}",
            "source": f"s{i % 4}",
            "language": "ru" if i % 3 == 0 else "en",
            "title": f"Article {i}",
            "text": _text(i, version),
            "content_hash": f"h{i}-{version}",
            "cluster_id": f"a{i:07d}",
            "published_at": base + timedelta(hours=i),
            "run_id": f"bench-{version}",
        }
        for i in ids
    ]
    return pa.Table.from_pylist(rows)


def lake_bytes(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_size for p in (root / "lake").rglob("*.parquet")}


def upsert_run(wh: Warehouse, run_id: str, parts: list[range], version: int) -> float:
    t0 = time.perf_counter()
    with wh.lock():
        tx = wh.transaction(run_id)
        for ids in parts:
            for start in range(ids.start, ids.stop, CHUNK):
                tx.upsert("articles", articles(range(start, min(start + CHUNK, ids.stop)), version))
        tx.commit()
    return time.perf_counter() - t0


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return round(time.perf_counter() - t0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--daily", type=float, default=0.01, help="share added and updated")
    parser.add_argument("--warehouse", type=Path, help="default: a temporary folder")
    args = parser.parse_args()
    root = args.warehouse or Path(tempfile.mkdtemp(prefix="lake-bench-"))
    wh = Warehouse(root)
    n = args.articles
    result: dict[str, Any] = {"articles": n}
    t0 = time.perf_counter()
    with wh.lock():
        tx = wh.transaction("bench-load")
        for start in range(0, n, CHUNK):
            tx.append("articles", articles(range(start, min(start + CHUNK, n))))
        tx.commit()
    result["load_s"] = round(time.perf_counter() - t0, 1)
    before = lake_bytes(root)
    result["warehouse_bytes"] = sum(before.values())
    result["index_build_s"] = _timed(lambda: build(wh))

    seconds = upsert_run(wh, "bench-same", [range(0, n)], 1)
    same = {p: b for p, b in lake_bytes(root).items() if p not in before}
    result["unchanged_upsert_all"] = {
        "bytes": sum(same.values()),
        "s": round(seconds, 1),
        "index_s": _timed(lambda: index(wh)),  # articles unchanged: re-stamped only
    }

    k = max(1, int(n * args.daily))
    before = lake_bytes(root)
    seconds = upsert_run(wh, "bench-daily", [range(n - k, n + k)], 2)  # k updated, k new
    written = sum(b for p, b in lake_bytes(root).items() if p not in before)
    result["daily_run"] = {
        "new": k,
        "updated": k,
        "bytes_written": written,
        "share_of_warehouse": round(written / result["warehouse_bytes"], 4),
        "s": round(seconds, 1),
        "index_s": _timed(lambda: index(wh)),  # articles changed: rebuilt
    }
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        hits = search(wh, "security cooperation", limit=20)
        best = min(best, time.perf_counter() - t0)
    result["search_top20_ms"] = round(best * 1000, 1)
    result["search_hits"] = len(hits)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
