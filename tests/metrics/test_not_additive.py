"""Reach (unique people) is never summed across campaigns or days: the dictionary says how each
metric aggregates, and rollups and KPIs give no total where one would be wrong."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.kit.settings import Settings
from tests.metrics.helpers import (
    MANAGER,
    TECH,
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
NOW = datetime(2024, 6, 12, 4, 0, tzinfo=UTC)


async def test_the_dictionary_says_how_each_metric_aggregates(
    metrics_client: httpx.AsyncClient,
) -> None:
    got = await metrics_client.get("/metrics/dictionary", headers=MANAGER)
    assert got.status_code == 200
    rules = {m["key"]: (m["aggregation"], m["additive"]) for m in got.json()["items"]}
    assert rules["reach"] == ("not_additive", False)
    assert rules["impressions"] == ("sum", True)
    assert rules["cost"] == ("sum", True)
    assert rules["ctr"] == ("derived", False)
    assert rules["brand_search_index"] == ("latest", False)
    refused = await metrics_client.put(
        "/metrics/dictionary/reach_per_yuan",
        json={
            "name": "Reach per yuan",
            "definition": "people reached per yuan spent",
            "kind": "ratio",
            "expression": "reach / cost",
        },
        headers=TECH,
    )
    assert refused.status_code == 422  # a formula over sums cannot read reach


def _channel_values(period: dict[str, Any], metric: str) -> dict[str, Decimal | None]:
    return {
        c["channel_id"]: None if c["values"][metric] is None else D(c["values"][metric])
        for c in period["channels"]
    }


async def test_reach_of_two_campaigns_and_two_days_is_not_summed(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine, settings: Settings
) -> None:
    plan_id = uuid.uuid4()
    reach_goal = objective("reach", 30000)
    await announce(
        metrics_client,
        database_url,
        plan_targets(
            plan_id, reach_goal, channels=[channel(FEED, "feed"), channel(SEARCH, "search")]
        ),
    )
    source, secret = await register(metrics_client, "meta")
    await map_entities(metrics_client, source, plan_id, ("c-feed", FEED), ("c-search", SEARCH))
    stored = await post(
        metrics_client,
        source,
        secret,
        canonical(
            "2024-06-09T09:00:00Z",
            ("c-feed", "2024-06-07", "reach", "14600"),
            ("c-feed", "2024-06-07", "impressions", "30000"),
            ("c-search", "2024-06-07", "reach", "5872"),
            ("c-search", "2024-06-07", "impressions", "9000"),
            ("c-feed", "2024-06-08", "reach", "9000"),
            ("c-feed", "2024-06-08", "impressions", "20000"),
        ),
    )
    assert stored.status_code == 200, stored.text
    window = {"from": "2024-06-07", "to": "2024-06-08"}
    for published in (False, True):
        if published:
            await run_snapshots(engine, settings, NOW)
        daily = await metrics_client.get(
            f"/metrics/plans/{plan_id}/rollups",
            params={"grain": "day", "metric": ["reach", "impressions"], **window},
            headers=MANAGER,
        )
        assert daily.status_code == 200, daily.text
        body = daily.json()
        seventh, eighth = body["periods"]
        # two campaigns' people overlap: no total for the 7th (not 14,600 + 5,872 = 20,472)
        assert seventh["values"]["reach"] is None
        assert body["additive"] == {"reach": False, "impressions": True}
        assert D(seventh["values"]["impressions"]) == D(30000 + 9000)
        assert _channel_values(seventh, "reach") == {str(FEED): D(14600), str(SEARCH): D(5872)}
        assert D(eighth["values"]["reach"]) == D(9000)  # one campaign, one day: its own figure
        month = await metrics_client.get(
            f"/metrics/plans/{plan_id}/rollups",
            params={"grain": "month", "metric": ["reach"], **window},
            headers=MANAGER,
        )
        (june,) = month.json()["periods"]
        assert june["values"]["reach"] is None
        # the feed's two days overlap too; the search channel has one entity-day
        assert _channel_values(june, "reach") == {str(FEED): None, str(SEARCH): D(5872)}
        kpis = await metrics_client.get(
            f"/metrics/plans/{plan_id}/kpis", params={"as_of": "2024-06-08"}, headers=MANAGER
        )
        (reach,) = kpis.json()["objectives"]
        # not 14,600 + 5,872 + 9,000 = 29,472 (98 % of the goal)
        assert (reach["actual"], reach["achievement"], reach["actual_gross"]) == (None, None, None)
        assert reach["additive"] is False
