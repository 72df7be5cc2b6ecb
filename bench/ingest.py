"""Webhook ingest throughput: the real endpoint over HTTP against raw asyncpg in the same run.

The metrics service runs as its own process (``python -m services.metrics``); this process
signs 1,000-row batches and posts them with a few in flight. Baselines write the same rows
straight into a table of the same shape: the best raw ``unnest`` upsert, and batched COPY.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.common import RUNS, add_source, free_port, size
from bench.profiling import profiled
from services.metrics.facts.signatures import sign
from shared.kit import migrations
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.db import create_engine

BATCH_ROWS = 1000
BATCHES = size(30, 8, "BENCH_INGEST_BATCHES")
IN_FLIGHT = 4
METRICS = ("impressions", "clicks", "conversions", "cost")

SCRATCH = """
CREATE TABLE IF NOT EXISTS bench_facts (
    source_id uuid, entity text, day date, metric text, value numeric(24, 6),
    reported_at timestamptz, plan_id uuid, channel_id uuid,
    PRIMARY KEY (source_id, entity, day, metric))
"""
RAW_UPSERT = """
INSERT INTO bench_facts AS f (source_id, entity, day, metric, value, reported_at)
SELECT $5, e, d, m, v, now() FROM unnest($1::text[], $2::date[], $3::text[], $4::numeric[])
    AS t(e, d, m, v)
ON CONFLICT (source_id, entity, day, metric) DO UPDATE
    SET value = EXCLUDED.value, reported_at = EXCLUDED.reported_at
    WHERE f.reported_at < EXCLUDED.reported_at
"""


def _rows(run: int, batch: int) -> list[tuple[str, date, str, str]]:
    """1,000 distinct facts: 250 entities × 4 metrics on one day per batch."""
    day = date(2024, 1, 1) + timedelta(days=batch)
    return [
        (f"r{run}-c{n}", day, metric, str(100 + n))
        for n in range(BATCH_ROWS // len(METRICS))
        for metric in METRICS
    ]


async def _bounded(jobs: list[Callable[[], Awaitable[Any]]]) -> None:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def run(job: Callable[[], Awaitable[Any]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(run(j) for j in jobs))


async def _start_service(url: str, port: int) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "BUS": "embedded",
        "MIGRATE_ON_START": "false",
        "JOBS_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.metrics",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise RuntimeError("the metrics service did not start")


async def ingest_throughput(url: str) -> dict[str, object]:
    """Rows per second through the endpoint against raw upsert and COPY, medians of RUNS."""
    engine = create_engine(url)
    await migrations.upgrade(engine, "metrics", Path("services/metrics/migrations"))
    await EmbeddedTransport(engine).ensure_schema()
    await engine.dispose()
    source_id, secret = await add_source(url, "bench")
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(libpq, min_size=IN_FLIGHT, max_size=IN_FLIGHT)
    await pool.execute(SCRATCH)
    port = free_port()
    service = await _start_service(url, port)
    total = BATCH_ROWS * BATCHES
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:

            async def endpoint(run: int) -> None:
                async def one(batch: int) -> None:
                    body = json.dumps(
                        {
                            "format": "canonical",
                            "report_time": "2024-06-08T09:00:00Z",
                            "rows": [
                                {"entity": e, "day": d.isoformat(), "metric": m, "value": v}
                                for e, d, m, v in _rows(run, batch)
                            ],
                        }
                    ).encode()
                    delivery = f"bench-{run}-{batch}"
                    stamp = int(time.time())
                    answer = await client.post(
                        f"/metrics/webhooks/{source_id}",
                        content=body,
                        headers={
                            "content-type": "application/json",
                            "webhook-id": delivery,
                            "webhook-timestamp": str(stamp),
                            "webhook-signature": sign(secret, delivery, stamp, body),
                        },
                    )
                    answer.raise_for_status()

                await _bounded([partial(one, b) for b in range(BATCHES)])

            async def upsert(run: int) -> None:
                async def one(batch: int) -> None:
                    rows = _rows(run + 100, batch)
                    await pool.execute(
                        RAW_UPSERT,
                        [r[0] for r in rows],
                        [r[1] for r in rows],
                        [r[2] for r in rows],
                        [r[3] for r in rows],
                        source_id,
                    )

                await _bounded([partial(one, b) for b in range(BATCHES)])

            async def copy(run: int) -> None:
                async def one(batch: int) -> None:
                    rows = [
                        (source_id, e, d, m, Decimal(v)) for e, d, m, v in _rows(run + 200, batch)
                    ]
                    async with pool.acquire() as conn:
                        await conn.copy_records_to_table(
                            "bench_facts",
                            records=rows,
                            columns=["source_id", "entity", "day", "metric", "value"],
                        )

                await _bounded([partial(one, b) for b in range(BATCHES)])

            figures = {}
            for name, work in (("ours", endpoint), ("upsert", upsert), ("copy", copy)):
                rates = []
                for run in range(RUNS + 1):
                    # Only our endpoint's measured runs are profiled (make profile).
                    watched = service.pid if name == "ours" and run else None
                    async with profiled(watched, "batch-ingest"):
                        started = time.perf_counter()
                        await work(run)
                        elapsed = time.perf_counter() - started
                    if run:  # the first run warms up
                        rates.append(total / elapsed)
                figures[name] = statistics.median(rates)
    finally:
        service.terminate()
        await service.wait()
        await pool.close()
    ours, upsert_rate, copy_rate = figures["ours"], figures["upsert"], figures["copy"]
    return {
        "figure": "signed 1,000-row webhook batches, rows/s",
        "ours": round(ours),
        "baseline": round(upsert_rate),
        "baseline_is": "raw asyncpg unnest upsert of the same rows",
        "ratio": round(ours / upsert_rate, 2),
        "goal": ">= 0.9",
        "met": ours / upsert_rate >= 0.9,
        "copy_rows_per_s": round(copy_rate),
        "ratio_to_copy": round(ours / copy_rate, 2),
        "copy_goal": ">= 0.6",
        "copy_met": ours / copy_rate >= 0.6,
    }
