"""A run's per-chunk work: cleaning, writing the page rows, enrichment; in the flow's process,
or as Prefect tasks on a Dask cluster (``prefect_dask.DaskTaskRunner``).

:func:`chunk_runner` makes the runner of a run's setting (:mod:`infoshos.flows.runner`). Both
runners give the flow (``flows.process.process``) the same things in the same order:

- ``clean(chunks, sources, folder)``: each chunk cleaned (:class:`Cleaned`), in order. In
  process the chunk's spool rows come back for the flow's transaction to append; on Dask, one
  task per chunk cleans it and writes its `pages` rows as a Parquet file in ``folder()`` (the
  lake's folder of the table, named like DuckLake's own files), which the transaction registers
  (``ducklake_add_data_files``): the page bodies never travel back to the flow.
- ``enrich(records)``: the chunk's enrichment started, in batches of ``parallel.BATCH`` records
  (so the results are those of an in-process run); the returned function waits for the results
  and the seconds they took on the cores.

What stays in the flow is everything sequential: planning each chunk against the stored state
and the run's index (``flows.stream``), the transaction, and the end of the run. A Dask worker
killed mid-task has its task run again on another worker by Dask; a task that fails fails the
run, and nothing is published (the files of the run's workers are orphans the next run deletes).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from infoshos.flows.clean.articles import CleanOutput, clean_pages
from infoshos.flows.enrich import EnrichResult, enrich_articles
from infoshos.flows.enrich.parallel import BATCH, EnrichPool
from infoshos.flows.load import write_pages_file
from infoshos.flows.runner import DaskSetting
from infoshos.flows.sources import Source
from infoshos.flows.summary import RunSummary

#: Page rows cleaned at a time (a Python copy of that many bodies at once, no more).
CLEAN_BATCH = 500
#: Enrichment batches per Dask task (each batch enriched on its own: the results do not depend
#: on how batches are grouped into tasks).
BATCHES_PER_TASK = 4
CLEAN_COLUMNS = (
    "page_id", "url", "final_url", "source", "page_type", "status", "headers", "body",
    "skip_reason", "detail", "language_hint",
)  # fmt: skip

T = TypeVar("T")
Collect = Callable[[], tuple[list[EnrichResult], float]]
#: Where the workers write the chunks' page files (asked only on Dask; None: no page rows).
Folder = Callable[[], Path | None]


@dataclass
class Cleaned:
    """A cleaned chunk: the cleaning's output and the chunk's page rows, as spool rows (in
    process) or a Parquet file a worker wrote (None: no fetch in the chunk)."""

    output: CleanOutput
    pages: pa.Table | Path | None
    #: the pages of the chunk (spool rows)
    count: int


class Opaque(Generic[T]):
    """A task argument handed to a Dask task as it is: Prefect walks lists, dicts and dataclasses
    looking for futures (slow on thousands of records), not other objects. (``quote`` does
    not survive the trip to a Dask worker: the task receives the annotation's tuple.)"""

    __slots__ = ("token", "value")

    def __init__(self, value: T) -> None:
        self.value = value
        self.token = uuid.uuid4().hex

    def __dask_tokenize__(self) -> str:
        """Dask names a task by hashing its arguments: without this, by pickling the value."""
        return self.token


def clean_chunk(pages: pa.Table, sources: Sequence[Source]) -> CleanOutput:
    """Clean one chunk of pages (Arrow batches: never a Python copy of every body at once)."""
    styles = {s.name: s.style for s in sources}
    encodings = {s.name: s.encoding for s in sources}
    timezones = {s.name: s.timezone for s in sources}
    columns = [c for c in CLEAN_COLUMNS if c in pages.column_names]
    out = CleanOutput()
    for batch in pages.select(columns).to_batches(max_chunksize=CLEAN_BATCH):
        part = clean_pages(batch.to_pylist(), styles, encodings, timezones=timezones)
        out.articles += part.articles
        out.rejects += part.rejects
        out.encodings.update(part.encodings)
        out.repairs.update(part.repairs)
        out.rule_misses.update(part.rule_misses)
        for source, example in part.rule_miss_examples.items():
            out.rule_miss_examples.setdefault(source, example)
    return out


@task(name="clean", cache_policy=NO_CACHE)
def clean_task(pages: pa.Table, sources: list[Source]) -> CleanOutput:
    """Clean one chunk of pages in the flow's process."""
    return clean_chunk(pages, sources)


@task(name="clean-chunk", cache_policy=NO_CACHE)
def clean_chunk_task(
    pages: Opaque[pa.Table], sources: list[Source], folder: Path | None
) -> tuple[CleanOutput, Path | None]:
    """On a worker: clean one chunk and write its `pages` rows into ``folder`` (None: none)."""
    out = clean_chunk(pages.value, sources)
    if folder is None:
        return out, None
    return out, write_pages_file(pages.value, out.encodings, folder)


@task(name="enrich-batches", cache_policy=NO_CACHE)
def enrich_batches_task(
    batches: Opaque[list[list[dict[str, Any]]]],
) -> list[tuple[EnrichResult, float]]:
    """On a worker: ``enrich_articles`` of each batch (the models load once per worker), with
    the seconds each took."""
    done = []
    for records in batches.value:
        t0 = time.perf_counter()
        done.append((enrich_articles(records), time.perf_counter() - t0))
    return done


def batches(records: Sequence[Mapping[str, Any]], size: int = BATCH) -> list[list[dict[str, Any]]]:
    return [[dict(r) for r in records[i : i + size]] for i in range(0, len(records), size)]


class ChunkRunner(Protocol):
    """What the flow asks of a runner (see the module docstring)."""

    def __enter__(self) -> ChunkRunner: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def clean(
        self, chunks: Iterable[pa.Table], sources: list[Source], folder: Folder
    ) -> Iterator[Cleaned]: ...

    def enrich(self, records: Sequence[Mapping[str, Any]]) -> Collect: ...


class LocalChunks:
    """In the flow's process; enrichment on an :class:`EnrichPool` of ``workers`` processes
    (0: in this process), overlapping the next chunk's cleaning."""

    def __init__(self, workers: int) -> None:
        self.pool = EnrichPool(workers)

    def __enter__(self) -> LocalChunks:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.pool.close()

    def clean(
        self, chunks: Iterable[pa.Table], sources: list[Source], folder: Folder
    ) -> Iterator[Cleaned]:
        del folder  # the flow appends the page rows itself
        for chunk in chunks:
            yield Cleaned(clean_task(quote(chunk), sources), chunk, chunk.num_rows)

    def enrich(self, records: Sequence[Mapping[str, Any]]) -> Collect:
        return functools.partial(self.pool.collect, self.pool.submit(records))


class DaskChunks:
    """On a Dask cluster through ``prefect_dask.DaskTaskRunner`` (a ``LocalCluster`` started
    for the run, or a running scheduler). The tasks report to the flow's Prefect API: when the
    flow runs on a temporary local API, its address is handed to the tasks."""

    def __init__(self, setting: DaskSetting) -> None:
        from prefect_dask import DaskTaskRunner

        self.setting = setting
        if setting.address is not None:
            self.runner = DaskTaskRunner(address=setting.address)
        else:
            self.runner = DaskTaskRunner(
                cluster_class="distributed.LocalCluster",
                cluster_kwargs={
                    "n_workers": setting.workers,
                    "threads_per_worker": 1,
                    "processes": True,
                    "host": "127.0.0.1",
                    "dashboard_address": "127.0.0.1:0",
                    "silence_logs": logging.WARNING,
                },
            )
        self.workers = setting.workers
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> DaskChunks:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with self._stack:
            # the tasks' context carries the settings: give them the flow's API, also when it
            # is a temporary one (else each worker would start its own)
            api = PREFECT_API_URL.value() or str(get_client(sync_client=True).api_url)
            self._stack.enter_context(temporary_settings(updates={PREFECT_API_URL: api}))
            quiet = logging.getLogger("distributed")
            level = quiet.level
            quiet.setLevel(logging.WARNING)
            self._stack.callback(quiet.setLevel, level)
            self._stack.enter_context(self.runner)
            if self.setting.address is not None:
                info = self.runner.client.scheduler_info()
                self.workers = max(1, len(info.get("workers", {})))
            self._stack = self._stack.pop_all()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.__exit__(kind, exc, tb)

    def clean(
        self, chunks: Iterable[pa.Table], sources: list[Source], folder: Folder
    ) -> Iterator[Cleaned]:
        """One task per chunk, up to one per worker ahead of the chunk the flow plans."""
        window: deque[tuple[Any, int]] = deque()
        params = {"sources": sources, "folder": folder()}
        for chunk in chunks:
            task_params = {"pages": Opaque(chunk), **params}
            window.append((self.runner.submit(clean_chunk_task, task_params), chunk.num_rows))
            del chunk, task_params
            if len(window) > self.workers:
                yield self._cleaned(*window.popleft())
        while window:
            yield self._cleaned(*window.popleft())

    @staticmethod
    def _cleaned(future: Any, count: int) -> Cleaned:
        output, pages = future.result()
        return Cleaned(output, pages, count)

    def enrich(self, records: Sequence[Mapping[str, Any]]) -> Collect:
        parts, step = batches(records), BATCHES_PER_TASK
        futures = [
            self.runner.submit(enrich_batches_task, {"batches": Opaque(parts[i : i + step])})
            for i in range(0, len(parts), step)
        ]

        def collect() -> tuple[list[EnrichResult], float]:
            done = [pair for f in futures for pair in f.result()]
            busy = sum(seconds for _, seconds in done)
            return [r for r, _ in done], busy / self.workers

        return collect


def staged(items: Iterator[T], summary: RunSummary, stage: str) -> Iterator[T]:
    """``items``, the time spent making each counted in the summary's ``stage``."""
    while True:
        with summary.stage(stage):
            item = next(items, None)
        if item is None:
            return
        yield item


def chunk_runner(setting: DaskSetting | None, workers: int) -> ChunkRunner:
    """The runner of a run: on Dask with a setting, else in process with ``workers``
    enrichment processes."""
    if setting is None:
        return LocalChunks(workers)
    return DaskChunks(setting)
