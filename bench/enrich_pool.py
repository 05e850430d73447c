"""Enrichment throughput in one process and on the worker pool, in the same run.

    .venv/bin/python bench/enrich_pool.py [--articles 3000] [--workers 2]

The articles are the synthetic site's (``bench/synthetic.py``, seed 7; half English, half
Russian). Both ways enrich the same records in batches of ``flows.enrich.parallel.BATCH``; the
models are loaded before the clock starts (the workers' in their initializer). Printed:
articles/s for each and the ratio, and the load average before and after (the machine is shared:
compare the ratio, not the absolute rates across runs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import build_articles  # noqa: E402

from infoshos.flows.enrich.parallel import EnrichPool  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--articles", type=int, default=3000)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    arts, _ = build_articles(args.articles, 7)
    records = [
        {
            "article_id": a.key,
            "language": a.language,
            "text": a.text,
            "published_at": a.published_at,
        }
        for a in arts
    ]
    print(f"load average before: {os.getloadavg()}")
    rates = {}
    for workers in (0, args.workers):
        with EnrichPool(workers) as pool:
            # every worker started and its models loaded first (one task per worker: a spawn
            # pool starts a worker for each task submitted while none is idle)
            pool.collect(pool.submit(records[: 4 * max(workers, 1)], batch=4))
            t0 = time.perf_counter()
            results, _ = pool.collect(pool.submit(records))
            seconds = time.perf_counter() - t0
        mentions = sum(len(r.mentions) for r in results)
        rates[workers] = len(records) / seconds
        print(
            f"workers={workers}: {len(records)} articles in {seconds:.1f} s = "
            f"{rates[workers]:.0f} articles/s ({mentions} mentions)"
        )
    print(f"ratio: {rates[args.workers] / rates[0]:.2f}x")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
