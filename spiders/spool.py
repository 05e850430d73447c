"""Item pipeline writing spool records to Parquet (schema ``infoshos.warehouse.schema.SPOOL``).

Enabled by the ``INFOSHOS_SPOOL`` setting (the output path). Records are buffered and written
in row groups (``INFOSHOS_SPOOL_BATCH`` rows) to ``<path>.tmp`` with zstd compression; the file
is moved into place with ``os.replace`` when the spider closes, so a reader never sees a
half-written spool. A crawl that yields nothing still produces an empty file with the schema.
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
    def __init__(self, path: str | os.PathLike[str], batch_size: int = 200) -> None:
        self.path = Path(path)
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
        return cls(path, crawler.settings.getint("INFOSHOS_SPOOL_BATCH", 200))

    def open_spider(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(str(self.tmp_path), SPOOL, compression="zstd")

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

    def flush(self) -> None:
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
        self.flush()
        if self.writer is None:
            self.open_spider()
        assert self.writer is not None
        self.writer.close()
        self.writer = None
        os.replace(self.tmp_path, self.path)
