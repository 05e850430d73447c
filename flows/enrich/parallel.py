"""Enrichment on every core: ``enrich_articles`` over batches, in worker processes.

spaCy and natasha hold the GIL, so one process enriches on one core. An :class:`EnrichPool`
starts ``workers`` processes (``spawn``: a clean interpreter each, the models loaded once per
worker) on first use and maps batches of records onto them; results come back in input order.
With ``workers=0`` it enriches in the calling process (small runs: starting workers and loading
their models costs more than it saves). The results are those of ``enrich_articles`` over the
same batches, whichever way they were computed (tested).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from . import EnrichResult, enrich_articles

#: Records per task sent to a worker: large enough for spaCy's batching, small enough to
#: keep both workers busy at the end of a chunk.
BATCH = 128
#: Environment variable overriding the number of workers (0: enrich in this process).
WORKERS_ENV = "INFOSHOS_ENRICH_WORKERS"


def default_workers() -> int:
    """Worker processes for a large run: every core, at most 2 unless the environment says."""
    given = os.environ.get(WORKERS_ENV)
    if given is not None and given.strip():
        return max(0, int(given))
    return min(2, os.cpu_count() or 1)


#: Thread counts of the BLAS libraries numpy, spaCy and natasha use. A worker runs with 1 (unless
#: the environment sets them): with 2 workers on 2 cores, OpenBLAS's own threads per worker made
#: the pool no faster than one process (bench/enrich_pool.py: 1.02x; with 1 thread each, 1.95x).
BLAS_THREADS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Workers started in this block inherit one BLAS thread each (spawn copies the
    environment when a worker starts, which a pool does on submit)."""
    added = [k for k in BLAS_THREADS_ENV if k not in os.environ]
    os.environ.update(dict.fromkeys(added, "1"))
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def _warm() -> None:
    """Load the models in a new worker before its first batch."""
    enrich_articles([{"article_id": "warm-en", "language": "en", "text": "Tashkent, Uzbekistan."}])
    enrich_articles([{"article_id": "warm-ru", "language": "ru", "text": "Ташкент, Узбекистан."}])


def _enrich(records: list[dict[str, Any]]) -> EnrichResult:
    return enrich_articles(records)


def _enrich_timed(records: list[dict[str, Any]]) -> tuple[EnrichResult, float]:
    t0 = time.perf_counter()
    return enrich_articles(records), time.perf_counter() - t0


@dataclass
class Pending:
    """Batches submitted to an :class:`EnrichPool` (``EnrichPool.collect`` waits for them)."""

    futures: list[Future[tuple[EnrichResult, float]]] = field(default_factory=list)
    done: list[tuple[EnrichResult, float]] = field(default_factory=list)


class EnrichPool:
    """Batches of enrichment records -> ``EnrichResult`` per batch, on ``workers`` processes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: Executor | None = None

    def __enter__(self) -> EnrichPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _executor(self) -> Executor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm,
            )
        return self._pool

    def _parts(
        self, records: Sequence[Mapping[str, Any]], batch: int
    ) -> list[list[dict[str, Any]]]:
        return [
            [dict(r) for r in records[start : start + batch]]
            for start in range(0, len(records), batch)
        ]

    def submit(self, records: Sequence[Mapping[str, Any]], batch: int = BATCH) -> Pending:
        """Start enriching ``records`` (at once, in this process, without workers)."""
        parts = self._parts(records, batch)
        if self.workers <= 0:
            return Pending(done=[_enrich_timed(p) for p in parts])
        pool = self._executor()
        with _single_threaded_children():
            return Pending(futures=[pool.submit(_enrich_timed, p) for p in parts])

    def collect(self, pending: Pending) -> tuple[list[EnrichResult], float]:
        """The results of ``submit``, in order, and the seconds of enrichment they took on
        the cores (the workers' busy time, divided by the number of workers)."""
        done = pending.done + [f.result() for f in pending.futures]
        busy = sum(seconds for _, seconds in done)
        return [r for r, _ in done], busy / max(self.workers, 1)

    def map(
        self, records: Sequence[Mapping[str, Any]], batch: int = BATCH
    ) -> Iterator[EnrichResult]:
        """``enrich_articles`` of each ``batch`` records, in order."""
        parts = self._parts(records, batch)
        if self.workers <= 0:
            yield from (enrich_articles(p) for p in parts)
            return
        with _single_threaded_children():
            results = self._executor().map(_enrich, parts)
        yield from results
