"""The `infoshos` command.

    infoshos run [--warehouse DIR] [--source NAME ...] [--start-url URL ... [--timezone TZ]]
                 [--dask ADDRESS|local[:N]]
    infoshos probe SOURCE_OR_URL [--sources FILE] [--pages N] [--timezone TZ] [--json]
    infoshos sql "SELECT ..." [--warehouse DIR] [--format table|csv|json] [--write]
    infoshos sources
    infoshos verify [--warehouse DIR] [--json]
    infoshos recover [--warehouse DIR]
    infoshos serve-sample [--port N]
    infoshos crawl-worker --redis URL (--source NAME | --start-url URL ...) [--warehouse DIR]

Operator errors (an unknown source, a malformed config, an unwritable folder, a bad URL, date or
time zone, a bad query) print one line on stderr and exit 2; ``--debug`` shows the traceback. The
options of ``run``, ``reprocess`` and ``serve`` are all checked before Prefect is imported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from prefect.states import State

DEFAULT_WAREHOUSE = "data"


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other operator error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"infoshos: error: {self.prog}: {message} (see {self.prog} --help)\n")


def _warehouse_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse",
        default=os.environ.get("INFOSHOS_WAREHOUSE", DEFAULT_WAREHOUSE),
        help="warehouse folder (default: $INFOSHOS_WAREHOUSE or ./data)",
    )


def _timezone_arg(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--timezone", metavar="TZ", help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="infoshos",
        description="Scrape, clean, deduplicate and enrich SCO news portals into Parquet + DuckDB.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="crawl, clean, deduplicate, enrich and load")
    _warehouse_arg(run)
    run.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        help="a configured source (repeatable; 'all' = every live source; "
        "default: the bundled sample site)",
    )
    run.add_argument(
        "--start-url", action="append", metavar="URL", help="crawl any site with the generic spider"
    )
    _timezone_arg(run, "with --start-url: the IANA zone of datelines without an offset (UTC)")
    run.add_argument("--sources", metavar="FILE", help="a sources YAML file (or $INFOSHOS_SOURCES)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.add_argument(
        "--full", action="store_true", help="fetch known pages again (conditional requests)"
    )
    run.add_argument(
        "--since",
        type=_date,
        metavar="YYYY-MM-DD",
        help="backfill limit: only articles published on or after this date",
    )
    run.add_argument(
        "--idn-from",
        type=_nonnegative,
        metavar="N",
        help="backfill: infoshos-style sources walk idns N..M instead of their lists",
    )
    run.add_argument("--idn-to", type=_nonnegative, metavar="M", help="end of the idn range")
    run.add_argument(
        "--idn-gap",
        type=_positive,
        metavar="K",
        help="stop the idn walk after K idns without an article (default 50)",
    )
    run.add_argument(
        "--redis",
        metavar="URL",
        help="share each source's crawl through this Redis: crawl-worker processes join it",
    )
    _dask_arg(run)

    sql = sub.add_parser("sql", help="run a SQL query against the warehouse (read-only)")
    sql.add_argument("query", help="the SQL to run")
    _warehouse_arg(sql)
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.add_argument("--write", action="store_true", help="open the lake for writing (locks it)")
    sql.add_argument(
        "--as-of",
        metavar="SNAPSHOT|TIMESTAMP",
        help="read the lake as it was at a snapshot number (see `snapshots`) or a time",
    )

    snaps = sub.add_parser("snapshots", help="list the lake's snapshots (for sql --as-of)")
    _warehouse_arg(snaps)
    snaps.add_argument("--json", action="store_true", help="print the snapshots as JSON")

    sea = sub.add_parser("search", help="ranked full-text search of the articles (BM25)")
    sea.add_argument("query", help="words to find (stemmed: English, Russian)")
    _warehouse_arg(sea)
    sea.add_argument("--language", metavar="CODE", help="only articles in this language (en, ru)")
    sea.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="only articles since")
    sea.add_argument("--limit", type=_positive, default=20, metavar="N", help="default 20")
    sea.add_argument("--json", action="store_true", help="print the hits as JSON Lines")

    lake = sub.add_parser("lake", help="show, or set, where the warehouse's lake lives")
    _warehouse_arg(lake)
    lake.add_argument("--catalog", metavar="sqlite:PATH|postgres:CONNECTION", default="")
    lake.add_argument("--data-path", metavar="DIR|s3://BUCKET/PREFIX/", default="")

    mig = sub.add_parser("migrate", help="convert a warehouse of the old snapshot store")
    _warehouse_arg(mig)

    ext = sub.add_parser("extract", help="show what the cleaning makes of pages (debugging)")
    ext.add_argument("inputs", nargs="+", metavar="PATH_OR_URL", help="files, folders, URLs")
    ext.add_argument("--source", metavar="NAME", help="use this source's site rules")
    ext.add_argument("--sources", metavar="FILE", help="a sources YAML file (or $INFOSHOS_SOURCES)")
    ext.add_argument("--format", choices=("text", "json"), default="text")
    ext.add_argument(
        "--page-timeout",
        type=_positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="seconds the cleaning of one page may take (default 60)",
    )

    exp = sub.add_parser("export", help="write a self-contained Parquet snapshot for hand-off")
    _warehouse_arg(exp)
    exp.add_argument("--to", required=True, metavar="DIR", help="the folder to create")
    exp.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published since")
    exp.add_argument("--source", action="append", metavar="NAME", help="only these sources")
    exp.add_argument("--tables", nargs="+", metavar="TABLE", help="only these tables")
    exp.add_argument("--overwrite", action="store_true", help="replace an existing export")

    rep = sub.add_parser("report", help="write a static HTML report with charts")
    _warehouse_arg(rep)
    rep.add_argument("--out", default="report.html", help="the HTML file (default report.html)")
    rep.add_argument("--markdown", action="store_true", help="print a short Markdown summary")

    cmp = sub.add_parser(
        "compact", help="merge small files; with --keep-days, expire older snapshots"
    )
    _warehouse_arg(cmp)
    cmp.add_argument(
        "--keep-days",
        type=_nonnegative_float,
        metavar="DAYS",
        help="expire snapshots older than this and delete the files only they use "
        "(default: keep every snapshot)",
    )

    ver = sub.add_parser(
        "verify",
        help="check the catalog and every data file (size, sha256); exit 1 when a problem is found",
    )
    _warehouse_arg(ver)
    ver.add_argument("--json", action="store_true", help="print the findings as JSON")

    rec = sub.add_parser(
        "recover", help="rebuild a lost or damaged catalog from its newest sound copy"
    )
    _warehouse_arg(rec)

    src = sub.add_parser("sources", help="list the configured sources, or --check a file")
    src.add_argument("--sources", metavar="FILE", help="a sources YAML file (or $INFOSHOS_SOURCES)")
    src.add_argument(
        "--check", metavar="FILE", help="validate a sources file and exit (0 ok, 2 with the error)"
    )

    srv = sub.add_parser("serve", help="run every schedule in this process (no work pool needed)")
    _warehouse_arg(srv)
    srv.add_argument("--sources", metavar="FILE", help="a sources YAML file (or $INFOSHOS_SOURCES)")

    rep2 = sub.add_parser("reprocess", help="rebuild the derived tables from the stored pages")
    _warehouse_arg(rep2)
    rep2.add_argument("--sources", metavar="FILE", help="a sources YAML file")
    _dask_arg(rep2)

    sta = sub.add_parser(
        "status",
        help="each source's health: last runs, new articles, yield, verdict "
        "(exit 1 when one is failing or stale)",
    )
    _warehouse_arg(sta)
    sta.add_argument("--source", action="append", metavar="NAME", help="only these sources")
    sta.add_argument("--sources", metavar="FILE", help="a sources YAML file (or $INFOSHOS_SOURCES)")
    sta.add_argument("--json", action="store_true", help="print the statuses as JSON")

    probe = sub.add_parser(
        "probe", help="check a source before scheduling it: crawl a few pages, store nothing"
    )
    probe.add_argument("target", metavar="SOURCE_OR_URL", help="a configured source or a URL")
    probe.add_argument(
        "--sources", metavar="FILE", help="a sources YAML file (or $INFOSHOS_SOURCES)"
    )
    probe.add_argument(
        "--pages",
        type=_positive,
        default=10,
        metavar="N",
        help="pages fetched beyond the entry points (default 10)",
    )
    _timezone_arg(probe, "the IANA zone of datelines without an offset (a URL: UTC)")
    probe.add_argument("--json", action="store_true", help="print the report as JSON")

    wrk = sub.add_parser(
        "crawl-worker", help="join a source's crawl shared through Redis (several machines)"
    )
    wrk.add_argument("--redis", required=True, metavar="URL", help="redis://HOST:PORT/DB")
    _warehouse_arg(wrk)
    wrk.add_argument("--source", metavar="NAME", help="a configured source")
    wrk.add_argument("--start-url", action="append", metavar="URL", help="a site (generic)")
    wrk.add_argument("--sources", metavar="FILE", help="a sources YAML file (or $INFOSHOS_SOURCES)")
    wrk.add_argument(
        "--lease",
        type=_positive_seconds,
        metavar="SECONDS",
        help="how long a killed worker's requests stay taken before re-queued (default 30)",
    )

    serve = sub.add_parser("serve-sample", help="serve the bundled sample site on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8800, help="port (default 8800)")
    return parser


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _nonnegative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def _positive(text: str) -> int:
    value = _nonnegative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def _check_url(url: str, option: str = "--start-url") -> str:
    """An http(s) URL with a host, or a ConfigError naming the option."""
    from infoshos.flows.sources import ConfigError

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"{option} {url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{option} {url!r} is not an http(s) URL with a host")
    return url


def _check_timezone(name: str) -> str:
    """An IANA time zone name (Europe/Moscow, Asia/Almaty, UTC), or a ConfigError."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from infoshos.flows.sources import ConfigError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"--timezone {name!r} is not an IANA time zone (e.g. Europe/Moscow, Asia/Almaty, UTC)"
        ) from None
    return name


def _check_writable(warehouse: str) -> None:
    from infoshos.warehouse.store import Warehouse

    with Warehouse(warehouse).lock():
        pass


def _hold_lock(
    warehouse: str, sources: list[str] | None = None
) -> contextlib.AbstractContextManager[None]:
    """The warehouse's lock, taken before Prefect starts and held until the run ends (the flow
    takes it again, re-entrantly): a second run started meanwhile is refused at once. Taking it
    checks the folder, the catalog, the current files' sizes and the free space. In a shared
    lake a run holds only its ``sources``' locks."""
    from infoshos.warehouse.locks import lock_wait
    from infoshos.warehouse.store import Warehouse

    return Warehouse(warehouse).lock(wait_seconds=lock_wait(), sources=sources)


class _NoTraceback(logging.Formatter):
    """A console formatter that leaves out tracebacks (``--debug`` keeps them): the failure
    ends in the CLI's one line. The record is left whole for the other handlers (Prefect's
    API log keeps the traceback)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def _console_without_tracebacks() -> None:
    """Prefect's console log without tracebacks (called once Prefect has set up logging)."""
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            console = isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            )
            if console and not isinstance(handler.formatter, _NoTraceback):
                handler.setFormatter(_NoTraceback(handler.formatter))


#: Prefect's settings for every infoshos process (the environment's own values win): no
#: telemetry, and the temporary API of a run given 3 minutes to start (Prefect's 20 s default
#: is too short on a busy 2-core machine).
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}


def _prefect_env(warehouse: str) -> None:
    """Prefect keeps its state in a folder we own and never phones home."""
    os.environ.setdefault("PREFECT_HOME", str(Path(warehouse).absolute() / ".prefect"))
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)


def _check_run(args: argparse.Namespace) -> list[str]:
    """Every option of ``run``, checked before Prefect starts its temporary API (~8 s); the
    names of the sources the run writes."""
    from infoshos.flows.sources import ConfigError, load_sources, select_sources

    for url in args.start_url or []:
        _check_url(url)
    if args.start_url and args.source:
        raise ConfigError("--start-url and --source go separately (one run each)")
    if args.timezone is not None:
        if not args.start_url:
            raise ConfigError(
                "--timezone goes with --start-url (configured sources set `timezone` in their "
                "sources file)"
            )
        _check_timezone(args.timezone)
    selected = select_sources(args.source, load_sources(args.sources))
    if (args.idn_from is None) != (args.idn_to is None):
        raise ConfigError("--idn-from and --idn-to go together")
    if args.idn_gap is not None and args.idn_from is None:
        raise ConfigError("--idn-gap needs --idn-from and --idn-to")
    if args.idn_from is not None and args.idn_from > args.idn_to:
        raise ConfigError(f"--idn-from {args.idn_from} is above --idn-to {args.idn_to}")
    if args.idn_from is not None and (
        args.start_url or not any(s.spider == "infoshos" for s in selected)
    ):
        raise ConfigError("--idn-from/--idn-to walk infoshos-style sources; none is selected")
    if args.redis is not None:
        from infoshos.flows.frontier import check_redis

        if any(s.sample for s in selected) and not args.start_url:
            raise ConfigError("--redis shares live crawls; the bundled sample site is local")
        check_redis(args.redis)
    _check_dask(args.dask)
    if args.start_url:
        from infoshos.flows.sources import adhoc_source

        selected = [adhoc_source(args.start_url, args.timezone)]
    return [s.name for s in selected]


def _dask_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dask",
        metavar="ADDRESS|local[:N]",
        help="clean and enrich the chunks on a Dask cluster: a scheduler address, or a local "
        "cluster of N worker processes (default 2; or $INFOSHOS_DASK)",
    )


def _check_dask(spec: str | None) -> None:
    """A malformed or unreachable Dask setting, in one line, before any flow starts."""
    from infoshos.flows.runner import DaskSettingError, check_dask, dask_setting
    from infoshos.flows.sources import ConfigError

    try:
        check_dask(dask_setting(spec))
    except DaskSettingError as exc:
        raise ConfigError(str(exc)) from None


def cmd_run(args: argparse.Namespace) -> int:
    sources = _check_run(args)
    with _hold_lock(args.warehouse, sources):
        _prefect_env(args.warehouse)
        from infoshos.flows.pipeline import run_pipeline

        if not args.debug:
            _console_without_tracebacks()
        state = run_pipeline(
            warehouse=args.warehouse,
            sources=args.source,
            start_urls=args.start_url,
            sources_file=args.sources,
            full=args.full,
            since=args.since,
            idn_from=args.idn_from,
            idn_to=args.idn_to,
            idn_gap=args.idn_gap,
            timezone=args.timezone,
            redis=args.redis,
            dask=args.dask,
            return_state=True,
        )
    return _report_flow(state, as_json=args.json)


def cmd_crawl_worker(args: argparse.Namespace) -> int:
    """One worker of a source's shared crawl; prints its counts as JSON, exits when the whole
    crawl is done (0), 1 when the crawl failed."""
    from infoshos.flows.frontier import Frontier, check_redis, frontier_folder, worker_name
    from infoshos.flows.sources import ConfigError, adhoc_source, load_sources, select_sources

    if bool(args.source) == bool(args.start_url):
        raise ConfigError("crawl-worker takes --source NAME or --start-url URL (one of them)")
    if args.start_url:
        source = adhoc_source([_check_url(u) for u in args.start_url])
    else:
        source = select_sources([args.source], load_sources(args.sources))[0]
        if source.sample:
            raise ConfigError(f"{source.name} is the bundled sample site, not a live source")
    check_redis(args.redis)
    folder = frontier_folder(args.warehouse, source.name)
    folder.mkdir(parents=True, exist_ok=True)
    from infoshos.flows.crawl_stage import CrawlPlan, run_crawl

    known = folder / "known.parquet"
    plan = CrawlPlan(
        source,
        list(source.start_urls),
        list(source.url_map),
        known=known if known.exists() else None,
        frontier=Frontier(args.redis, source.name, args.lease),
    )
    stats = run_crawl(plan, folder / f"{worker_name()}.parquet")
    print(json.dumps({k: v for k, v in stats.items() if k != "links_by_via"}, sort_keys=True))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from infoshos.flows.schedule import serve
    from infoshos.flows.sources import load_sources

    load_sources(args.sources)  # a malformed file fails here, in one line
    _check_dask(None)  # $INFOSHOS_DASK, which the scheduled runs use
    _check_writable(args.warehouse)
    _prefect_env(args.warehouse)
    serve(str(Path(args.warehouse).absolute()), args.sources)
    return 0


def cmd_reprocess(args: argparse.Namespace) -> int:
    from infoshos.flows.sources import load_sources
    from infoshos.warehouse.store import Warehouse

    Warehouse(args.warehouse).require()
    load_sources(args.sources)  # a malformed file fails here, in one line
    _check_dask(args.dask)
    with _hold_lock(args.warehouse):
        _prefect_env(args.warehouse)
        from infoshos.flows.pipeline import reprocess_pipeline

        if not args.debug:
            _console_without_tracebacks()
        state = reprocess_pipeline(
            warehouse=args.warehouse, sources_file=args.sources, dask=args.dask, return_state=True
        )
    return _report_flow(state, as_json=False)


def _report_flow(state: Any, as_json: bool) -> int:
    """Print a flow run's summary; a failed run (a yield alarm) exits 1 with its message."""
    final = cast("State[Any]", state)
    summary = final.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        raise summary
    print(json.dumps(summary, indent=1) if as_json else summary["text"])
    if final.is_failed():
        print(f"infoshos: error: {final.message}", file=sys.stderr)
        return 1
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    """Exit 0 when at least one article would be stored, 1 when none would, 2 on a bad option."""
    from dataclasses import replace

    from infoshos.flows.probe import format_text, run_probe, to_json
    from infoshos.flows.sources import adhoc_source, load_sources, select_sources

    if args.timezone is not None:
        _check_timezone(args.timezone)
    if "://" in args.target:
        source = adhoc_source([_check_url(args.target, "the URL")])
    else:
        source = select_sources([args.target], load_sources(args.sources))[0]
    if args.timezone is not None:
        zone, label = args.timezone, f"{args.timezone} (--timezone)"
    elif source.timezone:
        zone, label = source.timezone, f"{source.timezone} (the source's timezone)"
    elif "://" in args.target:
        zone, label = "UTC", f"UTC (no --timezone given for {source.name})"
    else:
        zone, label = None, "not set: the site rules' zone, UTC for generic pages"
    report = run_probe(replace(source, timezone=zone), args.pages, zone, label)
    print(json.dumps(to_json(report), indent=1) if args.json else format_text(report), end="")
    return report.exit_code


def cmd_sql(args: argparse.Namespace) -> int:
    from infoshos.warehouse.query import run_query
    from infoshos.warehouse.store import Warehouse

    as_of = int(args.as_of) if args.as_of and args.as_of.isdigit() else args.as_of
    sys.stdout.write(
        run_query(Warehouse(args.warehouse), args.query, args.format, args.write, as_of=as_of)
    )
    return 0


def cmd_snapshots(args: argparse.Namespace) -> int:
    from infoshos.warehouse.store import Warehouse

    snaps = Warehouse(args.warehouse).require().snapshots()
    if args.json:
        print(json.dumps(snaps, indent=1, default=str))
        return 0
    for s in snaps:
        changes = "; ".join(
            f"{k}: {', '.join(map(str, v))}" for k, v in (s["changes"] or {}).items()
        )
        print(f"{s['snapshot']:>6}  {s['time']}  {s['run_id'] or '-':24}  {changes}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from infoshos.warehouse.search import format_hits, search
    from infoshos.warehouse.store import Warehouse

    hits = search(Warehouse(args.warehouse), args.query, args.language, args.since, args.limit)
    if args.json:
        for h in hits:
            print(json.dumps(h.to_json(), ensure_ascii=False))
    else:
        sys.stdout.write(format_hits(hits))
    return 0


def cmd_lake(args: argparse.Namespace) -> int:
    """Show the lake's location; with --catalog/--data-path, write it to warehouse.yaml (a new
    lake only: the lake's files are never moved)."""
    from infoshos.warehouse.location import Location, LocationError
    from infoshos.warehouse.store import Warehouse, WarehouseError

    wh = Warehouse(args.warehouse)
    if args.catalog or args.data_path:
        try:
            loc = Location.make(wh.root, args.catalog, args.data_path)
        except LocationError as exc:
            raise WarehouseError(str(exc)) from None
        if loc != wh.location and wh.exists():
            raise WarehouseError(f"warehouse {wh.root} already has a lake; it is not moved")
        loc.save()
        wh = Warehouse(args.warehouse)
    print(json.dumps({**wh.location.describe(), "exists": wh.exists()}))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from infoshos.warehouse.migrate import LEGACY_FOLDER, migrate
    from infoshos.warehouse.store import Warehouse

    old, snap = migrate(Warehouse(args.warehouse))
    rows = ", ".join(f"{k} {v}" for k, v in sorted(snap.rows.items()) if v)
    print(f"migrated snapshot {old} into the lake (snapshot {snap.number}): {rows}")
    print(f"the old files are in {Path(args.warehouse) / LEGACY_FOLDER}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    """Exit 0 when every input gave an article, 1 when one did not (each has its row)."""
    from infoshos.flows.extract import Cleaner, format_json, format_text, read_inputs
    from infoshos.flows.sources import load_sources, select_sources

    source = select_sources([args.source], load_sources(args.sources))[0] if args.source else None
    failed = 0
    with Cleaner(args.page_timeout) as cleaner:
        for page in read_inputs(args.inputs):
            row = cleaner.clean(page, source)
            failed += row["error"] is not None
            sys.stdout.write(format_json(row) if args.format == "json" else format_text(row))
            sys.stdout.flush()
    return 1 if failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    from infoshos.flows.sources import ConfigError
    from infoshos.warehouse.export import export_snapshot
    from infoshos.warehouse.store import Warehouse

    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError as exc:
        raise ConfigError(f"--since {args.since!r} is not a date (YYYY-MM-DD)") from exc
    manifest = export_snapshot(
        Warehouse(args.warehouse),
        Path(args.to),
        since=since,
        sources=args.source,
        tables=args.tables,
        overwrite=args.overwrite,
    )
    for name, info in sorted(manifest.get("tables", {}).items()):
        print(f"{name:18} {info.get('rows', 0):>8} rows")
    print(f"exported to {args.to}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from infoshos.warehouse.report import report_markdown, write_report
    from infoshos.warehouse.store import Warehouse

    wh = Warehouse(args.warehouse)
    if args.markdown:
        print(report_markdown(wh))
        return 0
    print(f"report written to {write_report(wh, Path(args.out))}")
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    from infoshos.warehouse.maintenance import compact
    from infoshos.warehouse.store import Warehouse

    wh = Warehouse(args.warehouse).require()
    run_id = "compact-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    done = compact(wh, run_id, keep_days=args.keep_days)
    for table, (before, after) in sorted(done.items()):
        print(f"{table:18} {before} files -> {after}")
    print("nothing to compact" if not done else f"compacted {len(done)} tables")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the warehouse is sound, 1 with a line per problem, 2 when there is none."""
    from infoshos.warehouse.integrity import verify
    from infoshos.warehouse.store import Warehouse

    report = verify(Warehouse(args.warehouse))
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        for problem in report.problems:
            print(f"problem: {problem}")
        print(report.summary())
    return 0 if report.ok else 1


def cmd_recover(args: argparse.Namespace) -> int:
    from infoshos.warehouse.integrity import recover
    from infoshos.warehouse.store import Warehouse

    done = recover(Warehouse(args.warehouse))
    if done is None:
        print(f"the catalog of {args.warehouse} is sound: nothing to recover")
        return 0
    print("\n".join(done.lines()))
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from infoshos.flows.sources import load_sources, read_sources_file

    if args.check:
        checked = read_sources_file(args.check)  # ConfigError: one line, exit 2
        print(f"{args.check}: {len(checked)} sources ok ({', '.join(checked)})")
        return 0
    for src in load_sources(args.sources).values():
        where = "bundled sample site" if src.sample else ", ".join(src.start_urls)
        print(f"{src.name:18} {src.spider:9} {where}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0 when every selected source is ok (or never run), 1 when one is failing or stale."""
    from infoshos.flows.sources import ConfigError, load_sources
    from infoshos.flows.status import exit_code, format_text, read_status
    from infoshos.warehouse.store import Warehouse

    catalog = load_sources(args.sources)
    wh = Warehouse(args.warehouse).require()
    crawled = wh.read("runs", columns=["sources"]).column("sources").to_pylist()
    seen = {str(s) for row in crawled for s in row or []}
    if args.source:
        unknown = [n for n in args.source if n not in catalog and n not in seen]
        if unknown:
            raise ConfigError(f"unknown source {unknown[0]!r}; known: {', '.join(sorted(catalog))}")
        names = list(dict.fromkeys(args.source))
    else:  # every live source configured, and every source a run crawled
        names = [n for n, s in catalog.items() if not s.sample or n in seen]
        names += sorted(seen - set(names))
    schedules = {n: catalog[n].schedule if n in catalog else None for n in names}
    found = read_status(wh, schedules)
    if args.json:
        print(json.dumps([s.to_json() for s in found], indent=1))
    else:
        print(format_text(found))
    return exit_code(found)


def cmd_serve_sample(args: argparse.Namespace) -> int:
    from infoshos.spiders.sample_site.server import serve_forever

    serve_forever(args.port)
    return 0


COMMANDS = {
    "run": cmd_run,
    "sql": cmd_sql,
    "sources": cmd_sources,
    "serve": cmd_serve,
    "reprocess": cmd_reprocess,
    "export": cmd_export,
    "compact": cmd_compact,
    "snapshots": cmd_snapshots,
    "search": cmd_search,
    "migrate": cmd_migrate,
    "lake": cmd_lake,
    "extract": cmd_extract,
    "report": cmd_report,
    "serve-sample": cmd_serve_sample,
    "status": cmd_status,
    "probe": cmd_probe,
    "crawl-worker": cmd_crawl_worker,
    "verify": cmd_verify,
    "recover": cmd_recover,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from infoshos.flows.sources import ConfigError
    from infoshos.warehouse.integrity import disk_full
    from infoshos.warehouse.store import WarehouseError

    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("infoshos: interrupted", file=sys.stderr)
        return 130
    except (ConfigError, WarehouseError) as exc:
        if args.debug:
            raise
        print(f"infoshos: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one line for the operator; --debug for the traceback
        if args.debug:
            raise
        if disk_full(exc):
            print(
                f"infoshos: error: the disk is full ({_first(exc)}); free some space and run "
                "again (an interrupted run publishes nothing)",
                file=sys.stderr,
            )
            return 2
        print(f"infoshos: error: {type(exc).__name__}: {_first(exc)}", file=sys.stderr)
        return 1


def _first(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""


if __name__ == "__main__":
    sys.exit(main())
