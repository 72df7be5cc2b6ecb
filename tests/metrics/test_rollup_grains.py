"""Every rollup grain knows the same metrics: a derived metric is a ratio of the hour's sums at
grain=hour as it is of the day's at grain=day (the hour grain once refused it as unknown)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from tests.metrics.helpers import (
    MANAGER,
    TECH,
    announce,
    map_entities,
    objective,
    plan_targets,
    post,
    register,
)

D = Decimal
CPM = {
    "name": "Cost per mille",
    "definition": "spend per thousand impressions",
    "expression": "cost / impressions * 1000",
}


def _hours(*rows: tuple[int, str, str]) -> dict[str, Any]:
    """A canonical batch of one entity's (hour, metric, value) rows on 2024-06-10."""
    return {
        "format": "canonical",
        "report_time": "2024-06-11T09:00:00Z",
        "rows": [
            {"entity": "feed", "day": "2024-06-10", "hour": h, "metric": m, "value": v}
            for h, m, v in rows
        ],
    }


async def _rollups(
    metrics_client: httpx.AsyncClient, plan_id: uuid.UUID, grain: str
) -> httpx.Response:
    return await metrics_client.get(
        f"/metrics/plans/{plan_id}/rollups",
        params={
            "grain": grain,
            "metric": "cost_per_mille",
            "from": "2024-06-10",
            "to": "2024-06-10",
        },
        headers=MANAGER,
    )


async def test_a_derived_metric_is_rolled_up_by_the_hour_as_by_the_day(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    defined = await metrics_client.put("/metrics/dictionary/cost_per_mille", json=CPM, headers=TECH)
    assert defined.status_code == 200, defined.text
    plan_id = uuid.uuid4()
    await announce(metrics_client, database_url, plan_targets(plan_id, objective("clicks", 100)))
    source, secret = await register(metrics_client)
    await map_entities(metrics_client, source, plan_id, "feed")
    stored = await post(
        metrics_client,
        source,
        secret,
        _hours(
            (10, "cost", "2"),
            (10, "impressions", "1000"),
            (11, "cost", "6"),
            (11, "impressions", "2000"),
        ),
    )
    assert stored.status_code == 200, stored.text

    by_hour = await _rollups(metrics_client, plan_id, "hour")
    assert by_hour.status_code == 200, by_hour.text
    # 2 / 1000 * 1000 and 6 / 2000 * 1000, each hour a ratio of its own sums
    assert [D(p["values"]["cost_per_mille"]) for p in by_hour.json()["periods"]] == [2, 3]
    by_day = await _rollups(metrics_client, plan_id, "day")
    assert by_day.status_code == 200, by_day.text
    # the day: 8 / 3000 * 1000, not the mean of the hours' 2 and 3
    (day,) = by_day.json()["periods"]
    assert D(day["values"]["cost_per_mille"]).quantize(D("0.0001")) == D("2.6667")


async def test_since_and_until_bound_hours_only(metrics_client: httpx.AsyncClient) -> None:
    # Refused before anything is looked up: the plan need not exist.
    refused = await metrics_client.get(
        f"/metrics/plans/{uuid.uuid4()}/rollups",
        params={"grain": "day", "metric": "clicks", "since": "2024-06-10T00:00:00"},
        headers=MANAGER,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "since"
