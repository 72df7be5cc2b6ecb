"""Webhook ingest throughput: the real endpoint over HTTP against raw asyncpg in the same run.

The metrics service runs as its own process (``python -m services.metrics``); this process
signs 1,000-row batches and posts them with a few in flight. Baselines, with the same rows:

* same work (judged, >= 0.9): raw asyncpg doing exactly the database work the endpoint does,
  from ready-made tuples, into the real tables, with the statements of sql.py: the delivery
  claim, the one statement for revision rows, dirty marks and the facts upsert with the
  restatement rule, then the delivery's answer with the outbox row and its NOTIFY; one
  transaction per batch;
* batched COPY (judged, >= 0.6) and the bare ``unnest`` upsert (reported) into a scratch table
  of the facts' shape: what the rows alone cost, without any of the endpoint's guarantees;
* history (judged, >= 0.8): the endpoint again after HISTORY_FACTS facts (and as many
  revisions) are stored, against the endpoint into the empty tables.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.common import RUNS, add_source, free_port, progress, signed_headers, size
from bench.profiling import profiled
from services.metrics.facts.sql import ANSWERED_AND_RECORDED, CLAIM, UPSERT_WHOLE_DAYS
from shared.kit import migrations
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.db import create_engine

BATCH_ROWS = 1000
BATCHES = size(30, 8, "BENCH_INGEST_BATCHES")
HISTORY_FACTS = size(10_000_000, 200_000, "BENCH_HISTORY_FACTS")
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

# HISTORY_FACTS facts of another source (and a revision each), keyed like real ones: 2,500
# campaigns × 4 metrics a day over as many days as it takes. Written by the server itself.
HISTORY = """
WITH keys AS (
    SELECT $1::uuid AS source_id, 'h' || (n % 2500) AS entity,
        DATE '2020-01-01' + (n / 10000) AS day, -1::smallint AS hour,
        (ARRAY['impressions', 'clicks', 'conversions', 'cost'])[n % 10000 / 2500 + 1] AS metric,
        (n % 997)::numeric AS value
    FROM generate_series(0, $2 - 1) AS n
), revisions AS (
    INSERT INTO metrics.fact_revisions
        (source_id, entity, day, hour, metric, value, reported_at, delivery_id)
    SELECT source_id, entity, day, hour, metric, value, now(), 'history' FROM keys
)
INSERT INTO metrics.facts (source_id, entity, day, hour, metric, value, reported_at)
SELECT source_id, entity, day, hour, metric, value, now() FROM keys
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


async def _prepare(url: str) -> tuple[uuid.UUID, str, asyncpg.Pool]:
    engine = create_engine(url)
    await migrations.upgrade(engine, "metrics", Path("services/metrics/migrations"))
    await EmbeddedTransport(engine).ensure_schema()
    await engine.dispose()
    source_id, secret = await add_source(url, "bench")
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(libpq, min_size=IN_FLIGHT, max_size=IN_FLIGHT)
    await pool.execute(SCRATCH)
    return source_id, secret, pool


def _body(rows: list[tuple[str, date, str, str]]) -> bytes:
    return json.dumps(
        {
            "format": "canonical",
            "report_time": "2024-06-08T09:00:00Z",
            "rows": [
                {"entity": e, "day": d.isoformat(), "metric": m, "value": v} for e, d, m, v in rows
            ],
        }
    ).encode()


async def _median_rate(
    work: Callable[[int], Awaitable[None]], first_run: int, watched: int | None = None
) -> float:
    """Rows per second, the median of RUNS after one warm-up run; runs are numbered from
    ``first_run`` so that every run writes facts of its own."""
    rates = []
    for n in range(RUNS + 1):
        # Only our endpoint's measured runs are profiled (make profile).
        async with profiled(watched if n else None, "batch-ingest"):
            started = time.perf_counter()
            await work(first_run + n)
            elapsed = time.perf_counter() - started
        if n:  # the first run warms up
            rates.append(BATCH_ROWS * BATCHES / elapsed)
    return statistics.median(rates)


def _endpoint(
    client: httpx.AsyncClient, source_id: uuid.UUID, secret: str
) -> Callable[[int], Awaitable[None]]:
    async def work(run: int) -> None:
        async def one(batch: int) -> None:
            body = _body(_rows(run, batch))
            delivery = f"bench-{run}-{batch}"
            answer = await client.post(
                f"/metrics/webhooks/{source_id}",
                content=body,
                headers=signed_headers(secret, delivery, body),
            )
            answer.raise_for_status()

        await _bounded([partial(one, b) for b in range(BATCHES)])

    return work


def _same_work(pool: asyncpg.Pool, source_id: uuid.UUID) -> Callable[[int], Awaitable[None]]:
    """The endpoint's database work from ready-made tuples: no HTTP, no JSON, no ORM."""
    report_time = datetime(2024, 6, 8, 9, tzinfo=UTC)
    subject = str(source_id)

    async def work(run: int) -> None:
        async def one(batch: int) -> None:
            rows = _rows(run, batch)
            delivery = f"same-{run}-{batch}"
            async with pool.acquire() as conn, conn.transaction():
                await conn.fetchval(CLAIM, source_id, delivery, "0" * 64)
                counts = await conn.fetchrow(
                    UPSERT_WHOLE_DAYS,
                    [r[0] for r in rows],
                    [r[1] for r in rows],
                    [r[2] for r in rows],
                    [r[3] for r in rows],
                    source_id,
                    report_time,
                    delivery,
                )
                answer = json.dumps({"delivery_id": delivery, "inserted": counts["inserted"]})
                # The answer, the outbox row (a ready-made envelope) and the NOTIFY.
                await conn.execute(
                    ANSWERED_AND_RECORDED,
                    source_id,
                    delivery,
                    answer,
                    uuid.uuid4(),
                    "metrics.source",
                    subject,
                    "metrics.source.ingested",
                    answer,
                )

        await _bounded([partial(one, b) for b in range(BATCHES)])

    return work


def _upsert(pool: asyncpg.Pool, source_id: uuid.UUID) -> Callable[[int], Awaitable[None]]:
    async def work(run: int) -> None:
        async def one(batch: int) -> None:
            rows = _rows(run, batch)
            await pool.execute(
                RAW_UPSERT,
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
                source_id,
            )

        await _bounded([partial(one, b) for b in range(BATCHES)])

    return work


def _copy(pool: asyncpg.Pool, source_id: uuid.UUID) -> Callable[[int], Awaitable[None]]:
    async def work(run: int) -> None:
        async def one(batch: int) -> None:
            rows = [(source_id, e, d, m, Decimal(v)) for e, d, m, v in _rows(run, batch)]
            async with pool.acquire() as conn:
                await conn.copy_records_to_table(
                    "bench_facts",
                    records=rows,
                    columns=["source_id", "entity", "day", "metric", "value"],
                )

        await _bounded([partial(one, b) for b in range(BATCHES)])

    return work


def _judged(
    figure: str, ours: float, baseline: float, baseline_is: str, goal: float | None
) -> dict[str, object]:
    ratio = ours / baseline
    return {
        "figure": figure,
        "ours": round(ours),
        "baseline": round(baseline),
        "baseline_is": baseline_is,
        "ratio": round(ratio, 2),
        "goal": "report" if goal is None else f">= {goal}",
        "met": None if goal is None else ratio >= goal,
    }


async def ingest_figures(url: str) -> list[dict[str, object]]:
    """Rows per second through the endpoint against the same work in raw asyncpg, the bare
    upsert and COPY, medians of RUNS; each baseline writes rows of its own run numbers."""
    source_id, secret, pool = await _prepare(url)
    port = free_port()
    service = await _start_service(url, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            ours = await _median_rate(_endpoint(client, source_id, secret), 0, service.pid)
        same = await _median_rate(_same_work(pool, source_id), 100)
        upsert = await _median_rate(_upsert(pool, source_id), 200)
        copy = await _median_rate(_copy(pool, source_id), 300)
    finally:
        service.terminate()
        await service.wait()
        await pool.close()
    return [
        _judged(
            "signed 1,000-row webhook batches, rows/s",
            ours,
            same,
            "raw asyncpg doing the endpoint's database work (claim, facts+revisions+dirty "
            "marks statement, answer, outbox row + NOTIFY), one transaction per batch",
            0.9,
        ),
        _judged(
            "  … against 1,000-row batched COPY, rows/s",
            ours,
            copy,
            "asyncpg COPY of the same rows into a scratch table",
            0.6,
        ),
        _judged(
            "  … against the bare unnest upsert, rows/s",
            ours,
            upsert,
            "raw asyncpg unnest upsert of the same rows into a scratch table",
            None,
        ),
    ]


async def history_figure(url: str) -> dict[str, object]:
    """The endpoint into empty tables, then after HISTORY_FACTS facts are stored."""
    source_id, secret, pool = await _prepare(url)
    port = free_port()
    service = await _start_service(url, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            endpoint = _endpoint(client, source_id, secret)
            empty = await _median_rate(endpoint, 0)
            progress(f"storing {HISTORY_FACTS:,} facts and revisions")
            await pool.execute(HISTORY, source_id, HISTORY_FACTS, timeout=3600)
            await pool.execute("VACUUM ANALYZE metrics.facts", timeout=3600)
            await pool.execute("VACUUM ANALYZE metrics.fact_revisions", timeout=3600)
            stored = await pool.fetchval("SELECT count(*) FROM metrics.facts")
            full = await _median_rate(endpoint, 100)
    finally:
        service.terminate()
        await service.wait()
        await pool.close()
    return {
        **_judged(
            f"  … with {HISTORY_FACTS:,} facts stored, rows/s",
            full,
            empty,
            "the same endpoint into empty tables, same run",
            0.8,
        ),
        "facts_stored": stored,
    }
