"""Who may write a warehouse: its write lock, taken by one run at a time.

A local lake is locked by an ``flock`` on ``.lock`` in its folder (the holder's pid written in
it); a shared lake (shared.py) by PostgreSQL advisory locks, one for the lake and one per source,
so that runs of different sources write side by side. A second writer waits ``wait_seconds``
(``INFOSHOS_LOCK_WAIT``), then fails with a one-line error. The locks a process holds are kept
in ``_HELD`` (held.py): a lock taken again in the same process is re-entrant.

Rules: before a lock is taken the folder is checked writable (:func:`ensure_writable`); once a
local lock is held, the catalog and the current snapshot's files are checked (integrity.py), the
files a killed run left behind (named by no snapshot, named as DuckLake names its files) are
deleted, a killed compaction's journal is recorded (checksums.py) and the catalog is copied
(catalog_copies.py). Nothing here reads or writes rows: the Warehouse's ``lock``, ``hold_lock``
and ``orphans`` methods call these functions.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from infoshos.warehouse import catalog_copies, checksums, integrity, shared
from infoshos.warehouse.held import HeldLocks
from infoshos.warehouse.store import LAKE, OWN_FILE, Warehouse, WarehouseError, _q

#: Seconds a writer waits for the lock held by another run (default 0: fail at once).
LOCK_WAIT_ENV = "INFOSHOS_LOCK_WAIT"

#: The warehouse locks this process holds: resolved root -> the open lock file (``held``).
_HELD = HeldLocks()


def lock_wait() -> float:
    """The seconds a writer waits for another run's lock (``INFOSHOS_LOCK_WAIT``)."""
    try:
        return float(os.environ.get(LOCK_WAIT_ENV, "0"))
    except ValueError:
        raise WarehouseError(f"{LOCK_WAIT_ENV} is not a number of seconds") from None


@contextlib.contextmanager
def lock(
    wh: Warehouse, wait_seconds: float = 0.0, sources: Sequence[str] | None = None
) -> Iterator[None]:
    """Hold the warehouse's write lock; a second writer waits, then fails clearly. Once
    held: the catalog and the current snapshot's files are checked, files a killed run left
    behind (named by no snapshot) are deleted, and the catalog is copied if its newest copy
    is older (again when the lock is released). Re-entrant within a process (the checks
    run once, at the first hold). In a shared lake a run locks only its ``sources`` (see
    shared.py)."""
    wh._refuse_legacy()
    if wh.location.shared:
        ensure_writable(wh)
        try:
            alone = functools.partial(delete_orphans, wh)  # called when the lake is ours alone
            with shared.writer_lock(wh.location, wait_seconds, sources, alone):
                yield
        except shared.LockBusy as exc:
            what = f"source {str(exc).split(':', 1)[1]}" if ":" in str(exc) else "the lake"
            raise WarehouseError(
                f"warehouse {wh.root}: {what} is locked by another run; "
                "try again when it has finished"
            ) from None
        return
    if _lock_key(wh) in _HELD:
        with hold_lock(wh):
            yield
        return
    ensure_writable(wh)
    with hold_lock(wh, wait_seconds):
        if wh.exists():
            if wh.checked:
                integrity.check_open(wh)
            delete_orphans(wh)
            if wh.checked:
                checksums.settle_pending(wh)
                catalog_copies.ensure_copy(wh)
        yield
        if wh.checked:
            catalog_copies.ensure_copy(wh)  # after a commit no copy followed (`sql --write`)


def _lock_key(wh: Warehouse) -> Path:
    return wh.root.resolve()


@contextlib.contextmanager
def hold_lock(wh: Warehouse, wait_seconds: float = 0.0) -> Iterator[None]:
    """Only the lock (no check, no cleanup): what ``recover`` takes on a damaged catalog."""
    key = _lock_key(wh)
    if key in _HELD:
        yield
        return
    fh = open(wh.root / ".lock", "a+")  # noqa: SIM115 - held across the yield
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseError(
                        f"warehouse {wh.root} is locked by another run; "
                        "try again when it has finished"
                    ) from None
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        with _HELD.holding(key, fh):
            yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def orphans(wh: Warehouse) -> list[str]:
    """Data files in the lake's folder that no snapshot names (a killed run's)."""
    if not wh.exists():
        return []
    con = wh.connect(read_only=False)  # DuckLake asks for it, even for a dry run
    try:
        rows = con.execute(
            f"SELECT path FROM ducklake_delete_orphaned_files({_q(LAKE)}, dry_run => true, "
            "cleanup_all => true)"
        ).fetchall()
    finally:
        con.close()
    return [str(r[0]) for r in rows]


def delete_orphans(wh: Warehouse) -> None:
    """Delete data files no snapshot names (a killed run's); only under the lock, and only
    files DuckLake itself names (``ducklake-<uuid>[-delete].parquet``): a file someone put
    in the folder by hand is left alone."""
    fs = wh.location.filesystem()
    for path in orphans(wh):
        if OWN_FILE.fullmatch(path.rsplit("/", 1)[-1]):
            with contextlib.suppress(OSError):
                fs.delete_file(wh.location.fs_path(path))


def ensure_writable(wh: Warehouse) -> None:
    """The folder, its data folder and its catalog writable, the catalog not lost, and
    enough free space (``INFOSHOS_MIN_FREE_MB``): checked before any run starts."""
    for folder in (wh.root, wh.data_path):
        try:
            if folder == wh.root:
                folder.mkdir(parents=True, exist_ok=True)
            elif not folder.is_dir():
                continue
            probe = folder / f".probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise WarehouseError(f"warehouse folder {folder} is not writable: {reason}") from exc
    if not wh.location.shared and wh.exists():
        try:
            with open(wh.catalog_path, "r+b"):
                pass
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise WarehouseError(
                f"warehouse catalog {wh.catalog_path} is not writable: {reason}"
            ) from exc
    integrity.check_free_space(wh)
