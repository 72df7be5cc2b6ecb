"""The docs/domain.md §6 evaluation from ingested facts; snapshots published coalesced.

The metrics service runs alone; the plan, its source and facts are built through metrics' own
functions (tests/harness/factories/metrics.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics.models import bus
from services.metrics.rollups.snapshots import JOBS
from shared.contract.events.planning import PlanTargetsSetV1
from shared.contract.types import ObjectiveType, TargetKind
from shared.kit.db import create_engine
from shared.kit.settings import Settings
from tests.harness.factories import metrics as factories
from tests.metrics.helpers import (
    MANAGER,
    canonical,
    channel,
    objective,
    plan_targets,
)

FEED = uuid.uuid4()
Sessions = async_sessionmaker[AsyncSession]


def targets(plan_id: uuid.UUID) -> PlanTargetsSetV1:
    return plan_targets(
        plan_id,
        objective("registrations", "200000"),
        objective("gmv", "5000000", type=ObjectiveType.SALES_CONVERSION),
        objective(
            "brand_search_index",
            "30",
            type=ObjectiveType.BRAND_AWARENESS,
            target_kind=TargetKind.RELATIVE,
            baseline_value=Decimal(1000),
        ),
        objective("roi", "4", type=ObjectiveType.COST_EFFICIENCY),
        name="618 serum launch",
        starts_on=date(2024, 5, 1),
        ends_on=date(2024, 7, 31),
        channels=[channel(FEED, "Douyin feed ads", 380000)],
    )


async def _plan_with_facts(sessions: Sessions) -> uuid.UUID:
    plan_id = uuid.uuid4()
    await factories.known(sessions, targets(plan_id))
    source, secret = await factories.source(sessions)
    await factories.map_entities(sessions, source, plan_id, "all", ("feed", FEED))
    batch = canonical(
        "2024-06-21T09:00:00Z",
        ("all", "2024-06-10", "registrations", "100000"),
        ("all", "2024-06-17", "registrations", "80000"),
        ("all", "2024-06-18", "gmv", "6200000"),
        ("all", "2024-06-18", "cost", "1192307.69"),
        ("all", "2024-06-01", "brand_search_index", "1200"),
        ("all", "2024-06-20", "brand_search_index", "1450"),
        ("feed", "2024-06-07", "impressions", "100000"),
        ("feed", "2024-06-07", "clicks", "1200"),
    )
    assert (await factories.ingest(sessions, source, secret, batch))["inserted"] == 8
    return plan_id


async def test_the_seed_evaluation_table_is_reproduced_from_ingested_facts(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id = await _plan_with_facts(sessions)
    report = (
        await metrics_client.get(
            f"/metrics/plans/{plan_id}/evaluation", params={"as_of": "2024-06-30"}, headers=MANAGER
        )
    ).json()
    table = [(r["metric"], r["target"], r["actual"], r["achievement"]) for r in report["rows"]]
    assert table == [
        ("New registered users", "200,000", "180,000", "90%"),
        ("Campaign GMV", "5,000,000", "6,200,000", "124%"),
        ("Brand keyword search volume", "+30%", "+45%", "150%"),
        ("ROI", "1:4", "1:5.2", "130%"),
    ]
    feed = next(c for c in report["channels"] if c["name"] == "Douyin feed ads")
    assert Decimal(feed["ctr"]) == Decimal("0.012")
    row = report["rows"][0]
    noted = await metrics_client.put(
        f"/metrics/plans/{plan_id}/evaluation/{row['objective_id']}",
        json={
            "data_source": "user back end",
            "analysis": "feed-ad targeting too narrow",
            "suggestion": "widen age band to 18-35",
        },
        headers=MANAGER,
    )
    assert noted.status_code == 204
    page = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation.html", params={"as_of": "2024-06-30"}, headers=MANAGER
    )
    assert page.headers["content-type"].startswith("text/html")
    assert "feed-ad targeting too narrow" in page.text
    assert "<svg" in page.text


async def test_snapshots_are_published_once_per_change(
    database_url: str, settings: Settings, sessions: Sessions
) -> None:
    plan_id = await _plan_with_facts(sessions)
    engine = create_engine(database_url)
    (job,) = JOBS
    now = datetime(2024, 6, 21, 9, 5, tzinfo=UTC)
    await job.run_once(sessions, settings, now)
    await job.run_once(sessions, settings, now)
    async with engine.connect() as conn:
        events = (await conn.execute(select(bus.outbox.c.event_type, bus.outbox.c.envelope))).all()
    await engine.dispose()
    snapshots = [e.envelope for e in events if e.event_type == "metrics.plan.kpi_snapshot"]
    assert len(snapshots) == 1
    assert snapshots[0]["subject"] == str(plan_id)
    updates = [e.envelope["data"] for e in events if e.event_type == "metrics.plan.metrics_updated"]
    feed_day = next(u for u in updates if u["channel_id"] == str(FEED))
    ctr = next(v for v in feed_day["values"] if v["metric"] == "ctr")
    assert (Decimal(ctr["value"]), Decimal(ctr["numerator"]), Decimal(ctr["denominator"])) == (
        Decimal("0.012"),
        Decimal(1200),
        Decimal(100000),
    )
    spend = [e for e in events if e.event_type == "metrics.plan.spend_recorded"]
    assert spend


async def test_figures_inside_the_settlement_window_are_provisional_until_it_passes(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id = await _plan_with_facts(sessions)  # data up to 2024-06-20, 28-day window
    url = f"/metrics/plans/{plan_id}/kpis"
    early = (await metrics_client.get(url, params={"as_of": "2024-06-21"}, headers=MANAGER)).json()
    assert (early["final_through"], early["provisional"]) == ("2024-05-24", True)
    late = (await metrics_client.get(url, params={"as_of": "2024-07-19"}, headers=MANAGER)).json()
    assert (late["final_through"], late["provisional"]) == ("2024-06-21", False)


async def test_the_evaluation_shows_the_targets_earlier_versions_aimed_at(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id = await _plan_with_facts(sessions)
    kept = (await metrics_client.get(f"/metrics/plans/{plan_id}/kpis", headers=MANAGER)).json()
    ids = {o["metric"]: o["objective_id"] for o in kept["objectives"]}
    first = targets(plan_id)  # the same objectives under the ids version 1 gave them
    raised = [
        o.model_copy(
            update={
                "objective_id": uuid.UUID(ids[o.metric]),
                "target_value": Decimal(5500000) if o.metric == "gmv" else o.target_value,
            }
        )
        for o in first.objectives
    ]
    await factories.known(sessions, first.model_copy(update={"version": 2, "objectives": raised}))
    url = f"/metrics/plans/{plan_id}/evaluation"

    report: dict[str, Any] = (
        await metrics_client.get(url, params={"as_of": "2024-06-21"}, headers=MANAGER)
    ).json()
    assert report["plan_version"] == 2
    rows = {r["metric"]: r for r in report["rows"]}
    gmv = next(r for name, r in rows.items() if "GMV" in name or "gmv" in name.lower())
    assert (gmv["target"], gmv["achievement"]) == ("5,500,000", "113%")
    assert gmv["earlier_targets"] == [{"version": 1, "target": "5,000,000", "achievement": "124%"}]
    unchanged = [r for r in report["rows"] if r is not gmv]
    assert all(r["earlier_targets"] == [] for r in unchanged)


async def test_the_campaign_counts_from_its_first_day_and_is_compared_with_the_period_before(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id = await _plan_with_facts(sessions)  # 180,000 registrations in May-June
    source, secret = await factories.source(sessions)
    await factories.map_entities(sessions, source, plan_id, "before")
    earlier = canonical(
        "2024-06-21T09:00:00Z",
        ("before", "2024-04-15", "registrations", "150000"),  # inside 10 March - 30 April
        ("before", "2024-03-01", "registrations", "99999"),  # before even that
    )
    assert (await factories.ingest(sessions, source, secret, earlier))["inserted"] == 2
    url = f"/metrics/plans/{plan_id}/evaluation"
    report = (await metrics_client.get(url, params={"as_of": "2024-06-21"}, headers=MANAGER)).json()
    (row,) = [r for r in report["rows"] if r["actual"] == "180,000"]
    assert (row["target"], row["achievement"]) == ("200,000", "90%")  # April is not counted
    assert row["previous_period"] == {
        "first_day": "2024-03-10",
        "last_day": "2024-04-30",
        "actual": "150000",
        "change": "+20%",
    }
