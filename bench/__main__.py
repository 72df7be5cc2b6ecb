"""``make bench``: figures measured side by side with their baselines in the same run.

Figures, in stages (``STAGES``): outbox relay throughput to the embedded log against a raw
claim-and-mark loop; webhook ingest through the real endpoint against raw asyncpg upsert and COPY
(bench/ingest.py, bench/single.py), also over ten million stored facts; webhook → alert raised
latency on both buses (bench/latency.py); metric snapshot → alert raised latency and idle RSS of the
all-in-one process (bench/system.py), peak RSS ingesting a 10,000-row batch (bench/memory.py);
REST create plan, list tasks and decide approval, each against its own service process, next to
a bare ``SELECT 1`` endpoint (bench/rest.py); the KPI dashboard over ten million facts
(bench/dashboard.py). Each figure is the median of several runs after a warm-up (latencies:
percentiles over samples after warm-up ones). Each stage runs in a scratch database of its own,
created on the server and dropped after it. The summary table, with every goal's same-run
baseline, ratio and met / not met, is printed and written to bench/results/latest.json
(``BENCH_QUICK=1``: smaller sizes, bench/results/quick.json; ``BENCH_ONLY=rest,relay``: those
stages only, bench/results/only-rest-relay.json, or only-rest-relay-quick.json).
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
from typing import NamedTuple

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
from bench.rest import DECISIONS, LOAD_SECONDS, rest_figures
from bench.single import single_figures
from bench.system import ALERT_SAMPLES, system_figures
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
RESULTS = Path(__file__).parent / "results" / ("quick.json" if QUICK else "latest.json")


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


async def webhook_figures(url: str) -> list[dict[str, object]]:
    """1,000-row batches against the same-work baseline, raw upsert and COPY; single-row
    webhooks; paced latency."""
    progress("webhook ingest")
    batches = await ingest_figures(url)
    progress("single-row webhooks; 1,000-row latency at 70% of peak")
    return [*batches, *await single_figures(url)]


async def history_stage(url: str) -> list[dict[str, object]]:
    """Ingest into a table already holding millions of facts, against an empty one."""
    progress(f"webhook ingest over {HISTORY_FACTS:,} stored facts")
    return [await history_figure(url)]


async def latency_stage(url: str) -> list[dict[str, object]]:
    """Webhook → alert raised on both buses, each run of services on an empty bus log."""
    kafka_url, drop_kafka = await _scratch_database(url)
    try:
        return await latency_figures(url, kafka_url)
    finally:
        await drop_kafka()


async def allinone_figures(url: str) -> list[dict[str, object]]:
    """The all-in-one process's figures, then the memory of one 10,000-row batch."""
    progress("all-in-one process")
    rows = await system_figures(url)
    progress("memory: 10,000-row batch")
    return [*rows, await memory_figure(url)]


async def relay_figures(url: str) -> list[dict[str, object]]:
    progress("outbox relay")
    return [await relay_throughput(url)]


async def dashboard_stage(url: str) -> list[dict[str, object]]:
    progress("KPI dashboard over daily rollups")
    return await dashboard_figures(url)


class Stage(NamedTuple):
    """Figures measured together, in a scratch database of their own (dropped after)."""

    name: str
    measure: Callable[[str], Awaitable[list[dict[str, object]]]]


# In the order they run. Each gets a fresh database: the relay bench leaves 20,000
# planning.plan records in the bus log, which the metrics service's consumers would otherwise
# work through during the ingest runs; REST and the all-in-one start from empty tables and bus
# log; the dashboard's ten million facts are dropped after. Add a stage here for new figures.
STAGES: list[Stage] = [
    Stage("relay", relay_figures),
    Stage("webhooks", webhook_figures),
    Stage("history", history_stage),
    Stage("allinone", allinone_figures),
    Stage("latency", latency_stage),
    Stage("rest", rest_figures),
    Stage("dashboard", dashboard_stage),
]
# BENCH_ONLY=rest,relay runs those stages only (bench/results/only-rest-relay[-quick].json).
ONLY = [name for name in os.environ.get("BENCH_ONLY", "").split(",") if name]


def chosen_stages() -> list[Stage]:
    unknown = set(ONLY) - {stage.name for stage in STAGES}
    if unknown:
        raise SystemExit(
            f"BENCH_ONLY names no stage {sorted(unknown)}; stages: "
            f"{', '.join(stage.name for stage in STAGES)}"
        )
    return [stage for stage in STAGES if not ONLY or stage.name in ONLY]


def goals_line(results: list[dict[str, object]]) -> str:
    """How many of the judged figures met their goal, and which missed."""
    judged = [r for r in results if r["met"] is not None]
    missed = [str(r["figure"]).strip() for r in judged if not r["met"]]
    line = f"goals met: {len(judged) - len(missed)} of {len(judged)}"
    return line + (f"; not met: {'; '.join(missed)}" if missed else "")


async def main() -> None:
    started = time.perf_counter()
    if PROFILE:
        reset()
    os.environ.update(UNLIMITED)  # inherited by every process the bench starts
    stages = chosen_stages()
    configured = os.environ.get("BENCH_DATABASE_URL")
    data_dir = Path(tempfile.mkdtemp(prefix="cp-bench-pg-"))
    server = configured or embedded_database_url(data_dir)
    results: list[dict[str, object]] = []
    try:
        for stage in stages:
            url, drop = await _scratch_database(server)
            try:
                results += await stage.measure(url)
            finally:
                await drop()
    finally:
        if not configured:
            stop_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    print()
    print(table(results))
    print(goals_line(results))
    quick = "-quick" if QUICK else ""
    results_path = RESULTS.with_name(f"only-{'-'.join(ONLY)}{quick}.json") if ONLY else RESULTS
    results_path.parent.mkdir(exist_ok=True)
    document = {
        "mode": "quick" if QUICK else "full",
        "stages": [stage.name for stage in stages],
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
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_at_end": [round(n, 2) for n in os.getloadavg()],
        },
        "seconds": round(elapsed),
        "goals": goals_line(results),
        "results": results,
    }
    results_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {results_path.relative_to(ROOT)} ({elapsed:.0f} s)")


if __name__ == "__main__":
    asyncio.run(main())
