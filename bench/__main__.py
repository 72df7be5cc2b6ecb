"""``make bench``: figures measured side by side with their baselines in the same run.

Figures: outbox relay throughput to the embedded log against a raw claim-and-mark loop;
webhook ingest through the real endpoint against raw asyncpg upsert and COPY (bench/ingest.py);
metric snapshot → alert raised latency, REST CRUD under load against a bare endpoint, and idle
RSS of the all-in-one process (bench/system.py); peak RSS ingesting a 10,000-row batch
(bench/memory.py). Each figure is the median of several runs after a warm-up (latencies:
percentiles over samples after warm-up ones). Everything runs in a scratch database created
on the server (one for the relay and ingest figures, a fresh one for the all-in-one process)
and dropped at the end. The summary table is printed and written to
bench/results/latest.json (``BENCH_QUICK=1``: smaller sizes, bench/results/quick.json).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import QUICK, ROOT, RUNS, UNLIMITED, progress, size
from bench.dashboard import FACTS as DASHBOARD_FACTS
from bench.dashboard import dashboard_figures
from bench.ingest import BATCHES as INGEST_BATCHES
from bench.ingest import HISTORY_FACTS, history_figure, ingest_figures
from bench.latency import SAMPLES as LATENCY_SAMPLES
from bench.latency import latency_figures
from bench.profiling import PROFILE, reset
from bench.single import single_figures
from bench.system import ALERT_SAMPLES, DECISIONS, LOAD_SECONDS, system_figures
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

EVENTS = size(5000, 1000, "BENCH_EVENTS")
MEMORY_ROWS = size(10_000, 10_000, "BENCH_MEMORY_ROWS")
# BENCH_ONLY=ingest,latency runs only those figure groups (relay, ingest, single, system,
# memory, latency, dashboard) and writes bench/results/only.json instead.
ONLY = {name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()}
RESULTS = (
    Path(__file__).parent
    / "results"
    / ("only.json" if ONLY else "quick.json" if QUICK else "latest.json")
)


def wanted(group: str) -> bool:
    """Whether BENCH_ONLY (when set) names this figure group."""
    return not ONLY or group in ONLY


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


async def memory_figure(url: str) -> dict[str, object]:
    """Peak RSS of a process ingesting one 10,000-row batch, measured in that process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.memory",
        url,
        str(MEMORY_ROWS),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError("the memory bench failed")
    found = json.loads(out.splitlines()[-1])
    return {
        "figure": f"peak RSS ingesting a {MEMORY_ROWS:,}-row batch, MiB",
        "ours": round(found["maxrss_kib"] / 1024, 1),
        "baseline": None,
        "ratio": None,
        "goal": "report",
        "met": None,
        "before_batch_mib": round(found["maxrss_before_kib"] / 1024, 1),
        "body_bytes": found["body_bytes"],
    }


async def _scratch_database(url: str) -> tuple[str, Callable[[], Awaitable[None]]]:
    """A fresh database on the same server, so every run starts from empty tables."""
    parsed = make_url(url)
    name = f"cp_bench_{uuid.uuid4().hex[:10]}"
    libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(libpq)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()

    async def drop() -> None:
        conn = await asyncpg.connect(libpq)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    return parsed.set(database=name).render_as_string(hide_password=False), drop


def _cell(value: object) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def table(results: list[dict[str, object]]) -> str:
    """The summary: figure, ours, baseline, ratio, goal, met?"""
    lines = [
        f"{'figure':<56} {'ours':>10} {'baseline':>10} {'ratio':>6} {'goal':>10}  met",
        "-" * 100,
    ]
    for r in results:
        met = {True: "yes", False: "NO", None: "-"}[r["met"]]  # type: ignore[index]
        lines.append(
            f"{r['figure']:<56} {_cell(r['ours']):>10} {_cell(r['baseline']):>10} "
            f"{_cell(r['ratio']):>6} {r['goal']!s:>10}  {met}"
        )
    return "\n".join(lines)


async def main() -> None:
    started = time.perf_counter()
    if PROFILE:
        reset()
    os.environ.update(UNLIMITED)  # inherited by every process the bench starts
    configured = os.environ.get("BENCH_DATABASE_URL")
    data_dir = Path(tempfile.mkdtemp(prefix="cp-bench-pg-"))
    server = configured or embedded_database_url(data_dir)
    try:
        # The relay bench leaves 20,000 planning.plan records in the bus log; in the metrics
        # service's database its consumers would work through them during the ingest runs.
        results: list[dict[str, object]] = []
        if wanted("relay"):
            url, drop = await _scratch_database(server)
            try:
                progress("outbox relay")
                results.append(await relay_throughput(url))
            finally:
                await drop()
        if wanted("ingest") or wanted("single"):
            url, drop = await _scratch_database(server)
            try:
                if wanted("ingest"):
                    progress("webhook ingest")
                    results += await ingest_figures(url)
                if wanted("single"):
                    progress("single-row webhooks; 1,000-row latency at 70% of peak")
                    results += await single_figures(url)
            finally:
                await drop()
        if wanted("ingest"):
            # Its own database: millions of facts already stored, dropped after.
            url, drop = await _scratch_database(server)
            try:
                progress(f"webhook ingest over {HISTORY_FACTS:,} stored facts")
                results.append(await history_figure(url))
            finally:
                await drop()
        if wanted("system") or wanted("memory"):
            # Its own database too, so the all-in-one starts from empty tables and bus log.
            url, drop = await _scratch_database(server)
            try:
                if wanted("system"):
                    progress("all-in-one process")
                    results += await system_figures(url)
                if wanted("memory"):
                    progress("memory: 10,000-row batch")
                    results.append(await memory_figure(url))
            finally:
                await drop()
        if wanted("latency"):
            # One database per bus: each run of services starts from an empty log.
            embedded_url, drop_embedded = await _scratch_database(server)
            kafka_url, drop_kafka = await _scratch_database(server)
            try:
                results += await latency_figures(embedded_url, kafka_url)
            finally:
                await drop_embedded()
                await drop_kafka()
        if wanted("dashboard"):
            # Its own database too: ten million facts and their rollups, dropped after.
            url, drop = await _scratch_database(server)
            try:
                progress("KPI dashboard over daily rollups")
                results += await dashboard_figures(url)
            finally:
                await drop()
    finally:
        if not configured:
            stop_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    print()
    print(table(results))
    RESULTS.parent.mkdir(exist_ok=True)
    document = {
        "mode": "quick" if QUICK else "full",
        "only": sorted(ONLY),
        "runs": RUNS,
        "sizes": {
            "relay_events": EVENTS,
            "ingest_batches": INGEST_BATCHES,
            "alert_samples": ALERT_SAMPLES,
            "load_seconds": LOAD_SECONDS,
            "decisions_per_run": DECISIONS,
            "memory_rows": MEMORY_ROWS,
            "dashboard_facts": DASHBOARD_FACTS,
            "history_facts": HISTORY_FACTS,
            "latency_samples": LATENCY_SAMPLES,
        },
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "seconds": round(elapsed),
        "results": results,
    }
    RESULTS.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)} ({elapsed:.0f} s)")


if __name__ == "__main__":
    asyncio.run(main())
