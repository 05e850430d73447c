"""Writers sharing one lake through a PostgreSQL catalog: advisory locks and commit order.

A run into a shared lake holds the lake's lock *shared* and its sources' locks *exclusive*, so
runs of different sources write at once (from any machine) while two runs of one source, or a
run and a whole-lake job (``compact``, ``sql --write``, a re-process), never do. Files a killed
run left behind are deleted only by a writer that got the lake's lock exclusive: nobody else's
uncommitted files can be among them. Writers take their locks one at a time (the ``opening``
lock, held for a moment): a run that starts while another is getting the lake to itself to
delete such files waits for it, rather than being refused as if a whole-lake job held the lake.

Commits go one at a time (the ``commit`` lock, held for a moment): a run's decisions (dedup
against the stored articles, entity merges, translation links) were made on the snapshot it
read, so it commits only if that snapshot is still the latest, and otherwise is told so
(:class:`LakeMoved`) and replays its processing on the new snapshot (its crawl is kept). A
replay holds the commit lock throughout, so it cannot lose again.

The locks are PostgreSQL session advisory locks, taken through DuckDB's postgres extension on a
connection kept in one open transaction (the extension's pool resets a connection it gets
back). A killed writer's connection closes, and PostgreSQL releases its locks.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb

from infoshos.warehouse import extensions
from infoshos.warehouse.held import HeldLocks
from infoshos.warehouse.location import Location

#: How long a commit waits for another writer's commit (they take seconds).
COMMIT_WAIT = 600.0
#: How long a writer waits for another one taking its locks (and deleting a killed run's files).
OPENING_WAIT = 600.0
POLL = 0.1


class LockBusy(Exception):
    """A lock another writer holds (the caller words the message)."""


class LakeMoved(Exception):
    """Another writer committed after this run read the lake: nothing was published."""


def _connect(loc: Location) -> duckdb.DuckDBPyConnection:
    con = extensions.load(extensions.connect(), "postgres_scanner")
    try:
        con.execute(f"ATTACH {_literal(loc.dsn)} AS pg (TYPE postgres, READ_ONLY)")
    except duckdb.Error:
        con.close()
        raise
    return con


def _literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def query(loc: Location, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` run in the catalog's PostgreSQL database (a connection of its own)."""
    con = _connect(loc)
    try:
        return con.execute("SELECT * FROM postgres_query('pg', ?)", [sql]).fetchall()
    finally:
        con.close()


def snapshot_id(loc: Location) -> int:
    """The latest snapshot of the lake (0 before its catalog exists)."""
    if query(loc, "SELECT to_regclass('ducklake_snapshot')::text") == [(None,)]:
        return 0
    rows = query(loc, "SELECT max(snapshot_id) FROM ducklake_snapshot")
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def has_table(loc: Location, table: str) -> bool:
    """Whether the lake's current snapshot has ``table`` (False before the catalog exists)."""
    if query(loc, "SELECT to_regclass('ducklake_table')::text") == [(None,)]:
        return False
    rows = query(
        loc,
        "SELECT count(*) FROM ducklake_table WHERE end_snapshot IS NULL "
        f"AND table_name = {_literal(table)}",
    )
    return bool(rows and rows[0][0])


def lock_key(loc: Location, name: str) -> int:
    """A lock's 64-bit key: the lake (catalog and data path) and the lock's name."""
    digest = hashlib.sha256(f"{loc.catalog}\0{loc.data_path}\0{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Session:
    """A PostgreSQL session holding advisory locks until :meth:`close`."""

    def __init__(self, loc: Location) -> None:
        self.loc = loc
        self.con = _connect(loc)
        self.con.execute("BEGIN")  # keeps one backend (and its locks) for this session

    def _call(self, function: str, name: str) -> bool:
        sql = f"SELECT {function}({lock_key(self.loc, name)})"
        row = self.con.execute("SELECT * FROM postgres_query('pg', ?)", [sql]).fetchone()
        return bool(row and row[0])

    def try_lock(self, name: str, shared: bool = False) -> bool:
        return self._call("pg_try_advisory_lock" + ("_shared" if shared else ""), name)

    def unlock(self, name: str, shared: bool = False) -> None:
        self._call("pg_advisory_unlock" + ("_shared" if shared else ""), name)

    def wait(self, name: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.try_lock(name):
            if time.monotonic() >= deadline:
                raise LockBusy(name)
            time.sleep(POLL)

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.execute("ROLLBACK")
        self.con.close()


@contextlib.contextmanager
def writer_lock(
    loc: Location,
    wait_seconds: float,
    sources: Sequence[str] | None,
    alone: Any,
) -> Iterator[None]:
    """Hold the lake's lock (shared with ``sources``, the run's sources; else exclusive) and the
    sources' locks, waiting up to ``wait_seconds``; ``alone()`` is called when this writer got
    the lake to itself for a moment (to delete a killed run's files). Raises LockBusy with the
    name of the lock another writer holds. Re-entrant within a process: locks this process
    already holds (the whole lake, or these sources) are not taken again."""
    key = loc.catalog + "\0" + loc.data_path
    names = [f"source:{s}" for s in sorted(set(sources or ()))]
    if _HELD.covered(key, lambda held: held is None or bool(names and set(names) <= held)):
        yield
        return
    session = Session(loc)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            session.wait("opening", OPENING_WAIT)
            try:
                busy = _take(session, names, alone)
            finally:
                session.unlock("opening")
            if busy is None:
                break
            if time.monotonic() >= deadline:
                raise LockBusy(busy)
            time.sleep(POLL)
        with _HELD.holding(key, set(names) if names else None):
            yield
    finally:
        session.close()


#: The writer locks this process holds: lake -> its sources' lock names (None: the whole lake).
_HELD = HeldLocks()


def _take(session: Session, names: list[str], alone: Any) -> str | None:
    """Try every lock once; None when all are held, else the busy one (none kept)."""
    if session.try_lock("lake"):
        alone()
        if names:  # keep the lake shared: other sources' runs may start
            session.try_lock("lake", shared=True)
            session.unlock("lake")
    elif not names or not session.try_lock("lake", shared=True):
        return "lake"
    for n, name in enumerate(names):
        if not session.try_lock(name):
            for held in names[:n]:
                session.unlock(held)
            session.unlock("lake", shared=bool(names))
            return name
    return None


_commit_depth = threading.local()


@contextlib.contextmanager
def commit_lock(loc: Location, wait_seconds: float = COMMIT_WAIT) -> Iterator[None]:
    """Commits to the lake one at a time (re-entrant within a thread: a replay holds it across
    its commit)."""
    held: dict[str, int] = getattr(_commit_depth, "held", {})
    _commit_depth.held = held
    key = loc.catalog + "\0" + loc.data_path
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    session = Session(loc)
    try:
        session.wait("commit", wait_seconds)
        held[key] = 1
        try:
            yield
        finally:
            held[key] = 0
    finally:
        session.close()
