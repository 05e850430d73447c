"""Schedules: the deployments `infoshos serve` runs in one process (``flow.serve``), the same
ones `prefect.yaml` declares for a work pool.

- ``daily-<source>``: an incremental crawl of each live source with a ``schedule`` (cron, in
  Moscow time, like the portals' own clocks);
- ``weekly-full``: every live source re-crawled in full (conditional requests) on Sundays;
- ``reprocess``: rebuild the clean, dedup and enrichment tables from the stored raw pages
  (no network), on demand.
"""

from __future__ import annotations

from typing import Any

from infoshos.flows.sources import Source

TIMEZONE = "Europe/Moscow"
WEEKLY_FULL_CRON = "0 3 * * 0"


def deployment_specs(sources: dict[str, Source], warehouse: str) -> list[dict[str, Any]]:
    """What to deploy: name, flow (``run`` or ``reprocess``), cron (or None) and parameters."""
    specs: list[dict[str, Any]] = []
    live = [s for s in sources.values() if not s.sample]
    for src in live:
        if src.schedule:
            specs.append(
                {
                    "name": f"daily-{src.name}",
                    "flow": "run",
                    "cron": src.schedule,
                    "parameters": {"warehouse": warehouse, "sources": [src.name]},
                }
            )
    if live:
        specs.append(
            {
                "name": "weekly-full",
                "flow": "run",
                "cron": WEEKLY_FULL_CRON,
                "parameters": {"warehouse": warehouse, "sources": ["all"], "full": True},
            }
        )
    specs.append(
        {"name": "reprocess", "flow": "reprocess", "cron": None,
         "parameters": {"warehouse": warehouse}}
    )  # fmt: skip
    return specs


def serve(warehouse: str, sources_file: str | None = None) -> None:  # pragma: no cover - blocks
    """Run every schedule in this process until interrupted."""
    from prefect import serve as prefect_serve
    from prefect.schedules import Cron

    from infoshos.flows.pipeline import reprocess_pipeline, run_pipeline
    from infoshos.flows.sources import load_sources

    flows: dict[str, Any] = {"run": run_pipeline, "reprocess": reprocess_pipeline}
    deployments = []
    for spec in deployment_specs(load_sources(sources_file), warehouse):
        params = dict(spec["parameters"])
        if sources_file:
            params["sources_file"] = sources_file
        schedules = [Cron(spec["cron"], timezone=TIMEZONE)] if spec["cron"] else None
        deployments.append(
            flows[spec["flow"]].to_deployment(
                name=spec["name"], parameters=params, schedules=schedules
            )
        )
    prefect_serve(*deployments)
