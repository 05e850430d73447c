"""The operator-error checks that run before any flow starts.

Each check answers a bad URL, time zone, option combination, sources file, Dask setting or
warehouse folder with a ``ConfigError`` or a ``WarehouseError`` (``main`` prints its one line and
exits 2). A warehouse's lock is taken here too, before Prefect starts, so that a second run is
refused at once.

Rules:
- Never import Prefect, nor a module that does: Prefect without a server starts a temporary API
  (~8 s), and an operator error must answer before it (tests/e2e/test_cli_errors.py checks that
  PREFECT_HOME is never created). Our own modules are imported inside the functions, so that
  ``infoshos --help`` and a usage error import nothing.
- A check raises; it never prints or exits.
"""

from __future__ import annotations

import argparse
import contextlib
from urllib.parse import urlsplit


def check_url(url: str, option: str = "--start-url") -> str:
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


def check_timezone(name: str) -> str:
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


def check_writable(warehouse: str) -> None:
    from infoshos.warehouse.store import Warehouse

    with Warehouse(warehouse).lock():
        pass


def hold_lock(
    warehouse: str, sources: list[str] | None = None
) -> contextlib.AbstractContextManager[None]:
    """The warehouse's lock, taken before Prefect starts and held until the run ends (the flow
    takes it again, re-entrantly): a second run started meanwhile is refused at once. Taking it
    checks the folder, the catalog, the current files' sizes and the free space. In a shared
    lake a run holds only its ``sources``' locks."""
    from infoshos.warehouse.locks import lock_wait
    from infoshos.warehouse.store import Warehouse

    return Warehouse(warehouse).lock(wait_seconds=lock_wait(), sources=sources)


def check_run(args: argparse.Namespace) -> list[str]:
    """Every option of ``run``, checked before Prefect starts its temporary API (~8 s); the
    names of the sources the run writes."""
    from infoshos.flows.sources import ConfigError, load_sources, select_sources

    for url in args.start_url or []:
        check_url(url)
    if args.start_url and args.source:
        raise ConfigError("--start-url and --source go separately (one run each)")
    if args.timezone is not None:
        if not args.start_url:
            raise ConfigError(
                "--timezone goes with --start-url (configured sources set `timezone` in their "
                "sources file)"
            )
        check_timezone(args.timezone)
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
    check_dask(args.dask)
    if args.start_url:
        from infoshos.flows.sources import adhoc_source

        selected = [adhoc_source(args.start_url, args.timezone)]
    return [s.name for s in selected]


def check_dask(spec: str | None) -> None:
    """A malformed or unreachable Dask setting, in one line, before any flow starts."""
    from infoshos.flows.runner import DaskSettingError, check_dask, dask_setting
    from infoshos.flows.sources import ConfigError

    try:
        check_dask(dask_setting(spec))
    except DaskSettingError as exc:
        raise ConfigError(str(exc)) from None
