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

The package, one job per module:
- ``__init__.py`` (this one): ``main``, the table of subcommands (``COMMANDS``) and the one place
  an error becomes its line on stderr and its exit code (2 an operator error or a full disk,
  1 any other failure, 130 an interrupt);
- ``parser.py``: the parser and the types of the options;
- ``checks.py``: the operator-error checks run before any flow starts;
- ``environment.py``: Prefect's environment and the console log without tracebacks;
- ``commands.py``: one ``cmd_*`` per subcommand.

Rules: importing this package imports no Prefect (the commands import it lazily, after their
checks); ``main``, ``build_parser`` and ``PREFECT_DEFAULTS`` are imported from here by the console
script (``infoshos.flows.cli:main``), the tests and the benchmarks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from infoshos.flows.cli.commands import (
    cmd_compact,
    cmd_crawl_worker,
    cmd_export,
    cmd_extract,
    cmd_lake,
    cmd_migrate,
    cmd_probe,
    cmd_recover,
    cmd_report,
    cmd_reprocess,
    cmd_run,
    cmd_search,
    cmd_serve,
    cmd_serve_sample,
    cmd_snapshots,
    cmd_sources,
    cmd_sql,
    cmd_status,
    cmd_verify,
)
from infoshos.flows.cli.environment import PREFECT_DEFAULTS
from infoshos.flows.cli.parser import build_parser

if TYPE_CHECKING:
    import argparse

__all__ = ["COMMANDS", "PREFECT_DEFAULTS", "build_parser", "main"]

#: subcommand -> its implementation
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
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
