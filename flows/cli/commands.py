"""The commands of ``infoshos``: one ``cmd_*`` per subcommand, from its parsed options to its
output and exit code.

Rules:
- Thin: a command checks its options (``checks.py``), calls the flow or the warehouse function
  that does the work, and prints the result; the work itself lives in ``flows/`` and
  ``warehouse/``.
- Every import of a flow module is inside the command, after its checks, and a command that
  starts a flow sets Prefect's environment first (``environment.prefect_env``): Prefect is never
  imported before the operator's errors are answered.
- Errors are raised (``ConfigError``, ``WarehouseError``, ...), never printed here: ``main``
  turns each into its one line and exit code. A command returns its exit code (each says what
  its 0 and 1 mean).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from infoshos.flows.cli.checks import (
    check_dask,
    check_run,
    check_timezone,
    check_url,
    check_writable,
    hold_lock,
)
from infoshos.flows.cli.environment import console_without_tracebacks, prefect_env

if TYPE_CHECKING:
    from prefect.states import State

#: The options of ``run`` that ``run_pipeline`` takes as they are, under the same name.
RUN_OPTIONS = ("full", "since", "idn_from", "idn_to", "idn_gap", "timezone", "redis", "dask")


def cmd_run(args: argparse.Namespace) -> int:
    sources = check_run(args)
    with hold_lock(args.warehouse, sources):
        prefect_env(args.warehouse)
        from infoshos.flows.pipeline import run_pipeline

        if not args.debug:
            console_without_tracebacks()
        state = run_pipeline(
            warehouse=args.warehouse,
            sources=args.source,
            start_urls=args.start_url,
            sources_file=args.sources,
            **{name: getattr(args, name) for name in RUN_OPTIONS},
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
        source = adhoc_source([check_url(u) for u in args.start_url])
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
    check_dask(None)  # $INFOSHOS_DASK, which the scheduled runs use
    check_writable(args.warehouse)
    prefect_env(args.warehouse)
    serve(str(Path(args.warehouse).absolute()), args.sources)
    return 0


def cmd_reprocess(args: argparse.Namespace) -> int:
    from infoshos.flows.sources import load_sources
    from infoshos.warehouse.store import Warehouse

    Warehouse(args.warehouse).require()
    load_sources(args.sources)  # a malformed file fails here, in one line
    check_dask(args.dask)
    with hold_lock(args.warehouse):
        prefect_env(args.warehouse)
        from infoshos.flows.pipeline import reprocess_pipeline

        if not args.debug:
            console_without_tracebacks()
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
        check_timezone(args.timezone)
    if "://" in args.target:
        source = adhoc_source([check_url(args.target, "the URL")])
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
    from infoshos.warehouse.recover import recover
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
