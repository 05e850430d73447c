"""Scaling benchmark: ``bench/run.py``'s run over a synthetic site served by nginx, with K crawl
processes per source sharing a Redis frontier and the chunks processed on W Dask workers, for
each (K, W) of a small matrix; a table of per-stage figures, and a projection of the time and
cost of a million articles on N machines computed from the measured rates.

    .venv/bin/python bench/scale.py --articles 100000 [--crawl-workers 1,2] [--dask-workers 1,2]
        [--baseline] [--json out.json]
    .venv/bin/python bench/scale.py --project out.json [--basis K,W] [--usd-per-core-hour X]

Each configuration runs in a process of its own (``--one K W``: its peak RSS is its own), which
starts ``redis-server`` on 127.0.0.1 (a free port, no persistence) and stops it afterwards. The
run (``run_pipeline(redis=...)``, as ``infoshos run --redis``) resets and seeds each source's
shared crawl and crawls as one worker of it; K-1 ``infoshos crawl-worker`` processes per source
join as soon as the run has seeded that source's frontier. The processing runs on a Dask
``LocalCluster`` of W worker processes (``--dask local:W``). ``--baseline`` adds the default run:
no Redis, one crawl process per source, chunks in the run's own process.

Per configuration, the run's wall time cut in four: crawl (the crawl stage: every worker's
pages over its wall time), dedup (planning each chunk against the stored state, clustering)
and write (the ``load`` stage: page and article rows, the commit, the search index), the three
in the run's own process, and clean+enrich: the rest (cleaning and enrichment as the run
waited for them, the Dask cluster's start, the end-of-run entities and links, Prefect's
bookkeeping), in seconds and articles/s; peak RSS (the process tree: the run,
its crawl subprocesses, the crawl workers, the Dask workers, Redis, Prefect's API; nginx left
out); pages fetched by the extra crawl workers; the load average before and after.

The projection (:func:`project`; formula and assumptions in ``bench/README.md``) takes one
measured configuration (``--basis``, default the one with the most Dask workers, then crawl
workers) and is recomputed from a saved JSON by ``--project FILE``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import DEFAULT_CACHE, SOURCE_NAMES, STAGES, log, run_bench  # noqa: E402

from infoshos.flows.cli import PREFECT_DEFAULTS  # noqa: E402

#: The price of a core-hour used by default (an ASSUMPTION, not a measurement): AWS EC2
#: on-demand m7g.large (2 vCPU, 8 GiB), Linux, us-east-1, $0.0816 an hour in June 2026
#: (factualminds.com, "Amazon EC2 On-Demand Pricing ... (2026)"), i.e. $0.0408 per vCPU-hour.
USD_PER_CORE_HOUR = 0.0408
#: The sources' default politeness (``flows/sources.py``: ``delay: 1.0`` s per request per site).
POLITE_DELAY = 1.0
#: The origins (host:port) of the bench's sources, as of the real portals they imitate:
#: infoshos.sample.test, eng.sectsco.sample.test, rus.sectsco.sample.test.
ORIGINS = 3
MACHINES = (1, 2, 4, 8)
#: Seconds the run waits for the crawl workers after its own crawl ended (they end with it).
WORKER_GRACE = 120.0


# -- configurations ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    """K crawl processes per source (through Redis when ``redis``), W Dask workers (None: the
    chunks in the run's own process)."""

    crawl_workers: int
    dask_workers: int | None
    redis: bool = True

    @property
    def label(self) -> str:
        if not self.redis:
            return "default"
        return f"{self.crawl_workers},{self.dask_workers or 0}"

    def describe(self) -> tuple[str, str]:
        crawl = f"{self.crawl_workers} (Redis)" if self.redis else f"{self.crawl_workers}"
        return crawl, str(self.dask_workers) if self.dask_workers else "in process"


def matrix(crawl: Sequence[int], dask: Sequence[int], baseline: bool) -> list[Config]:
    configs = [Config(k, w) for k in crawl for w in dask]
    return ([Config(1, None, redis=False)] if baseline else []) + configs


# -- Redis and the extra crawl workers ----------------------------------------------------------
def redis_binary() -> str | None:
    return shutil.which("redis-server")


@contextlib.contextmanager
def redis_server(binary: str) -> Iterator[str]:
    """``redis-server`` on 127.0.0.1 (a free port, no persistence) in a temporary folder; its
    URL. Stopped (terminate, then kill) and its folder removed afterwards."""
    import redis

    folder = Path(tempfile.mkdtemp(prefix="infoshos-scale-redis-"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    url = f"redis://127.0.0.1:{port}/0"
    options = ["--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    with (folder / "redis.log").open("ab") as out:
        proc = subprocess.Popen(
            [binary, *options, "--dir", str(folder)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                tail = (folder / "redis.log").read_text(errors="replace")[-500:]
                raise RuntimeError(f"redis-server exited {proc.returncode}: {tail}")
            with contextlib.suppress(redis.RedisError):
                if redis.Redis.from_url(url, socket_connect_timeout=1).ping():
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server does not answer at {url}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class CrawlWorkers:
    """``extra`` ``infoshos crawl-worker`` processes per source, each source's started as soon
    as the run has seeded its frontier (claimed a key). A context: on exit it waits for them
    (they end with the crawl) and keeps their counts in ``reports``."""

    redis: str
    extra: int
    warehouse: Path
    sources_file: Path
    sources: Sequence[str] = SOURCE_NAMES
    reports: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._start_when_seeded, daemon=True)
        self._logs = Path(tempfile.mkdtemp(prefix="infoshos-scale-workers-"))

    def __enter__(self) -> CrawlWorkers:
        import redis

        from infoshos.spiders.frontier import reset_frontier

        client = redis.Redis.from_url(self.redis)
        for name in self.sources:  # a claim seen below is then this run's seeding
            reset_frontier(client, name)
        if self.extra > 0:
            self._thread.start()
        return self

    def _start_when_seeded(self) -> None:
        import redis

        from infoshos.spiders.frontier import frontier_state

        client = redis.Redis.from_url(self.redis)
        waiting = list(self.sources)
        while waiting and not self._stop.wait(0.05):
            for name in [n for n in waiting if frontier_state(client, n)["claimed"]]:
                waiting.remove(name)
                for _ in range(self.extra):
                    self._procs.append((name, *self._spawn(name)))

    def _spawn(self, source: str) -> tuple[subprocess.Popen[bytes], Path]:
        out = self._logs / f"{source}-{len(self._procs)}"
        argv = [str(Path(sys.executable).parent / "infoshos"), "crawl-worker"]
        argv += ["--redis", self.redis, "--source", source, "--sources", str(self.sources_file)]
        argv += ["--warehouse", str(self.warehouse)]
        with out.with_suffix(".out").open("wb") as stdout, out.with_suffix(".err").open("wb") as e:
            proc = subprocess.Popen(argv, stdout=stdout, stderr=e, stdin=subprocess.DEVNULL)
        return proc, out

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        for source, proc, out in self._procs:
            try:
                proc.wait(WORKER_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            lines = out.with_suffix(".out").read_text(errors="replace").strip().splitlines()
            counts: dict[str, Any] = {}
            with contextlib.suppress(ValueError, IndexError):
                counts = json.loads(lines[-1])
            report = {"source": source, "returncode": proc.returncode, "pages": counts.get("pages")}
            if proc.returncode != 0:
                err = out.with_suffix(".err").read_text(errors="replace").strip()
                report["error"] = err.splitlines()[-1] if err else "no output"
                log(f"crawl worker of {source} exited {proc.returncode}: {report['error']}")
            self.reports.append(report)
        shutil.rmtree(self._logs, ignore_errors=True)


# -- one configuration --------------------------------------------------------------------------
def figures(result: Mapping[str, Any], config: Config) -> dict[str, Any]:
    """The row of one configuration from ``run_bench``'s result (see the module docstring)."""
    stages = {s: result["stages"][s] for s in STAGES}
    secs = {s: float(v["seconds"]) for s, v in stages.items()}
    pages, articles = int(stages["crawl"]["items"]), int(result["articles"])
    processed = int(stages["clean"]["items"])
    total = float(result["total_s"])
    # the stages the run's process spends alone are disjoint slices of its wall time; the
    # clean and enrich stages are not (enrich counts the workers' busy seconds, which overlap
    # the cleaning of the next chunk): clean+enrich is the rest of the wall time
    process_s = total - secs["crawl"] - secs["dedup"] - secs["load"]
    return {
        "config": config.label,
        "crawl_workers": config.crawl_workers,
        "dask_workers": config.dask_workers,
        "redis": config.redis,
        "pages": pages,
        "articles": articles,
        "articles_expected": result["articles_expected"],
        "crawl_s": round(secs["crawl"], 2),
        "crawl_pages_per_s": round(pages / secs["crawl"], 1) if secs["crawl"] else 0.0,
        "process_s": round(process_s, 2),
        "process_articles_per_s": round(processed / process_s, 1) if process_s > 0 else 0.0,
        "dedup_s": round(secs["dedup"], 2),
        "write_s": round(secs["load"], 2),
        "total_s": round(total, 2),
        "stage_seconds": {s: round(v, 2) for s, v in secs.items()},
        "peak_rss_mb": result["peak_rss_mb"],
        "dedup_pairs": result.get("dedup_pairs"),
        "process_workers": config.dask_workers or in_process_workers(pages),
    }


def in_process_workers(pages: int) -> int:
    """Enrichment processes of a run without Dask (``flows/process.py``: a pool from
    ``POOL_MIN_PAGES`` pages on, else the run's own process)."""
    from infoshos.flows.enrich.parallel import default_workers
    from infoshos.flows.process import POOL_MIN_PAGES

    return max(1, default_workers()) if pages >= POOL_MIN_PAGES else 1


def run_one(args: argparse.Namespace, config: Config) -> dict[str, Any]:
    """Run one configuration in this process (Redis started and stopped here)."""
    made: list[CrawlWorkers] = []
    load_before = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        url = None
        if config.redis:
            binary = redis_binary()
            assert binary is not None  # checked by main before any configuration
            url = stack.enter_context(redis_server(binary))

        def around(warehouse: Path, sources_file: Path) -> CrawlWorkers:
            assert url is not None
            made.append(CrawlWorkers(url, config.crawl_workers - 1, warehouse, sources_file))
            return made[-1]

        result = run_bench(
            args.articles,
            seed=args.seed,
            cache=Path(args.cache),
            concurrency=args.concurrency,
            verbose=args.verbose,
            dask_workers=config.dask_workers,
            redis=url,
            around_run=around if config.redis else None,
        )
    row = figures(result, config)
    row["worker_pages"] = [r["pages"] for w in made for r in w.reports]
    row["worker_failures"] = [r for w in made for r in w.reports if r["returncode"] != 0]
    row["load_avg"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    return row


def run_matrix(args: argparse.Namespace, configs: Sequence[Config]) -> list[dict[str, Any]]:
    """Each configuration in a child process (``--one``); their rows. The children's output
    goes to stderr, so that stdout carries only the tables."""
    from synthetic import ensure_site

    ensure_site(args.articles, args.seed, Path(args.cache), log=log)  # before any clock
    rows = []
    env = {**PREFECT_DEFAULTS, **os.environ}  # run.py's children set them too
    with tempfile.TemporaryDirectory(prefix="infoshos-scale-") as tmp:
        for n, config in enumerate(configs):
            out = Path(tmp) / f"row-{n}.json"
            argv = [sys.executable, str(Path(__file__).resolve()), "--articles", str(args.articles)]
            argv += ["--seed", str(args.seed), "--cache", args.cache]
            argv += ["--concurrency", str(args.concurrency), "--out", str(out), "--one"]
            argv += [str(config.crawl_workers), str(config.dask_workers or 0)]
            argv += [] if config.redis else ["--no-redis"]
            argv += ["--verbose"] if args.verbose else []
            crawl, dask = config.describe()
            log(f"configuration {n + 1}/{len(configs)}: crawl workers {crawl}, Dask {dask}")
            proc = subprocess.run(argv, stdout=sys.stderr, env=env, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"configuration {config.label} failed ({proc.returncode})")
            rows.append(json.loads(out.read_text("utf-8")))
    return rows


# -- the projection ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Assumptions:
    """What the projection assumes (every figure here is an input, not a measurement)."""

    articles: int = 1_000_000
    machines: tuple[int, ...] = MACHINES
    #: cores of each machine (default: the measuring machine's)
    cores: int = 2
    usd_per_core_hour: float = USD_PER_CORE_HOUR
    #: seconds between two requests to one origin, from all workers together (0: no bound)
    delay: float = POLITE_DELAY
    origins: int = ORIGINS


def rates(row: Mapping[str, Any]) -> dict[str, float]:
    """The per-stage rates of a measured configuration that the projection scales."""
    articles = int(row["articles"])
    workers = int(row["process_workers"])
    return {
        "pages_per_article": row["pages"] / articles,
        "crawl_pages_per_s_per_machine": float(row["crawl_pages_per_s"]),
        "process_articles_per_s_per_worker": float(row["process_articles_per_s"]) / workers,
        "serial_s_per_article": (row["dedup_s"] + row["write_s"]) / articles,
    }


def project(row: Mapping[str, Any], a: Assumptions) -> list[dict[str, Any]]:
    """Hours and dollars for ``a.articles`` on each number of machines (README, "Scaling")."""
    r = rates(row)
    pages = a.articles * r["pages_per_article"]
    machine_rate = r["crawl_pages_per_s_per_machine"]
    polite = a.origins / a.delay if a.delay > 0 else math.inf
    out = []
    for n in a.machines:
        crawl_rate = min(n * machine_rate, polite)
        crawl_machines = min(n, math.ceil(polite / machine_rate)) if polite < math.inf else n
        crawl = pages / crawl_rate
        process = a.articles / (r["process_articles_per_s_per_worker"] * n * a.cores)
        serial = a.articles * r["serial_s_per_article"]
        core_hours = a.cores * (crawl_machines * crawl + n * (process + serial)) / 3600
        out.append(
            {
                "machines": n,
                "crawl_machines": crawl_machines,
                "crawl_h": crawl / 3600,
                "process_h": process / 3600,
                "serial_h": serial / 3600,
                "total_h": (crawl + process + serial) / 3600,
                "core_hours": core_hours,
                "usd": core_hours * a.usd_per_core_hour,
            }
        )
    return out


def basis_row(rows: Sequence[Mapping[str, Any]], basis: str | None) -> Mapping[str, Any]:
    """The configuration the projection starts from: ``basis`` ("K,W"), else the one with the
    most Dask workers, then the most crawl workers."""
    if basis is not None:
        for row in rows:
            if row["config"] == basis:
                return row
        raise SystemExit(
            f"--basis {basis}: measured are {', '.join(repr(r['config']) for r in rows)}"
        )
    return max(rows, key=lambda r: (r["dask_workers"] or 0, r["crawl_workers"], r["redis"]))


def projection(
    rows: Sequence[Mapping[str, Any]], a: Assumptions, basis: str | None = None
) -> dict[str, Any]:
    row = basis_row(rows, basis)
    unbounded = replace(a, delay=0.0)
    return {
        "basis": row["config"],
        "assumptions": asdict(a),
        "rates": rates(row),
        "polite": project(row, a),
        "unbounded": project(row, unbounded),
    }


# -- printing ----------------------------------------------------------------------------------
def matrix_table(rows: Sequence[Mapping[str, Any]]) -> str:
    head = (
        "| crawl workers / source | Dask workers | pages | crawl s | crawl pages/s "
        "| clean+enrich s | clean+enrich art/s | dedup s | write s | total s | peak RSS MB "
        "| extra workers' pages | load avg |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    )
    lines = [head]
    for r in rows:
        crawl, dask = Config(r["crawl_workers"], r["dask_workers"], r["redis"]).describe()
        extra = ", ".join(str(p) for p in r["worker_pages"]) or "-"
        lines.append(
            f"| {crawl} | {dask} | {r['pages']:,} | {r['crawl_s']:.1f} "
            f"| {r['crawl_pages_per_s']:,.1f} | {r['process_s']:.1f} "
            f"| {r['process_articles_per_s']:,.1f} | {r['dedup_s']:.1f} | {r['write_s']:.1f} "
            f"| {r['total_s']:.1f} | {r['peak_rss_mb']:,.0f} | {extra} "
            f"| {r['load_avg'][0]} -> {r['load_avg'][1]} |"
        )
    return "\n".join(lines)


def projection_text(p: Mapping[str, Any]) -> str:
    a, r = p["assumptions"], p["rates"]
    lines = [
        f"Projection for {a['articles']:,} articles from configuration {p['basis']}: "
        f"{r['pages_per_article']:.3f} pages/article, crawl "
        f"{r['crawl_pages_per_s_per_machine']:,.1f} pages/s per machine, clean+enrich "
        f"{r['process_articles_per_s_per_worker']:,.1f} articles/s per worker (one per core, "
        f"{a['cores']} cores a machine), serial (dedup + write) "
        f"{r['serial_s_per_article'] * 1000:.2f} ms/article; "
        f"${a['usd_per_core_hour']}/core-hour (assumed).",
    ]
    for key, title in (
        ("polite", f"polite crawl: {a['origins']} origins, 1 request per {a['delay']} s each"),
        ("unbounded", "crawl bound by the machines only (delay 0, as in the bench)"),
    ):
        lines += [
            "",
            f"{title}:",
            "",
            "| machines | crawl machines | crawl h | clean+enrich h | serial h | total h "
            "| core-hours | cost $ |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {x['machines']} | {x['crawl_machines']} | {x['crawl_h']:,.2f} "
            f"| {x['process_h']:,.2f} | {x['serial_h']:,.2f} | {x['total_h']:,.2f} "
            f"| {x['core_hours']:,.1f} | {x['usd']:,.2f} |"
            for x in p[key]
        ]
    return "\n".join(lines)


def consistency(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Disagreements between configurations (every one crawls and stores the same site)."""
    problems = []
    if len({r["pages"] for r in rows}) > 1:
        problems.append("pages differ: " + ", ".join(f"{r['config']} {r['pages']}" for r in rows))
    for r in rows:
        if r["articles"] != r["articles_expected"]:
            problems.append(f"{r['config']}: {r['articles']} of {r['articles_expected']} stored")
        for kind, found in (r.get("dedup_pairs") or {}).items():
            hit, _, total = str(found).partition("/")
            if total and hit != total:
                problems.append(f"{r['config']}: {kind} in one cluster {found}")
        if r["worker_failures"]:
            problems.append(f"{r['config']}: crawl workers failed: {r['worker_failures']}")
    return problems


def report(data: Mapping[str, Any]) -> str:
    m = data["machine"]
    return (
        f"{data['articles']:,} articles, tree {m['tree']}, {m['cores']} cores, "
        f"load average {m['load_avg'][0]} before, {m['load_avg'][1]} after\n\n"
        + matrix_table(data["rows"])
        + "\n\n"
        + projection_text(data["projection"])
    )


# -- main --------------------------------------------------------------------------------------
def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers like 1,2") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every count must be >= 1")
    return values


def _tree() -> str:
    proc = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or "unknown"


def assumptions(args: argparse.Namespace, cores: int) -> Assumptions:
    return Assumptions(
        articles=args.project_articles,
        machines=tuple(args.machines),
        cores=args.cores or cores,
        usd_per_core_hour=args.usd_per_core_hour,
        delay=args.delay,
        origins=args.origins,
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--articles", type=int, help="size of the synthetic site")
    for flag, meta, what in (
        ("--crawl-workers", "K", "crawl processes per source, sharing a Redis frontier"),
        ("--dask-workers", "W", "Dask LocalCluster worker processes"),
    ):
        p.add_argument(flag, type=_ints, default=[1, 2], metavar=f"{meta},..",
                       help=f"{what} (default 1,2)")  # fmt: skip
    p.add_argument("--baseline", action="store_true",
                   help="also the default run (no Redis, chunks in the run's process)")  # fmt: skip
    p.add_argument("--json", help="write the rows and the projection here")
    p.add_argument("--project", metavar="FILE", help="only the projection, from a saved --json")
    p.add_argument("--basis", metavar="K,W", help="the configuration the projection starts from")
    p.add_argument("--project-articles", type=int, default=1_000_000)
    p.add_argument("--machines", type=_ints, default=list(MACHINES))
    p.add_argument("--cores", type=int, help="cores per machine (default: the measured ones)")
    p.add_argument("--usd-per-core-hour", type=float, default=USD_PER_CORE_HOUR)
    p.add_argument("--delay", type=float, default=POLITE_DELAY,
                   help="seconds between requests to one origin (politeness)")  # fmt: skip
    p.add_argument("--origins", type=int, default=ORIGINS, help="origins crawled")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cache", default=str(DEFAULT_CACHE))
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--one", nargs=2, type=int, metavar=("K", "W"), help=argparse.SUPPRESS)
    p.add_argument("--no-redis", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the matrix; the figures and their projection."""
    cores = os.cpu_count() or 1
    load = round(os.getloadavg()[0], 1)
    rows = run_matrix(args, matrix(args.crawl_workers, args.dask_workers, args.baseline))
    for problem in consistency(rows):
        log(f"WARNING: {problem}")
    return {
        "articles": args.articles,
        "seed": args.seed,
        "machine": {
            "cores": cores,
            "tree": _tree(),
            "load_avg": [load, round(os.getloadavg()[0], 1)],
        },
        "rows": rows,
        "projection": projection(rows, assumptions(args, cores), args.basis),
    }


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.project:
        try:
            data = json.loads(Path(args.project).read_text("utf-8"))
            a = assumptions(args, data["machine"]["cores"])
            data["projection"] = projection(data["rows"], a, args.basis)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            p.error(f"--project {args.project}: not a bench/scale.py --json file ({exc!r})")
    elif args.articles is None or args.articles < 10:
        p.error("--articles N (>= 10) is required, or --project FILE")
    elif redis_binary() is None:
        print("bench/scale.py: redis-server is not installed (apt-get install redis-server); "
              "the crawl workers share their frontier through it", file=sys.stderr)  # fmt: skip
        return 2
    elif args.one:
        k, w = args.one
        row = run_one(args, Config(k, w or None, redis=not args.no_redis))
        Path(args.out).write_text(json.dumps(row, indent=1), "utf-8")
        return 0
    else:
        data = measure(args)
    print(report(data))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
