"""KPI dashboard over daily rollups against a naive GROUP BY over the raw facts.

10,000,000 facts (``BENCH_QUICK``: about 1,000,000), generated deterministically from a seed and
loaded with COPY into a scratch database migrated by the metrics migrations: 4 plans × 10
channels × 172 entities a channel (two sources) × 365 days × 4 metrics, plus 50 entity-days
excluded as fraudulent in the timed plan. The facts' index is built after the load; the daily
rollups are then built by the snapshot job's own recomputation (every plan-day, one batch).
Timed: what GET /metrics/plans/{plan_id}/kpis reads (``service.kpis``: targets, pending days,
the rollup sums gross and net, the excluded count), each run in its own transaction, against
the plan's metric sums gross and net by a GROUP BY over its raw facts.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import median, percentile, progress, size
from services.metrics.kpis import service
from services.metrics.models import FraudFlag, PlanTarget
from services.metrics.rollups.repository import RollupsRepository
from shared.kit import migrations
from shared.kit.db import create_engine, create_sessionmaker

SEED = 20241124
PLANS, CHANNELS, DAYS = 4, 10, 365
ENTITIES = size(172, 17, "BENCH_DASHBOARD_ENTITIES")  # per channel
METRICS = ("impressions", "clicks", "cost", "registrations")
FACTS = PLANS * CHANNELS * ENTITIES * DAYS * len(METRICS)
RUNS = size(50, 50, "BENCH_DASHBOARD_RUNS")
NAIVE_RUNS = size(10, 20, "BENCH_DASHBOARD_NAIVE_RUNS")
WARM_UP = 5
FIRST_DAY = date(2024, 1, 1)
AS_OF = FIRST_DAY + timedelta(days=DAYS - 1)
PLAN = uuid.UUID(int=1)  # the timed plan; plans are 1..PLANS
EXCLUDED = 50
GOAL_MS = 50.0

NAIVE = """
SELECT f.metric, sum(f.value),
    sum(f.value) FILTER (WHERE NOT EXISTS (
        SELECT 1 FROM metrics.fraud_flags AS x
        WHERE x.source_id = f.source_id AND x.entity = f.entity AND x.day = f.day
            AND x.status = 'excluded'))
FROM metrics.facts AS f
WHERE f.plan_id = $1 AND f.day <= $2
GROUP BY f.metric
"""


def _channel(plan: int, channel: int) -> uuid.UUID:
    return uuid.UUID(int=(plan << 16) + channel + 1)


def _source(plan: int, channel: int) -> uuid.UUID:
    return uuid.UUID(int=(plan << 32) + channel % 2 + 1)


async def _lines() -> AsyncIterator[bytes]:
    """The facts as COPY text, about a megabyte a chunk, the same for the same seed."""
    rng = random.Random(SEED)
    reported = "2025-01-02 00:00:00+00"
    days = [(FIRST_DAY + timedelta(days=d)).isoformat() for d in range(DAYS)]
    for plan in range(1, PLANS + 1):
        plan_id = uuid.UUID(int=plan)
        for channel in range(CHANNELS):
            channel_id, source_id = _channel(plan, channel), _source(plan, channel)
            for entity in range(ENTITIES):
                name = f"c{channel}-e{entity}"
                prefix = f"{source_id}\t{name}\t"
                suffix = f"\t{reported}\t{plan_id}\t{channel_id}\n"
                scale = rng.randint(50, 5000)
                chunk = []
                for day in days:
                    impressions = scale + rng.randrange(scale)
                    clicks = impressions // rng.randint(20, 80)
                    cost = clicks * rng.randint(30, 300) / 100
                    values = (impressions, clicks, f"{cost:.2f}", clicks // rng.randint(5, 40))
                    for metric, value in zip(METRICS, values, strict=True):
                        chunk.append(f"{prefix}{day}\t{metric}\t{value}{suffix}")
                yield "".join(chunk).encode()


async def _load(libpq: str) -> float:
    """COPY the facts with the table's indexes dropped, then build them; seconds taken."""
    conn = await asyncpg.connect(libpq)
    try:
        started = time.perf_counter()
        await conn.execute("ALTER TABLE metrics.facts DROP CONSTRAINT pk_facts")
        await conn.execute("DROP INDEX metrics.ix_metrics_facts_plan_metric_day")
        await conn.copy_to_table(
            "facts",
            schema_name="metrics",
            source=_lines(),
            columns=[
                "source_id",
                "entity",
                "day",
                "metric",
                "value",
                "reported_at",
                "plan_id",
                "channel_id",
            ],
        )
        await conn.execute("SET maintenance_work_mem = '512MB'")
        await conn.execute(
            "CREATE INDEX ix_metrics_facts_plan_metric_day ON metrics.facts (plan_id, metric, day)"
        )
        await conn.execute(
            "ALTER TABLE metrics.facts ADD CONSTRAINT pk_facts "
            "PRIMARY KEY (source_id, entity, day, hour, metric)"
        )
        await conn.execute("VACUUM ANALYZE metrics.facts")
        return time.perf_counter() - started
    finally:
        await conn.close()


def _target() -> PlanTarget:
    def objective(metric: str, value: str) -> dict[str, object]:
        return {
            "objective_id": str(uuid.uuid5(PLAN, metric)),
            "type": "user_growth",
            "metric": metric,
            "target_kind": "absolute",
            "target_value": value,
            "baseline_value": None,
            "due_on": AS_OF.isoformat(),
        }

    return PlanTarget(
        plan_id=PLAN,
        version=1,
        name="bench dashboard",
        starts_on=FIRST_DAY,
        ends_on=AS_OF,
        currency="CNY",
        objectives=[
            objective("registrations", "5000000"),
            objective("clicks", "60000000"),
            objective("ctr", "0.02"),
            objective("cpc", "1.5"),
            objective("cost", "90000000"),
        ],
        channels=[
            {"channel_id": str(_channel(1, c)), "name": f"channel {c}"} for c in range(CHANNELS)
        ],
        history=[],
    )


async def dashboard_figures(url: str) -> list[dict[str, object]]:
    """Build the facts and rollups, then time the dashboard read against the naive GROUP BY."""
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    engine = create_engine(url)
    await migrations.upgrade(engine, "metrics", Path("services/metrics/migrations"))
    progress(f"dashboard: COPY {FACTS:,} facts, then their indexes")
    load_seconds = await _load(libpq)
    sessions = create_sessionmaker(engine)
    rng = random.Random(SEED + 1)
    async with sessions() as session, session.begin():
        session.add(_target())
        for n in range(EXCLUDED):
            channel = rng.randrange(CHANNELS)
            session.add(
                FraudFlag(
                    id=uuid.UUID(int=(9 << 64) + n),
                    source_id=_source(1, channel),
                    entity=f"c{channel}-e{rng.randrange(ENTITIES)}",
                    day=FIRST_DAY + timedelta(days=rng.randrange(DAYS)),
                    signal=f"manual-{n}",
                    plan_id=PLAN,
                    channel_id=_channel(1, channel),
                    score=Decimal(0),
                    detail="bench",
                    status="excluded",
                    flagged_by="bench",
                    flagged_at=datetime(2025, 1, 2, tzinfo=UTC),
                )
            )
    progress("dashboard: daily rollups of every plan-day")
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        await RollupsRepository(session).refresh_rollups(
            [
                (uuid.UUID(int=p), FIRST_DAY + timedelta(days=d))
                for p in range(1, PLANS + 1)
                for d in range(DAYS)
            ]
        )
    rollup_seconds = time.perf_counter() - started
    raw = await asyncpg.connect(libpq)
    try:
        await raw.execute("VACUUM ANALYZE metrics.daily_rollups")
    finally:
        await raw.close()
    async with engine.connect() as conn:
        rollup_rows = await conn.scalar(
            text("SELECT count(*) FROM metrics.daily_rollups WHERE plan_id = :p"), {"p": PLAN}
        )

    progress(f"dashboard: {RUNS} reads from rollups, {NAIVE_RUNS} naive GROUP BYs")
    ours: list[float] = []
    for run in range(WARM_UP + RUNS):
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            dashboard = await service.kpis(session, PLAN, AS_OF)
        if run >= WARM_UP:
            ours.append((time.perf_counter() - started) * 1000)
    naive: list[float] = []
    conn = await asyncpg.connect(libpq)
    try:
        for run in range(1 + NAIVE_RUNS):
            started = time.perf_counter()
            sums = {m: (g, n) for m, g, n in await conn.fetch(NAIVE, PLAN, AS_OF)}
            if run:
                naive.append((time.perf_counter() - started) * 1000)
    finally:
        await conn.close()
    await engine.dispose()
    # The two agree, or the comparison means nothing.
    registrations = next(o for o in dashboard.objectives if o.metric == "registrations")
    if (registrations.actual_gross, registrations.actual_net) != sums["registrations"]:
        raise RuntimeError("the dashboard and the GROUP BY over facts disagree")
    p95, naive_p95 = percentile(ours, 0.95), percentile(naive, 0.95)
    return [
        {
            "figure": f"KPI dashboard, 1 plan in {FACTS / 1e6:.1f} M facts, p95 ms",
            "ours": round(p95, 1),
            "baseline": round(naive_p95, 1),
            "baseline_is": "GROUP BY over the plan's raw facts, gross and net",
            "ratio": round(p95 / naive_p95, 3),
            "goal": f"p95 < {GOAL_MS:.0f} ms",
            "met": p95 < GOAL_MS,
            "p50_ms": round(median(ours), 1),
            "naive_p50_ms": round(median(naive), 1),
            "runs": RUNS,
            "naive_runs": NAIVE_RUNS,
            "facts": FACTS,
            "plan_facts": FACTS // PLANS,
            "rollup_rows_read": rollup_rows,
            "excluded_entity_days": dashboard.excluded_entity_days,
        },
        {
            "figure": f"  … rollups of all {PLANS * DAYS:,} plan-days rebuilt, s",
            "ours": round(rollup_seconds, 1),
            "baseline": None,
            "ratio": None,
            "goal": "report",
            "met": None,
            "copy_and_index_seconds": round(load_seconds, 1),
        },
    ]
