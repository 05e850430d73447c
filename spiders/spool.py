"""Item pipeline writing spool records to Parquet (schema ``infoshos.warehouse.schema.SPOOL``).

Enabled by the ``INFOSHOS_SPOOL`` setting (the output path). Records are buffered and written
in row groups (``INFOSHOS_SPOOL_BATCH`` rows) to ``<path>.tmp`` with zstd compression; the file
is moved into place with ``os.replace`` when the spider closes, so a reader never sees a
half-written spool. A crawl that yields nothing still produces an empty file with the schema.

Parts (``INFOSHOS_SPOOL_PARTS``, a crawl worker of a shared frontier): every flush writes a
whole Parquet file ``<stem>-<n>.parquet`` next to the path (``.tmp`` then ``os.replace``), at
least every ``INFOSHOS_SPOOL_FLUSH_SECONDS``, and then sends :data:`spool_part_written`: what a
worker killed at any moment had written stays readable, and the frontier acknowledges a request
only once its records are in a part (:mod:`infoshos.spiders.frontier`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self

import pyarrow as pa
import pyarrow.parquet as pq
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from infoshos.warehouse.schema import SPOOL

REQUIRED = ("url", "source", "page_type", "fetched_at")
#: Sent (no arguments) after each flush of a spool in parts, the records buffered until then
#: being written.
spool_part_written = object()
#: The crawl stat holding why the spool could not be written.
SPOOL_ERROR = "infoshos/spool_error"


def part_paths(path: str | os.PathLike[str]) -> list[Path]:
    """The parts of a spool in parts (``<stem>-<n>.parquet``), in order."""
    path = Path(path)
    return sorted(path.parent.glob(f"{path.stem}-[0-9]*.parquet"))


def to_table(records: list[dict[str, Any]]) -> pa.Table:
    """Records (dicts with the SPOOL columns) as an Arrow table of schema SPOOL."""
    rows = []
    for record in records:
        row = {name: record.get(name) for name in SPOOL.names}
        headers = row["headers"]
        if isinstance(headers, dict):
            row["headers"] = list(headers.items())
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=SPOOL)


class SpoolWriter:
    def __init__(
        self,
        path: str | os.PathLike[str],
        batch_size: int = 200,
        crawler: Crawler | None = None,
        parts: bool = False,
        flush_seconds: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self.crawler = crawler
        self.parts = parts
        self.flush_seconds = flush_seconds
        self.part = 0
        self._loop: Any = None
        self.tmp_path = self.path.with_name(self.path.name + ".tmp")
        self.batch_size = max(1, int(batch_size))
        self.buffer: list[dict[str, Any]] = []
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        path = crawler.settings.get("INFOSHOS_SPOOL")
        if not path:
            raise NotConfigured("INFOSHOS_SPOOL is not set")
        s = crawler.settings
        return cls(
            path,
            s.getint("INFOSHOS_SPOOL_BATCH", 200),
            crawler,
            s.getbool("INFOSHOS_SPOOL_PARTS"),
            s.getfloat("INFOSHOS_SPOOL_FLUSH_SECONDS", 1.0),
        )

    def open_spider(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.parts:
            if self._loop is None:
                from twisted.internet import task

                self._loop = task.LoopingCall(self.flush)
                self._loop.start(self.flush_seconds, now=False)
            return
        self.writer = pq.ParquetWriter(str(self.tmp_path), SPOOL, compression="zstd")

    def write_part(self) -> None:
        """The buffer as the next part file (none when empty), then the signal."""
        if self.buffer:
            self.part += 1
            path = self.path.with_name(f"{self.path.stem}-{self.part:05d}.parquet")
            tmp = path.with_name(path.name + ".tmp")
            table = to_table(self.buffer)
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, path)
            self.rows += table.num_rows
            self.buffer = []
        if self.crawler is not None:
            self.crawler.signals.send_catch_log(spool_part_written)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        missing = [k for k in REQUIRED if item.get(k) is None]
        if missing:
            raise ValueError(f"spool record without {', '.join(missing)}: {item.get('url')}")
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def _failed(self, exc: OSError) -> None:
        """Remember why the spool could not be written (a full disk, a read-only folder): the
        crawl reports it in its one error line (``infoshos/spool_error``)."""
        reason = f"{exc.strerror or exc} ({exc.filename or self.path})"
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.set_value(SPOOL_ERROR, reason)

    def flush(self) -> None:
        try:
            self._flush()
        except OSError as exc:
            self._failed(exc)
            raise

    def _flush(self) -> None:
        if self.parts:
            self.write_part()
            return
        if not self.buffer:
            return
        if self.writer is None:
            self.open_spider()
        assert self.writer is not None
        table = to_table(self.buffer)
        self.writer.write_table(table)
        self.rows += table.num_rows
        self.buffer = []

    def close_spider(self) -> None:
        try:
            self._close()
        except OSError as exc:
            self._failed(exc)
            raise

    def _close(self) -> None:
        if self.parts:
            if self._loop is not None and self._loop.running:
                self._loop.stop()
            self.write_part()
            return
        self.flush()
        if self.writer is None:
            self.open_spider()
        assert self.writer is not None
        self.writer.close()
        self.writer = None
        os.replace(self.tmp_path, self.path)
