"""Figures of the running all-in-one process (``python -m allinone``, embedded bus, loopback).

* metric snapshot → alert raised: a ``metrics.plan.metrics_updated`` event recorded in the
  metrics outbox (committed with its NOTIFY, as the metrics service's snapshot job does) until
  ``alerts.alert.raised`` for that plan is in the bus log (``bus.records``); p50/p99.
  The same end to end from a signed webhook batch is reported too (the snapshot job is woken by
  the ingest commit); the judged webhook → alert figures, on both buses with metrics and alerts
  in processes of their own, are bench/latency.py's.
* REST CRUD under load: create plan, list tasks, decide approval, from a separate load
  process (bench/load.py), against a bare FastAPI ``SELECT 1`` endpoint (bench/bare.py)
  served the same way.
* idle RSS of the all-in-one process (report only).

REST under load is measured against each service alone, in bench/rest.py.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.common import (
    bearer,
    free_port,
    low_ctr_day,
    median,
    percentile,
    progress,
    rss_kib,
    signed_headers,
    size,
    start_process,
    stop_process,
)
from services.metrics.models import bus as metrics_bus
from shared.contract.events.alerts import AlertRaisedV1
from shared.contract.events.metrics import MetricsUpdatedV1, MetricValue
from shared.contract.types import Role
from shared.kit.bus.outbox import Outbox
from shared.kit.db import create_engine, create_sessionmaker

ALERT_SAMPLES = size(40, 10, "BENCH_ALERT_SAMPLES")  # after 3 warm-up samples
WEBHOOK_SAMPLES = size(5, 2, "BENCH_WEBHOOK_SAMPLES")
P99_GOAL_MS = 1000.0

metrics_outbox = Outbox(metrics_bus.outbox, source="metrics")


SPECIALIST = bearer(Role.SPECIALIST, "bench-specialist")
TECH = bearer(Role.TECH, "bench-tech")


class AlertWatch:
    """Reads ``alerts.alert`` records past the last seen offset; which plans got a raise."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.offset = -1
        self.raised: set[str] = set()

    async def poll(self) -> None:
        rows = await self.pool.fetch(
            'SELECT "offset", value FROM bus.records WHERE topic = $1 AND "offset" > $2 '
            'ORDER BY "offset"',
            AlertRaisedV1.topic_name(),
            self.offset,
        )
        for row in rows:
            self.offset = row["offset"]
            envelope = json.loads(row["value"])
            if envelope["type"] == AlertRaisedV1.event_type:
                self.raised.add(envelope["data"]["plan_id"])

    async def until_raised(self, plan_id: uuid.UUID, seconds: float = 30) -> float:
        """Poll every 2 ms until the plan's alert is raised; the perf_counter when seen."""
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            await self.poll()
            if str(plan_id) in self.raised:
                return time.perf_counter()
            await asyncio.sleep(0.002)
        raise RuntimeError(f"no alert raised for plan {plan_id} within {seconds} s")


async def _rule(http: httpx.AsyncClient, plan_id: uuid.UUID, channel_id: uuid.UUID) -> None:
    answer = await http.post(
        "/alerts/rules",
        headers=SPECIALIST,
        json={
            "name": "bench: CTR below 1.5 %",
            "kind": "threshold",
            "plan_id": str(plan_id),
            "channel_id": str(channel_id),
            "metric": "ctr",
            "threshold": "0.015",
            "recovery": "0.015",
            "min_sample": 1000,
            "severity": "warning",
        },
    )
    answer.raise_for_status()


async def alert_latency(base: str, url: str, pool: asyncpg.Pool) -> list[dict[str, object]]:
    """Outbox event → raised (judged), and webhook → raised (reported)."""
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    watch = AlertWatch(pool)
    await watch.poll()
    warm = 3
    targets = [(uuid.uuid4(), uuid.uuid4()) for _ in range(warm + ALERT_SAMPLES)]
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for plan_id, channel_id in targets:
            await _rule(http, plan_id, channel_id)
        for n, (plan_id, channel_id) in enumerate(targets):
            started = time.perf_counter()
            async with sessions() as session, session.begin():
                await metrics_outbox.record(
                    session,
                    MetricsUpdatedV1(
                        plan_id=plan_id,
                        channel_id=channel_id,
                        day=date(2024, 6, 7),
                        as_of=datetime.now(UTC),
                        values=[
                            MetricValue(
                                metric="ctr",
                                value=Decimal("0.012"),
                                numerator=Decimal(1200),
                                denominator=Decimal(100000),
                            )
                        ],
                    ),
                    subject=str(plan_id),
                )
            seen = await watch.until_raised(plan_id)
            if n >= warm:
                latencies.append((seen - started) * 1000)
            await asyncio.sleep(0.05)  # one event at a time: latency, not queueing
        webhook = await _webhook_latency(http, watch)
    await engine.dispose()
    p99 = percentile(latencies, 0.99)
    return [
        {
            "figure": "metric snapshot → alert raised (embedded bus), p99 ms",
            "ours": round(p99, 1),
            "baseline": None,
            "baseline_is": "goal is absolute",
            "ratio": None,
            "goal": f"< {P99_GOAL_MS:.0f} ms",
            "met": p99 < P99_GOAL_MS,
            "p50_ms": round(percentile(latencies, 0.5), 1),
            "p99_ms": round(p99, 1),
            "max_ms": round(max(latencies), 1),
            "samples": len(latencies),
            "measured_from": "MetricsUpdated committed in the metrics outbox",
            "measured_to": "alerts.alert.raised appended to bus.records",
        },
        {
            "figure": "  … p50 ms",
            "ours": round(percentile(latencies, 0.5), 1),
            "baseline": None,
            "ratio": None,
            "goal": "report",
            "met": None,
        },
        webhook,
    ]


async def _webhook_latency(http: httpx.AsyncClient, watch: AlertWatch) -> dict[str, object]:
    """A signed ocean_engine batch with a low-CTR day until the alert is raised."""
    source = (
        await http.post(
            "/metrics/sources",
            headers=TECH,
            json={"name": "bench ads", "platform": "ocean_engine", "account_id": "bench"},
        )
    ).json()
    secret = source["secrets"][0]["secret"]
    latencies: list[float] = []
    for n in range(WEBHOOK_SAMPLES):
        plan_id, channel_id = uuid.uuid4(), uuid.uuid4()
        await _rule(http, plan_id, channel_id)
        entity = f"feed-{n}"
        (
            await http.put(
                f"/metrics/sources/{source['id']}/mappings",
                headers=TECH,
                json=[{"entity": entity, "plan_id": str(plan_id), "channel_id": str(channel_id)}],
            )
        ).raise_for_status()
        body = low_ctr_day(entity)
        delivery = f"bench-alert-{uuid.uuid4()}"
        started = time.perf_counter()
        (
            await http.post(
                f"/metrics/webhooks/{source['id']}",
                content=body,
                headers=signed_headers(secret, delivery, body),
            )
        ).raise_for_status()
        latencies.append((await watch.until_raised(plan_id) - started) * 1000)
    return {
        "figure": "  … webhook → alert raised (all-in-one), p50 ms",
        "ours": round(median(latencies), 1),
        "baseline": None,
        "ratio": None,
        "goal": "report",
        "met": None,
        "max_ms": round(max(latencies), 1),
        "samples": len(latencies),
    }


async def system_figures(url: str) -> list[dict[str, object]]:
    """Start the all-in-one process and measure it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = await start_process(
        ["-m", "allinone"],
        {
            "DATABASE_URL": url,
            "PORT": str(port),
            "BUS": "embedded",
            "LOG_LEVEL": "WARNING",
            "MIGRATE_ON_START": "true",
        },
        f"{base}/readyz",
        "allinone",
    )
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(libpq, min_size=1, max_size=2)
    try:
        await asyncio.sleep(3)  # idle: relays listening, consumers waiting, jobs ticking
        assert process.pid is not None
        idle_rss, _ = rss_kib(process.pid)
        progress("metric snapshot → alert raised")
        alerts = await alert_latency(base, url, pool)
        loaded_rss, peak_rss = rss_kib(process.pid)
        connections = await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        )
    finally:
        await pool.close()
        await stop_process(process)
    rows: list[dict[str, object]] = [*alerts]
    rows.append(
        {
            "figure": "all-in-one DB connections after the alert figures",
            "ours": connections,
            "baseline": None,
            "ratio": None,
            "goal": "report",
            "met": None,
            "note": "includes the bench's own 2; PostgreSQL's default max_connections is 100",
        }
    )
    rows.append(
        {
            "figure": "all-in-one RSS idle, MiB",
            "ours": round(idle_rss / 1024, 1),
            "baseline": None,
            "ratio": None,
            "goal": "report",
            "met": None,
            "after_alerts_mib": round(loaded_rss / 1024, 1),
            "peak_mib": round(peak_rss / 1024, 1),
        }
    )
    return rows
