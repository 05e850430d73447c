"""`infoshos status`: the health of each source, from the warehouse alone (no Prefect, no network).

Pure functions over rows of the ``runs``, ``articles`` and ``rejects`` tables (plain dicts), so
that the verdicts can be tested on hand-made tables; :func:`read_status` reads a warehouse.

A source's verdict:

- ``never run``: no run crawled it;
- ``failing``: its last run failed, or was flagged for it (a yield alarm naming it);
- ``stale``: no successful run within :data:`STALE_FACTOR` times its schedule's interval (the
  longest gap between consecutive times of its cron ``schedule``); a source without a schedule
  is never stale;
- ``ok`` otherwise.

Exit codes of the command: 0 when no selected source is failing or stale, 1 when one is
(:data:`EXIT_UNHEALTHY`), 2 for an operator error (no warehouse, an unknown source).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from infoshos.flows.health import HISTORY

#: A source is stale after this many schedule intervals without a successful run.
STALE_FACTOR = 2.0
#: Exit code when a selected source is failing or stale.
EXIT_UNHEALTHY = 1
VERDICTS = ("ok", "stale", "failing", "never run")
UNHEALTHY = ("stale", "failing")
#: Run statuses that published the run (``flagged``: published, with a yield alarm).
PUBLISHED = ("completed", "flagged")


@dataclass
class SourceStatus:
    source: str
    verdict: str
    reason: str
    schedule: str | None = None
    last_run: datetime | None = None
    last_run_id: str | None = None
    last_run_status: str | None = None
    last_success: datetime | None = None
    newest_published: datetime | None = None
    added_1d: int = 0
    added_7d: int = 0
    yield_last: int | None = None
    yield_median: float | None = None
    rule_misses: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
        return out


def schedule_interval(cron: str, now: datetime, samples: int = 16) -> timedelta:
    """The longest gap between consecutive times of ``cron`` after ``now`` (a weekday-only
    schedule's gap is the weekend). Raises ValueError on a malformed expression."""
    from cronsim import CronSim, CronSimError

    try:
        times = CronSim(cron, now.replace(tzinfo=None))
        fires = [next(times) for _ in range(samples + 1)]
    except (CronSimError, StopIteration) as exc:
        raise ValueError(f"bad cron schedule {cron!r}: {exc}") from exc
    return max(b - a for a, b in zip(fires, fires[1:], strict=False))


def _flagged_for(run: Mapping[str, Any], source: str) -> bool:
    """A flagged run names the sources whose yield alarmed (see ``health.yield_alarms``)."""
    message = run.get("message") or ""
    return run.get("status") == "flagged" and f"source {source} " in message


def _succeeded_for(run: Mapping[str, Any], source: str) -> bool:
    return run.get("status") in PUBLISHED and not _flagged_for(run, source)


def _map(value: Any) -> dict[str, Any]:
    """A map column as a dict (Arrow gives a list of pairs)."""
    if value is None:
        return {}
    return dict(value.items()) if isinstance(value, Mapping) else dict(value)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def source_status(
    source: str,
    schedule: str | None,
    runs: Sequence[Mapping[str, Any]],
    articles: Iterable[Mapping[str, Any]],
    rejects: Iterable[Mapping[str, Any]],
    now: datetime,
) -> SourceStatus:
    """The status of one source. ``runs``: every run row (any order); ``articles``: rows with
    source, published_at and first_seen_run; ``rejects``: rows with source, reason, run_id."""
    mine = sorted(
        (r for r in runs if source in (r.get("sources") or [])),
        key=lambda r: _utc(r["started_at"]) or now,
    )
    started = {r["run_id"]: _utc(r["started_at"]) for r in runs}
    newest: datetime | None = None
    added_1d = added_7d = 0
    for art in articles:
        if art.get("source") != source:
            continue
        pub = _utc(art.get("published_at"))
        if pub is not None and (newest is None or pub > newest):
            newest = pub
        first = started.get(art.get("first_seen_run") or "")
        if first is not None:
            added_1d += first >= now - timedelta(days=1)
            added_7d += first >= now - timedelta(days=7)
    st = SourceStatus(
        source, "never run", "no run crawled it", schedule, newest_published=newest,
        added_1d=added_1d, added_7d=added_7d,
    )  # fmt: skip
    if not mine:
        return st
    last = mine[-1]
    st.last_run, st.last_run_id = _utc(last["started_at"]), last["run_id"]
    st.last_run_status = last.get("status")
    successes = [r for r in mine if _succeeded_for(r, source)]
    if successes:
        st.last_success = _utc(successes[-1]["started_at"])
    st.rule_misses = {k: int(v) for k, v in _map(last.get("rule_misses")).items() if v}
    st.rejects = dict(
        sorted(
            Counter(
                r["reason"]
                for r in rejects
                if r.get("source") == source and r.get("run_id") == last["run_id"]
            ).items()
        )
    )
    yields = _map(last.get("source_yield"))
    st.yield_last = int(yields[source]) if source in yields else None
    past = [
        int(_map(r.get("source_yield"))[source])
        for r in successes
        if r is not last and r.get("mode") == last.get("mode")
        if source in _map(r.get("source_yield"))
    ][-HISTORY:]
    st.yield_median = float(median(past)) if past else None

    if last.get("status") not in PUBLISHED:
        st.verdict, st.reason = "failing", f"the last run {last['run_id']} {last.get('status')}"
    elif _flagged_for(last, source):
        st.verdict, st.reason = "failing", f"the last run flagged it: {last.get('message')}"
    else:
        st.verdict, st.reason = "ok", "the last run succeeded"
        if schedule:
            limit = STALE_FACTOR * schedule_interval(schedule, now)
            if st.last_success is None or now - st.last_success > limit:
                since = "never" if st.last_success is None else f"not since {st.last_success:%F}"
                st.verdict = "stale"
                st.reason = f"no successful run within {_hours(limit)} ({since})"
    return st


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"


def statuses(
    sources: Mapping[str, str | None],
    runs: Sequence[Mapping[str, Any]],
    articles: Sequence[Mapping[str, Any]],
    rejects: Sequence[Mapping[str, Any]],
    now: datetime,
) -> list[SourceStatus]:
    """The status of each source of ``sources`` (name -> cron schedule or None)."""
    return [source_status(s, cron, runs, articles, rejects, now) for s, cron in sources.items()]


def exit_code(found: Iterable[SourceStatus]) -> int:
    return EXIT_UNHEALTHY if any(s.verdict in UNHEALTHY for s in found) else 0


def _when(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"


def format_text(found: Sequence[SourceStatus]) -> str:
    """One block per source, for a terminal."""
    lines = []
    for s in found:
        yield_ = "-" if s.yield_last is None else str(s.yield_last)
        if s.yield_median is not None:
            yield_ += f" (median {s.yield_median:g})"
        rejects = ", ".join(f"{k} {v}" for k, v in s.rejects.items()) or "none"
        misses = ", ".join(f"{k} {v}" for k, v in s.rule_misses.items()) or "none"
        lines += [
            f"{s.source}: {s.verdict.upper()} - {s.reason}",
            f"  last run {_when(s.last_run)} ({s.last_run_status or '-'}), "
            f"last success {_when(s.last_success)}, schedule {s.schedule or '-'}",
            f"  newest article published {_when(s.newest_published)}; "
            f"added {s.added_1d} in 1 day, {s.added_7d} in 7 days",
            f"  yield {yield_}; rule misses: {misses}; rejects of the last run: {rejects}",
        ]
    return "\n".join(lines)


def read_status(
    warehouse: Any,
    sources: Mapping[str, str | None],
    now: datetime | None = None,
) -> list[SourceStatus]:
    """The statuses from a warehouse (``infoshos.warehouse.store.Warehouse``)."""
    runs_table = warehouse.read("runs")
    runs = runs_table.to_pylist()
    articles = warehouse.read(
        "articles", columns=["source", "published_at", "first_seen_run"]
    ).to_pylist()
    rejects = warehouse.read("rejects", columns=["source", "reason", "run_id"]).to_pylist()
    return statuses(sources, runs, articles, rejects, now or datetime.now(UTC))
