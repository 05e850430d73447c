"""The ``infoshos`` command line: the parser of every subcommand and the types of its options.

Rules:
- Parsing only: nothing here reads a file, a warehouse or the network, and nothing imports
  Prefect. What argparse can check alone (a date, a count, a number of seconds, a choice) it
  checks here, as an argument type; what needs a file, a folder or a server is in ``checks.py``.
- A usage error is one line on stderr naming the subcommand and its ``--help``, exit 2, like
  every other operator error.
- The help texts are the user's documentation of each option: change them with the README.
"""

from __future__ import annotations

import argparse
import os
from datetime import date
from typing import NoReturn

from infoshos.spiders.crawl import finite_number as _number

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


def _sources_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sources", metavar="FILE", help="a sources YAML file (or $INFOSHOS_SOURCES)"
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
    _sources_arg(run)
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
    _sources_arg(ext)
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
    _sources_arg(src)
    src.add_argument(
        "--check", metavar="FILE", help="validate a sources file and exit (0 ok, 2 with the error)"
    )

    srv = sub.add_parser("serve", help="run every schedule in this process (no work pool needed)")
    _warehouse_arg(srv)
    _sources_arg(srv)

    rep2 = sub.add_parser("reprocess", help="rebuild the derived tables from the stored pages")
    _warehouse_arg(rep2)
    _sources_arg(rep2)
    _dask_arg(rep2)

    sta = sub.add_parser(
        "status",
        help="each source's health: last runs, new articles, yield, verdict "
        "(exit 1 when one is failing or stale)",
    )
    _warehouse_arg(sta)
    sta.add_argument("--source", action="append", metavar="NAME", help="only these sources")
    _sources_arg(sta)
    sta.add_argument("--json", action="store_true", help="print the statuses as JSON")

    probe = sub.add_parser(
        "probe", help="check a source before scheduling it: crawl a few pages, store nothing"
    )
    probe.add_argument("target", metavar="SOURCE_OR_URL", help="a configured source or a URL")
    _sources_arg(probe)
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
    _sources_arg(wrk)
    wrk.add_argument(
        "--lease",
        type=_positive_seconds,
        metavar="SECONDS",
        help="how long a killed worker's requests stay taken before re-queued (default 30)",
    )

    serve = sub.add_parser("serve-sample", help="serve the bundled sample site on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8800, help="port (default 8800)")
    return parser


def _dask_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dask",
        metavar="ADDRESS|local[:N]",
        help="clean and enrich the chunks on a Dask cluster: a scheduler address, or a local "
        "cluster of N worker processes (default 2; or $INFOSHOS_DASK)",
    )


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
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def _positive(text: str) -> int:
    value = _nonnegative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def _positive_seconds(text: str) -> float:
    value = _number(text, "a number of seconds")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value
