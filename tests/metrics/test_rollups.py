"""Daily rollups: kept from dirty days by the snapshot job, summed by week and month, and read
by the KPI dashboard with the same results as a GROUP BY over the raw facts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from services.metrics.rollups.repository import RollupsRepository
from shared.contract.events.planning import PlanTargetsSetV1
from shared.contract.types import ObjectiveType
from shared.kit.db import create_sessionmaker
from shared.kit.settings import Settings
from tests.metrics.helpers import (
    MANAGER,
    announce,
    canonical,
    channel,
    map_entities,
    objective,
    plan_targets,
    post,
    register,
    run_snapshots,
)

D = Decimal
FEED, SEARCH = uuid.uuid4(), uuid.uuid4()
NOW = datetime(2024, 6, 30, 4, 0, tzinfo=UTC)
AS_OF = "2024-06-30"


def _targets(plan_id: uuid.UUID) -> PlanTargetsSetV1:
    return plan_targets(
        plan_id,
        objective("registrations", 1000),
        objective("roi", 4, type=ObjectiveType.COST_EFFICIENCY),
        name="rollups",
        starts_on=date(2024, 5, 1),
        ends_on=date(2024, 7, 31),
        channels=[channel(FEED, "feed"), channel(SEARCH, "search")],
    )


class Plan:
    """A plan with targets and a source mapped to it: feed, search and plan-level entities."""

    def __init__(
        self, metrics_client: httpx.AsyncClient, plan_id: uuid.UUID, source: str, secret: str
    ):
        self.metrics_client, self.id, self.source, self.secret = (
            metrics_client,
            plan_id,
            source,
            secret,
        )

    async def report(self, at: str, *rows: tuple[str, str, str, str]) -> None:
        stored = await post(self.metrics_client, self.source, self.secret, canonical(at, *rows))
        assert stored.status_code == 200, stored.text

    async def rollups(self, grain: str, *metrics: str, **extra: str) -> dict[str, Any]:
        got = await self.metrics_client.get(
            f"/metrics/plans/{self.id}/rollups",
            params={"grain": grain, "metric": list(metrics), "to": AS_OF, **extra},
            headers=MANAGER,
        )
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    async def kpis(self) -> dict[str, Any]:
        got = await self.metrics_client.get(
            f"/metrics/plans/{self.id}/kpis", params={"as_of": AS_OF}, headers=MANAGER
        )
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body


@pytest.fixture
async def plan(metrics_client: httpx.AsyncClient, database_url: str) -> Plan:
    plan_id = uuid.uuid4()
    await announce(metrics_client, database_url, _targets(plan_id))
    source, secret = await register(metrics_client)
    await map_entities(
        metrics_client,
        source,
        plan_id,
        "all",
        *((f"feed-{n}", FEED) for n in range(3)),
        *((f"search-{n}", SEARCH) for n in range(2)),
    )
    return Plan(metrics_client, plan_id, source, secret)


async def _stored(engine: AsyncEngine, plan_id: uuid.UUID) -> dict[tuple[str, str, str], Any]:
    """The rollup rows as stored: (day, channel_key, metric) → (gross, net), sources summed."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT day, channel_key, metric, sum(value_gross), sum(value_net) "
                "FROM metrics.daily_rollups WHERE plan_id = :p GROUP BY 1, 2, 3"
            ),
            {"p": plan_id},
        )
        return {(d.isoformat(), c, m): (g, n) for d, c, m, g, n in rows.all()}


async def _dirty(engine: AsyncEngine, plan_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM metrics.dirty_days WHERE plan_id = :p"), {"p": plan_id}
        )
    return int(count or 0)


def _day(body: dict[str, Any], day: str, metric: str, *, gross: bool = False) -> Any:
    (period,) = [p for p in body["periods"] if p["start"] == day]
    value = period["values_gross" if gross else "values"][metric]
    return None if value is None else D(value)


async def test_rollups_follow_a_restatement_and_a_late_older_report(
    plan: Plan, engine: AsyncEngine, settings: Settings
) -> None:
    await plan.report(
        "2024-06-11T09:00:00Z",
        ("feed-0", "2024-06-10", "registrations", "100"),
        ("feed-1", "2024-06-10", "registrations", "20"),
        ("all", "2024-06-10", "registrations", "5"),
    )
    await run_snapshots(engine, settings, NOW)
    stored = await _stored(engine, plan.id)
    assert stored[("2024-06-10", str(FEED), "registrations")] == (D(120), D(120))
    assert stored[("2024-06-10", "plan", "registrations")] == (D(5), D(5))
    assert await _dirty(engine, plan.id) == 0

    # A restatement: read at once (the day is still dirty), stored by the next job run.
    await plan.report("2024-06-12T09:00:00Z", ("feed-0", "2024-06-10", "registrations", "70"))
    assert _day(await plan.rollups("day", "registrations"), "2024-06-10", "registrations") == 95
    assert (await _stored(engine, plan.id))[("2024-06-10", str(FEED), "registrations")][0] == 120
    await run_snapshots(engine, settings, NOW)
    assert (await _stored(engine, plan.id))[("2024-06-10", str(FEED), "registrations")] == (
        D(90),
        D(90),
    )

    # A late report older than the restatement changes no fact; an older day arriving late counts.
    await plan.report(
        "2024-06-11T10:00:00Z",
        ("feed-0", "2024-06-10", "registrations", "1000"),
        ("search-0", "2024-06-03", "registrations", "7"),
    )
    await run_snapshots(engine, settings, NOW)
    stored = await _stored(engine, plan.id)
    assert stored[("2024-06-10", str(FEED), "registrations")] == (D(90), D(90))
    assert stored[("2024-06-03", str(SEARCH), "registrations")] == (D(7), D(7))
    body = await plan.rollups("day", "registrations", **{"from": "2024-06-01"})
    assert [(p["start"], D(p["values"]["registrations"])) for p in body["periods"]] == [
        ("2024-06-03", D(7)),
        ("2024-06-10", D(95)),
    ]
    search = body["periods"][0]["channels"]
    assert [(c["channel_id"], D(c["values"]["registrations"])) for c in search] == [
        (str(SEARCH), D(7))
    ]
    (registrations, _roi) = (await plan.kpis())["objectives"]
    assert D(registrations["actual"]) == 102


async def test_net_leaves_out_an_excluded_entity_day_until_it_is_cleared(
    plan: Plan, engine: AsyncEngine, settings: Settings
) -> None:
    await plan.report(
        "2024-06-11T09:00:00Z",
        ("feed-0", "2024-06-10", "registrations", "400"),
        ("feed-1", "2024-06-10", "registrations", "30"),
        ("search-0", "2024-06-10", "registrations", "12"),
    )
    await run_snapshots(engine, settings, NOW)
    flagged = await plan.metrics_client.post(
        f"/metrics/plans/{plan.id}/fraud-flags",
        json={
            "source_id": plan.source,
            "entity": "feed-0",
            "day": "2024-06-10",
            "reason": "bulk sign-ups",
            "status": "excluded",
        },
        headers=MANAGER,
    )
    assert flagged.status_code == 201, flagged.text
    before_job = await plan.rollups("day", "registrations")
    assert _day(before_job, "2024-06-10", "registrations") == 42
    assert _day(before_job, "2024-06-10", "registrations", gross=True) == 442
    await run_snapshots(engine, settings, NOW)
    stored = await _stored(engine, plan.id)
    assert stored[("2024-06-10", str(FEED), "registrations")] == (D(430), D(30))
    assert stored[("2024-06-10", str(SEARCH), "registrations")] == (D(12), D(12))
    body = await plan.rollups("month", "registrations")
    (june,) = body["periods"]
    assert (D(june["values"]["registrations"]), D(june["values_gross"]["registrations"])) == (
        D(42),
        D(442),
    )
    (registrations, _roi) = (await plan.kpis())["objectives"]
    assert (D(registrations["actual_net"]), D(registrations["actual_gross"])) == (D(42), D(442))

    cleared = await plan.metrics_client.put(
        f"/metrics/plans/{plan.id}/fraud-flags/{flagged.json()['id']}",
        json={"status": "cleared"},
        headers=MANAGER,
    )
    assert cleared.status_code == 200, cleared.text
    await run_snapshots(engine, settings, NOW)
    stored = await _stored(engine, plan.id)
    assert stored[("2024-06-10", str(FEED), "registrations")] == (D(430), D(430))
    (registrations, _roi) = (await plan.kpis())["objectives"]
    assert D(registrations["actual_net"]) == 442


async def test_week_and_month_grains_sum_days_across_a_month_boundary(
    plan: Plan, engine: AsyncEngine, settings: Settings
) -> None:
    first = date(2024, 5, 27)  # a Monday; the week runs into June
    rows = []
    for n in range(14):
        day = (first + timedelta(days=n)).isoformat()
        rows.append(("feed-0", day, "clicks", str(n + 1)))
        rows.append(("feed-0", day, "impressions", str(100 * (n + 1))))
        rows.append(("search-0", day, "clicks", "1"))
        rows.append(("search-0", day, "impressions", "50"))
    await plan.report("2024-06-11T09:00:00Z", *rows)
    await run_snapshots(engine, settings, NOW)
    params = {"from": "2024-05-27", "to": "2024-06-09"}
    weeks = (await plan.rollups("week", "clicks", "ctr", **params))["periods"]
    assert [(p["start"], p["end"], D(p["values"]["clicks"])) for p in weeks] == [
        ("2024-05-27", "2024-06-02", D(sum(range(1, 8)) + 7)),
        ("2024-06-03", "2024-06-09", D(sum(range(8, 15)) + 7)),
    ]
    # a ratio is the ratio of the week's sums, per channel and for the plan
    assert D(weeks[0]["values"]["ctr"]) == (D(28 + 7) / D(2800 + 350)).quantize(D("0.000001"))
    feed = next(c for c in weeks[0]["channels"] if c["channel_id"] == str(FEED))
    assert D(feed["values"]["ctr"]) == D("0.01")
    months = (await plan.rollups("month", "clicks", **params))["periods"]
    assert [(p["start"], p["end"], D(p["values"]["clicks"])) for p in months] == [
        ("2024-05-27", "2024-05-31", D(sum(range(1, 6)) + 5)),
        ("2024-06-01", "2024-06-09", D(sum(range(6, 15)) + 9)),
    ]
    days = (await plan.rollups("day", "clicks", **params))["periods"]
    assert len(days) == 14
    assert sum(D(p["values"]["clicks"]) for p in days) == sum(
        D(p["values"]["clicks"]) for p in weeks
    )
    assert sum(D(p["values"]["clicks"]) for p in days) == sum(
        D(p["values"]["clicks"]) for p in months
    )

    refused = await plan.metrics_client.get(
        f"/metrics/plans/{plan.id}/rollups",
        params={"metric": "clicks", "from": "2024-06-09", "to": "2024-06-01"},
        headers=MANAGER,
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    unknown = await plan.metrics_client.get(
        f"/metrics/plans/{plan.id}/rollups", params={"metric": "likes"}, headers=MANAGER
    )
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("application/problem+json")


NAIVE = """
SELECT f.metric, sum(f.value),
    sum(f.value) FILTER (WHERE NOT EXISTS (
        SELECT 1 FROM metrics.fraud_flags AS x
        WHERE x.source_id = f.source_id AND x.entity = f.entity AND x.day = f.day
            AND x.status = 'excluded'))
FROM metrics.facts AS f
WHERE f.plan_id = :p AND f.day <= :until
GROUP BY f.metric
"""
NAIVE_CHANNELS = """
SELECT f.channel_id, f.metric, sum(f.value) FROM metrics.facts AS f
WHERE f.plan_id = :p AND f.day <= :until GROUP BY 1, 2
"""


async def _compare(
    sessions: async_sessionmaker[Any], plan_id: uuid.UUID, until: date
) -> dict[str, Decimal]:
    async with sessions() as session:
        repo = RollupsRepository(session)
        figures = await repo.figures(plan_id, until)
        channels = await repo.channel_sums(plan_id, until)
        naive = (await session.execute(text(NAIVE), {"p": plan_id, "until": until})).all()
        naive_channels = (
            await session.execute(text(NAIVE_CHANNELS), {"p": plan_id, "until": until})
        ).all()
        daily = await repo.daily(plan_id, "registrations", until)
        naive_daily = (
            await session.execute(
                text(
                    "SELECT day, sum(value) FROM metrics.facts WHERE plan_id = :p "
                    "AND metric = 'registrations' AND day <= :until GROUP BY day ORDER BY day"
                ),
                {"p": plan_id, "until": until},
            )
        ).all()
    assert figures.gross_sums == {m: g for m, g, _n in naive}
    assert figures.net_sums == {m: n for m, _g, n in naive if n is not None}
    expected: dict[uuid.UUID | None, dict[str, Decimal]] = {}
    for channel_id, metric, total in naive_channels:
        expected.setdefault(channel_id, {})[metric] = total
    assert channels == expected
    assert daily == [(d, v) for d, v in naive_daily]
    return figures.gross_sums


async def test_dashboard_reads_equal_a_group_by_over_the_facts(
    plan: Plan, engine: AsyncEngine, settings: Settings
) -> None:
    rows = []
    for n in range(20):
        day = (date(2024, 6, 1) + timedelta(days=n)).isoformat()
        for entity in ("feed-0", "feed-1", "feed-2", "search-0", "search-1", "all"):
            seed = (n * 7 + len(entity) * 13) % 17
            rows.append((entity, day, "registrations", str(seed + 1)))
            rows.append((entity, day, "cost", f"{seed * 3}.25"))
            rows.append((entity, day, "gmv", f"{seed * 11}.5"))
            rows.append((entity, day, "brand_search_index", str(1000 + n)))
    await plan.report("2024-06-21T09:00:00Z", *rows)
    sessions = create_sessionmaker(engine)
    until = date(2024, 6, 30)
    before = await _compare(sessions, plan.id, until)  # every day still dirty: from facts
    await run_snapshots(engine, settings, NOW)
    assert await _dirty(engine, plan.id) == 0
    assert await _compare(sessions, plan.id, until) == before  # every day from rollups
    assert await _compare(sessions, plan.id, date(2024, 6, 12)) != before

    flagged = await plan.metrics_client.post(
        f"/metrics/plans/{plan.id}/fraud-flags",
        json={
            "source_id": plan.source,
            "entity": "all",
            "day": "2024-06-20",
            "reason": "bot traffic",
            "status": "excluded",
        },
        headers=MANAGER,
    )
    assert flagged.status_code == 201, flagged.text
    # restated days mix with rolled-up ones until the job runs, and after
    await plan.report(
        "2024-06-22T09:00:00Z",
        ("feed-2", "2024-06-05", "registrations", "999"),
        ("search-1", "2024-06-21", "cost", "10"),
    )
    await _compare(sessions, plan.id, until)
    await run_snapshots(engine, settings, NOW)
    await _compare(sessions, plan.id, until)
    async with sessions() as session:
        figures = await RollupsRepository(session).figures(plan.id, until)
    # the latest day of the index is the 20th; net leaves out the excluded entity on it
    assert figures.gross_latest["brand_search_index"] == D(1019 * 6)
    assert figures.net_latest["brand_search_index"] == D(1019 * 5)
    kpis = await plan.kpis()
    assert kpis["excluded_entity_days"] == 1


async def test_a_remapped_campaign_takes_its_facts_to_the_new_plan_and_channel(
    plan: Plan, engine: AsyncEngine, settings: Settings
) -> None:
    await plan.report(
        "2024-06-11T09:00:00Z",
        ("feed-0", "2024-06-10", "registrations", "100"),
        ("feed-1", "2024-06-10", "registrations", "20"),
    )
    await run_snapshots(engine, settings, NOW)

    # feed-1 was booked to the wrong channel: moved to search, without being re-reported.
    await map_entities(plan.metrics_client, plan.source, plan.id, ("feed-1", SEARCH))
    await run_snapshots(engine, settings, NOW)
    stored = await _stored(engine, plan.id)
    assert stored[("2024-06-10", str(FEED), "registrations")] == (D(100), D(100))
    assert stored[("2024-06-10", str(SEARCH), "registrations")] == (D(20), D(20))

    # feed-0 belongs to another plan altogether: this plan's day no longer counts it.
    other = uuid.uuid4()
    await map_entities(plan.metrics_client, plan.source, other, "feed-0")
    await run_snapshots(engine, settings, NOW)
    stored = await _stored(engine, plan.id)
    assert stored == {("2024-06-10", str(SEARCH), "registrations"): (D(20), D(20))}
    assert (await _stored(engine, other))[("2024-06-10", "plan", "registrations")] == (
        D(100),
        D(100),
    )
    (registrations, _roi) = (await plan.kpis())["objectives"]
    assert D(registrations["actual"]) == 20
