"""One company day everywhere: an hour reported by a UTC source is on the Shanghai day (and
month) its hour starts in, in the day and month grains as in the hour grain; a whole-day fact
stays on its day."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.kit.settings import Settings
from tests.metrics.helpers import (
    MANAGER,
    TECH,
    announce,
    channel,
    map_entities,
    objective,
    plan_targets,
    post,
    run_snapshots,
)

D = Decimal
FEED = uuid.uuid4()
NOW = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)


async def _rollups(
    metrics_client: httpx.AsyncClient, plan_id: uuid.UUID, grain: str, **extra: str
) -> dict[str, Decimal | None]:
    got = await metrics_client.get(
        f"/metrics/plans/{plan_id}/rollups",
        params={"grain": grain, "metric": "clicks", **extra},
        headers=MANAGER,
    )
    assert got.status_code == 200, got.text
    return {
        p["start"]: None if p["values"]["clicks"] is None else D(p["values"]["clicks"])
        for p in got.json()["periods"]
    }


async def _updates(engine: AsyncEngine, plan_id: uuid.UUID) -> dict[str, Decimal]:
    """The plan-level clicks of each day announced in metrics_updated events."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT envelope -> 'data' FROM metrics.outbox "
                "WHERE event_type = 'metrics.plan.metrics_updated' AND subject = :plan "
                "ORDER BY id"
            ),
            {"plan": str(plan_id)},
        )
        announced: dict[str, Decimal] = {}
        for (data,) in rows.all():
            if data["channel_id"] is None:
                clicks: dict[str, Any] = next(v for v in data["values"] if v["metric"] == "clicks")
                announced[data["day"]] = D(clicks["value"])
        return announced


async def test_an_hour_of_a_utc_source_is_on_the_company_day_in_every_grain(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine, settings: Settings
) -> None:
    assert settings.company_timezone == "Asia/Shanghai"
    plan_id = uuid.uuid4()
    await announce(
        metrics_client,
        database_url,
        plan_targets(
            plan_id,
            objective("clicks", 1000, due_on=date(2026, 11, 30)),
            starts_on=date(2026, 10, 1),
            ends_on=date(2026, 11, 30),
            channels=[channel(FEED, "feed")],
        ),
    )
    created = await metrics_client.post(
        "/metrics/sources",
        json={"name": "utc", "platform": "other", "account_id": "a", "timezone": "UTC"},
        headers=TECH,
    )
    assert created.status_code == 201, created.text
    source, secret = created.json()["id"], created.json()["secrets"][0]["secret"]
    await map_entities(metrics_client, source, plan_id, ("u-1", FEED), ("u-2", FEED))
    stored = await post(
        metrics_client,
        source,
        secret,
        {
            "format": "canonical",
            "report_time": "2026-11-01T09:00:00Z",
            "rows": [
                # 23:00 UTC on the 31st is 07:00 on 1 November in Shanghai
                {"entity": "u-1", "day": "2026-10-31", "hour": 23, "metric": "clicks", "value": 40},
                # 10:00 UTC is 18:00 the same day in Shanghai
                {"entity": "u-1", "day": "2026-10-31", "hour": 10, "metric": "clicks", "value": 5},
                # a whole-day figure cannot be split between zones: it stays on its day
                {"entity": "u-2", "day": "2026-10-31", "metric": "clicks", "value": 100},
            ],
        },
    )
    assert stored.status_code == 200, stored.text
    hours = {"2026-10-31T18:00:00+08:00": D(5), "2026-11-01T07:00:00+08:00": D(40)}
    days = {"2026-10-31": D(5 + 100), "2026-11-01": D(40)}
    months = {"2026-10-01": D(5 + 100), "2026-11-01": D(40)}
    # read from facts while the source day is pending, then from the rollups
    for published in (False, True):
        if published:
            await run_snapshots(engine, settings, NOW)
        span = {"since": "2026-10-31T00:00:00", "until": "2026-11-02T00:00:00"}
        assert await _rollups(metrics_client, plan_id, "hour", **span) == hours
        window = {"from": "2026-10-30", "to": "2026-11-02"}
        assert await _rollups(metrics_client, plan_id, "day", **window) == days
        year = {"from": "2026-10-01", "to": "2026-11-30"}
        assert await _rollups(metrics_client, plan_id, "month", **year) == months
    # the day 1 November the hour lands on is announced too, with the figure the rollups give
    assert await _updates(engine, plan_id) == days
