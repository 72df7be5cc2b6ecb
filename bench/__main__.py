"""``make bench``: figures measured side by side with their baselines in the same run.

Figures so far: outbox relay throughput to the embedded log against a raw claim-and-mark loop;
webhook ingest through the real endpoint against raw asyncpg upsert and COPY (bench/ingest.py).
Each figure is the median of several runs after a warm-up; results go to bench/results/latest.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from sqlalchemy import text

from bench.ingest import ingest_throughput
from services.planning.models import bus as planning_bus
from shared.contract.events import PlanCreatedV1
from shared.kit import migrations
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.bus.outbox import Outbox
from shared.kit.bus.relay import Relay
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.embedded_pg import embedded_database_url, stop_server

# planning's outbox, as the planning service writes it
outbox = Outbox(planning_bus.outbox, source="planning")

EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
RESULTS = Path(__file__).parent / "results" / "latest.json"


def plan_event(n: int) -> PlanCreatedV1:
    """A deterministic event; subjects cycle over 100 plans."""
    return PlanCreatedV1(
        plan_id=uuid.UUID(int=n % 100),
        name=f"plan {n}",
        product="p",
        owner_id="o",
        starts_on=date(2024, 5, 1),
        ends_on=date(2024, 6, 30),
        currency="CNY",
    )


async def _median_rate(
    count: int, setup: Callable[[], Awaitable[None]], work: Callable[[], Awaitable[object]]
) -> float:
    rates = []
    for run in range(RUNS + 1):
        await setup()
        started = time.perf_counter()
        await work()
        if run:  # the first run is the warm-up
            rates.append(count / (time.perf_counter() - started))
    return statistics.median(rates)


async def relay_throughput(url: str) -> dict[str, object]:
    engine = create_engine(url)
    await migrations.upgrade(engine, "planning", Path("services/planning/migrations"))
    transport = EmbeddedTransport(engine)
    await transport.ensure_schema()
    sessions = create_sessionmaker(engine)
    table = planning_bus.outbox
    async with sessions() as session, session.begin():
        for n in range(EVENTS):
            event = plan_event(n)
            await outbox.record(session, event, subject=str(event.plan_id))

    async def reset() -> None:
        async with engine.begin() as conn:
            await conn.execute(text(f"UPDATE {table.schema}.outbox SET sent_at = NULL"))

    relay = Relay(engine, table, transport.publisher(), batch_size=500)

    async def raw_loop() -> None:
        while True:
            async with engine.begin() as conn:
                ids = (
                    await conn.execute(
                        text(
                            f"SELECT id, topic, subject, envelope FROM {table.schema}.outbox "
                            "WHERE sent_at IS NULL ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED"
                        )
                    )
                ).all()
                if not ids:
                    return
                await conn.execute(
                    text(f"UPDATE {table.schema}.outbox SET sent_at = now() WHERE id = ANY(:ids)"),
                    {"ids": [row.id for row in ids]},
                )

    ours = await _median_rate(EVENTS, reset, relay.drain)
    baseline = await _median_rate(EVENTS, reset, raw_loop)
    await engine.dispose()
    return {
        "figure": "outbox relay → embedded log, events/s",
        "ours": round(ours),
        "baseline": round(baseline),
        "baseline_is": "raw SKIP LOCKED claim + mark loop",
        "ratio": round(ours / baseline, 2),
        "goal": ">= 0.5",
        "met": ours / baseline >= 0.5,
    }


async def main() -> None:
    configured = os.environ.get("BENCH_DATABASE_URL")
    data_dir = Path(tempfile.mkdtemp(prefix="cp-bench-pg-"))
    url = configured or embedded_database_url(data_dir)
    try:
        results = [await relay_throughput(url), await ingest_throughput(url)]
    finally:
        if not configured:
            stop_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"{'figure':<42} {'ours':>9} {'baseline':>9} {'ratio':>6} {'goal':>7}  met")
    for r in results:
        print(
            f"{r['figure']:<42} {r['ours']:>9} {r['baseline']:>9} {r['ratio']:>6} "
            f"{r['goal']:>7}  {'yes' if r['met'] else 'NO'}"
        )
        if "copy_rows_per_s" in r:
            print(
                f"{'  … against 1,000-row batched COPY':<42} {r['ours']:>9} "
                f"{r['copy_rows_per_s']:>9} {r['ratio_to_copy']:>6} {r['copy_goal']:>7}  "
                f"{'yes' if r['copy_met'] else 'NO'}"
            )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"events": EVENTS, "runs": RUNS, "results": results}, indent=2))
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    asyncio.run(main())
