"""The lake's maintenance, ``infoshos compact``: DuckLake's own rewriting and merging of data
files and, with ``--keep-days``, the expiry of old snapshots and of the files only they named.

Rules: under the write lock; no row changes (one new snapshot: readers see the old files or the
new ones); every file's checksum is checked before anything is rewritten and the files written
are recorded after (checksums.py; see :func:`compact`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infoshos.warehouse import catalog_copies, checksums
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import LAKE, Warehouse, _file_counts, _q


def compact(
    wh: Warehouse, run_id: str, keep_days: float | None = None
) -> dict[str, tuple[int, int]]:
    """DuckLake's own maintenance, under the lock: rewrite files with many deleted rows, merge
    small adjacent files (one new snapshot; readers see the old files or the new ones), then,
    with ``keep_days``, expire the snapshots older than that and delete the files only they
    named. Every current file's sha256 is checked first (a changed file is refused, naming it);
    the files written are hashed into a journal before the commit and recorded in ``_files``
    right after (DuckLake's compaction cannot change a table in its own transaction). Returns
    ``{table: (files before, files after)}`` for the tables changed."""
    with wh.lock():
        con = wh.connect(read_only=False)
        try:
            if wh.checked:
                checksums.ensure_files_table(con)
                checksums.check_checksums(wh, con)
            before = _file_counts(con)
            con.execute("BEGIN")
            con.execute(f"CALL ducklake_rewrite_data_files({_q(LAKE)})")
            con.execute(f"CALL ducklake_merge_adjacent_files({_q(LAKE)})")
            written = (
                checksums.hashed(checksums.unrecorded(con, wh.catalog_path, wh.data_path))
                if wh.checked
                else []
            )
            if written:
                checksums.write_pending(wh, written)
            con.execute("COMMIT")
            if keep_days is not None:
                cutoff = datetime.now(UTC) - timedelta(days=keep_days)
                con.execute(
                    f"CALL ducklake_expire_snapshots({_q(LAKE)}, older_than => ?::TIMESTAMPTZ)",
                    [cutoff],
                )
                con.execute(f"CALL ducklake_cleanup_old_files({_q(LAKE)}, cleanup_all => true)")
            after = _file_counts(con)
        finally:
            con.close()
        if wh.checked:
            _record_compaction(wh, run_id)
    return {t: (before[t], after[t]) for t in TABLES if before[t] != after[t]}


def _record_compaction(wh: Warehouse, run_id: str) -> None:
    """Record the compaction's files from its journal and drop the rows of files no retained
    snapshot names any more (one snapshot, only when something changes)."""
    pending = checksums.read_pending(wh)
    con = wh.connect(read_only=False)
    try:
        con.execute("BEGIN")
        have = checksums.recorded(con)
        n = checksums.record(con, [e for e in pending if e[0] not in have])
        n += checksums.prune_records(con, wh.catalog_path, wh.data_path)
        if n:
            con.execute(f"CALL {LAKE}.set_commit_message('infoshos', {_q(run_id)})")
        con.execute("COMMIT")
    finally:
        con.close()
    (wh.root / checksums.PENDING).unlink(missing_ok=True)
    catalog_copies.save_copy(wh)
