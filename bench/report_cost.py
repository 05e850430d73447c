"""What each query of the warehouse report costs on a kept warehouse: wall time and the peak RSS
of a fresh process that runs only it (DuckDB's memory included), then the same for the run's
summary artifact (``report_markdown``) and the whole HTML report.

    .venv/bin/python bench/run.py --articles 100000 --keep /tmp/wh-100k     # once
    .venv/bin/python bench/report_cost.py /tmp/wh-100k/warehouse

Prints one line per query: ``name seconds peak-RSS-MB``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _one(root: Path, key: str) -> None:
    """In this process: run one query (or ``markdown``, ``html``) and print its cost."""
    from infoshos.warehouse import report
    from infoshos.warehouse.report import queries
    from infoshos.warehouse.store import Warehouse

    wh = Warehouse(root)
    t0 = time.perf_counter()
    if key == "markdown":
        report.report_markdown(wh)
    elif key == "html":
        with tempfile.TemporaryDirectory() as tmp:
            report.write_report(wh, Path(tmp) / "report.html")
    else:
        con = queries._connect(wh)
        try:
            con.execute(queries.SQL[key]).fetchall()
        finally:
            con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{key:16} {time.perf_counter() - t0:7.2f} s {peak:6d} MB", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("warehouse", type=Path)
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        _one(args.warehouse, args.one)
        return 0
    from infoshos.warehouse.report import SQL

    for key in [*SQL, "markdown", "html"]:
        cmd = [sys.executable, __file__, str(args.warehouse), "--one", key]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{key}: failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return 1
        print(done.stdout, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
