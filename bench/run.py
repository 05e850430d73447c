"""Scale benchmark: the real flow over a synthetic site of N articles served by nginx.

    .venv/bin/python bench/run.py --articles 10000 [--json out.json] [--rerun] [--keep DIR]
        [--dask-workers N]

Steps: generate the site (``bench/synthetic.py``; cached per N and seed under ``--cache``), serve
it on 127.0.0.1 (``bench/serve.py``: nginx, or a ThreadingHTTPServer with a warning), write a
sources file with two sources (``bench-infoshos``, ``bench-sectsco``; ``url_map`` to the canonical
hosts, ``delay: 0``), run ``run_pipeline`` in this process (Prefect state in a temporary
PREFECT_HOME, telemetry off, the temporary API started by a warm-up flow before the clock
starts), then time the analyst queries through DuckDB (best of 3).

Printed: per stage items, seconds, items/s; the run's wall time; peak RSS (sum over this process
and all its descendants - the crawl subprocesses, Prefect's API - sampled from /proc every
0.2 s, the web server left out; getrusage maxima as a cross-check); the warehouse size and bytes
per article; the query times. ``--rerun`` runs the same sources again (unchanged site) and
records ``rerun_s``. ``--json`` writes the figures with a fixed set of keys (see ``JSON_KEYS``).
``--dask-workers N`` processes the chunks on a Dask ``LocalCluster`` of N worker processes
(``infoshos run --dask local:N``; its start is part of the run's time, its workers part of the
peak RSS), so that 1 and 2 workers can be compared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from serve import StaticSite  # noqa: E402
from synthetic import ensure_site  # noqa: E402

from infoshos.flows.cli import PREFECT_DEFAULTS  # noqa: E402
from infoshos.warehouse.schema import STAGES  # noqa: E402

DEFAULT_CACHE = Path(os.environ.get("INFOSHOS_BENCH_CACHE", "/tmp/infoshos-bench"))
JSON_KEYS = (
    "crawl_pages_per_s",
    "clean_articles_per_s",
    "dedup_articles_per_s",
    "enrich_articles_per_s",
    "load_articles_per_s",
    "total_s",
    "rerun_s",
    "peak_rss_mb",
    "warehouse_mb",
    "articles",
    "queries_ms",
)
SOURCE_NAMES = ("bench-infoshos", "bench-sectsco")

#: The analyst queries; ``$cluster`` and ``$article`` are filled in before timing.
QUERIES: dict[str, str] = {
    "per_month": """
        SELECT source, date_trunc('month', published_at) AS month, count(*) AS n
        FROM articles GROUP BY ALL ORDER BY month, source""",
    "top_persons": """
        SELECT a.year, e.name, count(*) AS mentions
        FROM mentions m JOIN entities e USING (entity_id)
        JOIN (SELECT article_id, year(published_at) AS year FROM articles) a USING (article_id)
        WHERE e.type = 'person' GROUP BY 1, 2
        QUALIFY row_number() OVER (PARTITION BY year ORDER BY mentions DESC) <= 5
        ORDER BY year, mentions DESC""",
    # the same with year() per mention (the natural spelling; the README says why not)
    "top_persons_year_per_mention": """
        SELECT year(a.published_at) AS year, e.name, count(*) AS mentions
        FROM mentions m JOIN entities e USING (entity_id) JOIN articles a USING (article_id)
        WHERE e.type = 'person' GROUP BY 1, 2
        QUALIFY row_number() OVER (PARTITION BY year ORDER BY mentions DESC) <= 5
        ORDER BY year, mentions DESC""",
    "cooccur": """
        SELECT c.iso_code, count(*) AS articles
        FROM article_countries c JOIN article_topics t USING (article_id)
        WHERE t.topic = 'terrorism' GROUP BY ALL ORDER BY articles DESC LIMIT 20""",
    "story_copies": """
        SELECT c.role, c.reason, round(c.similarity, 3) AS sim, a.source, a.url
        FROM clusters c JOIN articles a USING (article_id)
        WHERE c.cluster_id = '$cluster' ORDER BY c.role, a.url""",
    "text_search": """
        SELECT published_at, title FROM articles
        WHERE is_canonical AND text ILIKE '%counter-terrorism%' ORDER BY published_at""",
    "by_id": "SELECT * FROM articles WHERE article_id = '$article'",
}


#: Ranked searches timed like the queries (top 20 with snippets, every language).
RANKED = {"ranked_search": "counter-terrorism cooperation"}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- memory ------------------------------------------------------------------------------------
def _children_map() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss(root: int, exclude: set[int]) -> int:
    """Bytes resident in ``root`` and its descendants (subtrees of ``exclude`` left out)."""
    tree = _children_map()
    page = os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        if pid in exclude:
            continue
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(tree.get(pid, []))
    return total


class RssSampler:
    """Samples :func:`tree_rss` every ``interval`` seconds in a thread; ``peak`` in bytes."""

    def __init__(self, exclude: set[int], interval: float = 0.2) -> None:
        self.exclude = exclude
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(os.getpid(), self.exclude))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# -- setup -------------------------------------------------------------------------------------
def prefect_env(home: Path, verbose: bool) -> None:
    """Prefect state in ``home``, no telemetry, the temporary local API (no server URL)."""
    os.environ["PREFECT_HOME"] = str(home)
    os.environ.update(PREFECT_DEFAULTS)
    os.environ.pop("PREFECT_API_URL", None)
    os.environ["PREFECT_LOGGING_LEVEL"] = "INFO" if verbose else "WARNING"


#: Navigation hops a bench source follows: every list page of the largest site (the sources'
#: default, 20 hops, would stop a 100k site's paging after a few thousand articles).
LIST_DEPTH = 1_000_000


def sources_yaml(base_url: str, concurrency: int) -> str:
    base = base_url.rstrip("/")
    return f"""\
sources:
  bench-infoshos:
    spider: infoshos
    start_urls:
      - {base}/infoshos/en/news/?page=1
      - {base}/infoshos/ru/news/?page=1
      - {base}/infoshos/rss/rss_en.xml
      - {base}/infoshos/rss/rss_ru.xml
    allowed_domains: [infoshos.sample.test]
    url_map: ["{base}/infoshos/=http://infoshos.sample.test/"]
    language: [en, ru]
    encoding: windows-1251
    delay: 0
    concurrency: {concurrency}
    list_depth: {LIST_DEPTH}
  bench-sectsco:
    spider: sectsco
    start_urls:
      - {base}/sectsco/eng/news/?offset=0
      - {base}/sectsco/rus/news/?offset=0
    allowed_domains: [eng.sectsco.sample.test, rus.sectsco.sample.test]
    url_map:
      - "{base}/sectsco/eng/=https://eng.sectsco.sample.test/"
      - "{base}/sectsco/rus/=https://rus.sectsco.sample.test/"
    language: [en, ru]
    encoding: utf-8
    delay: 0
    concurrency: {concurrency}
    list_depth: {LIST_DEPTH}
"""


def warm_up_prefect() -> float:
    """Start Prefect's temporary API with an empty flow, so run times leave it out."""
    from prefect import flow

    @flow(name="bench-warm-up")
    def _noop() -> int:
        return 0

    t0 = time.perf_counter()
    _noop()
    return time.perf_counter() - t0


def folder_bytes(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        rel = path.relative_to(root).parts
        if rel and rel[0] in (".prefect", "_staging"):
            continue
        if path.is_file():
            total += path.stat().st_size
    return total


# -- queries -----------------------------------------------------------------------------------
def time_queries(warehouse: Path, repeats: int = 3) -> tuple[dict[str, float], dict[str, int]]:
    """Best-of-``repeats`` milliseconds and row counts of :data:`QUERIES`."""
    from infoshos.warehouse.catalog import connect
    from infoshos.warehouse.store import Warehouse

    con = connect(Warehouse(warehouse))
    try:
        row = con.execute(
            "SELECT cluster_id FROM clusters GROUP BY cluster_id "
            "ORDER BY count(*) DESC, cluster_id LIMIT 1"
        ).fetchone()
        cluster = row[0] if row else ""
        row = con.execute("SELECT article_id FROM articles ORDER BY article_id LIMIT 1").fetchone()
        article = row[0] if row else ""
        ms: dict[str, float] = {}
        rows: dict[str, int] = {}
        for name, sql in QUERIES.items():
            sql = sql.replace("$cluster", cluster).replace("$article", article)
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                result = con.execute(sql).fetchall()
                best = min(best, time.perf_counter() - t0)
            ms[name] = round(best * 1000, 1)
            rows[name] = len(result)
    finally:
        con.close()
    # the ranked full-text search (BM25, from the index the run built), as `infoshos search`
    from infoshos.warehouse.search import search

    for name, query in RANKED.items():
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            hits = search(Warehouse(warehouse), query)
            best = min(best, time.perf_counter() - t0)
        ms[name] = round(best * 1000, 1)
        rows[name] = len(hits)
    return ms, rows


def pair_recall(warehouse: Path, manifest: dict[str, Any]) -> dict[str, str]:
    """How many of the manifest's duplicate pairs ended in one story cluster (not timed)."""
    from infoshos.warehouse.catalog import connect
    from infoshos.warehouse.store import Warehouse

    con = connect(Warehouse(warehouse))
    try:
        rows = con.execute("SELECT url, cluster_id FROM articles").fetchall()
    finally:
        con.close()
    cluster = dict(rows)
    out = {}
    for kind in ("exact_pairs", "near_pairs"):
        pairs = manifest.get(kind) or []
        hit = sum(
            1 for a, b in pairs if cluster.get(a) is not None and cluster.get(a) == cluster.get(b)
        )
        out[kind] = f"{hit}/{len(pairs)}"
    out["stories"] = str(len(set(cluster.values())))
    return out


def _count(warehouse: Path, table: str) -> int:
    from infoshos.warehouse.catalog import connect
    from infoshos.warehouse.store import Warehouse

    con = connect(Warehouse(warehouse))
    try:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


# -- the run -----------------------------------------------------------------------------------
def call_flow(
    flow: Any,
    warehouse: Path,
    sources_file: Path,
    dask: str | None = None,
    redis: str | None = None,
) -> dict[str, Any]:
    """Run the flow; its summary also when the run is flagged (a Failed state carrying it).
    ``redis``: each source's crawl shared through that Redis (``infoshos run --redis``)."""
    state = flow(
        warehouse=str(warehouse),
        sources=list(SOURCE_NAMES),
        sources_file=str(sources_file),
        dask=dask,
        redis=redis,
        return_state=True,
    )
    summary = state.result(raise_on_failure=False)
    if not isinstance(summary, dict):
        raise RuntimeError(f"the flow failed: {state.message or summary!r}")
    if not state.is_completed():
        log(f"run {summary.get('status')}: {state.message}")
    return summary


def _rate(items: int, seconds: float) -> float:
    return round(items / seconds, 1) if seconds > 0 else 0.0


def stage_table(summary: dict[str, Any]) -> list[tuple[str, int, float, float]]:
    seconds = summary.get("stage_seconds") or {}
    items = summary.get("items") or {}
    return [
        (
            s,
            int(items.get(s, 0)),
            float(seconds.get(s, 0.0)),
            _rate(items.get(s, 0), seconds.get(s, 0.0)),
        )
        for s in STAGES
    ]


def print_stages(title: str, summary: dict[str, Any], wall: float) -> None:
    print(f"\n{title}")
    print(f"{'stage':<8} {'items':>8} {'seconds':>9} {'items/s':>10}")
    for stage, items, seconds, rate in stage_table(summary):
        print(f"{stage:<8} {items:>8} {seconds:>9.2f} {rate:>10.1f}")
    print(f"{'total':<8} {'':>8} {wall:>9.2f}   (wall time of run_pipeline)")


def run_bench(
    articles: int,
    seed: int = 7,
    cache: Path = DEFAULT_CACHE,
    rerun: bool = False,
    keep: Path | None = None,
    concurrency: int = 32,
    server: str = "nginx",
    verbose: bool = False,
    on_summary: Callable[[str, dict[str, Any]], None] | None = None,
    dask_workers: int | None = None,
    redis: str | None = None,
    around_run: Callable[[Path, Path], AbstractContextManager[object]] | None = None,
) -> dict[str, Any]:
    """Generate, serve, run the flow (twice with ``rerun``), time the queries; the figures.
    ``redis``: the crawls shared through that Redis; ``around_run(warehouse, sources_file)``:
    a context held around each timed run (``bench/scale.py`` starts more crawl workers in it:
    they are part of the peak RSS)."""

    def around() -> AbstractContextManager[object]:
        if around_run is None:
            return contextlib.nullcontext()
        return around_run(warehouse, sources_file)

    work = Path(tempfile.mkdtemp(prefix="infoshos-bench-"))
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        if any(keep.iterdir()):
            raise SystemExit(f"--keep {keep}: the folder must be empty or new")
    warehouse = (keep or work) / "warehouse"
    prefect_env(work / "prefect", verbose)

    t0 = time.perf_counter()
    site, manifest = ensure_site(articles, seed, cache, log=log)
    log(f"site ready in {time.perf_counter() - t0:.1f} s: {site} ({manifest['files']} files)")

    from infoshos.flows.pipeline import run_pipeline

    result: dict[str, Any] = {
        "articles_expected": manifest["expected_articles"],
        "dask_workers": dask_workers,
    }
    dask = f"local:{dask_workers}" if dask_workers else None
    on = f", on {dask_workers} Dask workers" if dask_workers else ""
    with StaticSite(site, prefer=server) as web:
        log(f"serving with {web.kind} at {web.base_url}")
        sources_file = (keep or work) / "bench-sources.yaml"
        sources_file.write_text(sources_yaml(web.base_url, concurrency), "utf-8")
        startup = warm_up_prefect()
        log(f"Prefect temporary API up in {startup:.1f} s (not counted)")
        ru0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with RssSampler(exclude=web.pids()) as sampler, around():
            t0 = time.perf_counter()
            first = call_flow(run_pipeline, warehouse, sources_file, dask, redis)
            total = time.perf_counter() - t0
        peak = sampler.peak
        if on_summary:
            on_summary("first", first)
        print_stages(f"first run, {articles} articles ({web.kind}{on})", first, total)
        rerun_s = None
        second: dict[str, Any] | None = None
        if rerun:
            with RssSampler(exclude=web.pids()) as sampler2, around():
                t0 = time.perf_counter()
                second = call_flow(run_pipeline, warehouse, sources_file, dask, redis)
                rerun_s = time.perf_counter() - t0
            peak = max(peak, sampler2.peak)
            print_stages("re-run (unchanged site)", second, rerun_s)
            if on_summary:
                on_summary("rerun", second)
        result["server"] = web.kind
    self_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    stored = _count(warehouse, "articles")
    wh_bytes = folder_bytes(warehouse)
    ms, rows = time_queries(warehouse)
    result["dedup_pairs"] = pair_recall(warehouse, manifest)
    stages = {s: (items, secs, rate) for s, items, secs, rate in stage_table(first)}
    result.update(
        {
            "crawl_pages_per_s": stages["crawl"][2],
            "clean_articles_per_s": stages["clean"][2],
            "dedup_articles_per_s": stages["dedup"][2],
            "enrich_articles_per_s": stages["enrich"][2],
            "load_articles_per_s": stages["load"][2],
            "total_s": round(total, 2),
            "rerun_s": round(rerun_s, 2) if rerun_s is not None else None,
            "peak_rss_mb": round(peak / 2**20, 1),
            "warehouse_mb": round(wh_bytes / 2**20, 1),
            "articles": stored,
            "queries_ms": ms,
        }
    )
    if stored != manifest["expected_articles"]:
        log(f"WARNING: {stored} articles stored, the site has {manifest['expected_articles']}")
    print(
        f"\narticles stored {stored} (manifest expects {manifest['expected_articles']});"
        f" duplicate pairs in one cluster: {result['dedup_pairs']}"
    )
    print(
        f"peak RSS {result['peak_rss_mb']:.0f} MB (sum over the process tree, /proc every 0.2 s;"
        f" getrusage max: self {self_max:.0f} MB, largest child {child_max:.0f} MB;"
        f" self before the run {ru0 / 1024:.0f} MB)"
    )
    print(
        f"warehouse {result['warehouse_mb']:.1f} MB, {wh_bytes / max(stored, 1):,.0f} bytes/article"
    )
    print(
        "queries (best of 3): "
        + ", ".join(f"{k} {v:.1f} ms ({rows[k]} rows)" for k, v in ms.items())
    )
    if rerun_s is not None and second is not None:
        print(
            f"re-run {rerun_s:.1f} s: new {second.get('articles_new')},"
            f" updated {second.get('articles_updated')}"
        )
    result["stages"] = {s: {"items": v[0], "seconds": round(v[1], 3)} for s, v in stages.items()}
    result["first_summary"] = {
        k: first.get(k) for k in ("articles_new", "duplicates", "rejects_by_reason")
    }
    if keep is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--articles", type=int, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", help="write the figures (JSON_KEYS) here")
    p.add_argument("--rerun", action="store_true", help="run again on the unchanged site")
    p.add_argument("--keep", help="keep the warehouse and sources file in this (new) folder")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help="where generated sites are kept")
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight per source")
    p.add_argument("--python-server", action="store_true", help="force the ThreadingHTTPServer")
    p.add_argument("--verbose", action="store_true", help="Prefect INFO logs (progress)")
    p.add_argument(
        "--dask-workers",
        type=int,
        metavar="N",
        help="clean and enrich on a Dask LocalCluster of N worker processes",
    )
    args = p.parse_args(argv)
    if args.articles < 10:
        p.error("--articles must be >= 10")
    if args.dask_workers is not None and args.dask_workers < 1:
        p.error("--dask-workers must be >= 1")
    result = run_bench(
        args.articles,
        seed=args.seed,
        cache=Path(args.cache),
        rerun=args.rerun,
        keep=Path(args.keep) if args.keep else None,
        concurrency=args.concurrency,
        server="python" if args.python_server else "nginx",
        verbose=args.verbose,
        dask_workers=args.dask_workers,
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({k: result[k] for k in JSON_KEYS}, indent=1) + "\n", "utf-8"
        )
        Path(args.json).with_suffix(".full.json").write_text(json.dumps(result, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
