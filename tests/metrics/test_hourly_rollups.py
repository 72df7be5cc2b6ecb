"""Hourly rollups: hours land in the company time zone's hours, and a day is its whole-day fact
when there is one, else the sum of its hours."""

from __future__ import annotations

import uuid
from datetime import UTC, date
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.fraud.repository import FraudRepository
from shared.kit.db import create_sessionmaker
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
from tests.metrics.hourly_reports import FEED, NOW, WHOLE_DAY, hourly_report

D = Decimal


async def _plan(metrics_client: httpx.AsyncClient, database_url: str) -> uuid.UUID:
    plan_id = uuid.uuid4()
    targets = plan_targets(
        plan_id, objective("clicks", 1000), name="hourly", channels=[channel(FEED, "feed")]
    )
    await announce(metrics_client, database_url, targets)
    return plan_id


async def _source(
    metrics_client: httpx.AsyncClient, plan_id: uuid.UUID, timezone: str, *entities: str
) -> tuple[str, str]:
    created = await metrics_client.post(
        "/metrics/sources",
        json={"name": timezone, "platform": "other", "account_id": "a", "timezone": timezone},
        headers=TECH,
    )
    assert created.status_code == 201, created.text
    source = created.json()
    await map_entities(metrics_client, source["id"], plan_id, *((e, FEED) for e in entities))
    return source["id"], source["secrets"][0]["secret"]


async def _rollups(
    metrics_client: httpx.AsyncClient, plan_id: uuid.UUID, grain: str, *metrics: str, **extra: str
) -> dict[str, Any]:
    got = await metrics_client.get(
        f"/metrics/plans/{plan_id}/rollups",
        params={"grain": grain, "metric": list(metrics), **extra},
        headers=MANAGER,
    )
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def _hours(body: dict[str, Any], metric: str) -> dict[str, Decimal | None]:
    return {
        p["start"]: None if p["values"][metric] is None else D(p["values"][metric])
        for p in body["periods"]
    }


def _days(body: dict[str, Any], metric: str) -> dict[str, Decimal]:
    return {p["start"]: D(p["values"][metric]) for p in body["periods"]}


async def test_hours_land_in_the_company_time_zone_and_add_up_to_their_day(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine, settings: Settings
) -> None:
    assert settings.company_timezone == "Asia/Shanghai"
    plan_id = await _plan(metrics_client, database_url)
    utc, utc_secret = await _source(metrics_client, plan_id, "UTC", "u-1", "u-2")
    local, local_secret = await _source(metrics_client, plan_id, "Asia/Shanghai", "s-1")
    stored = await post(
        metrics_client,
        utc,
        utc_secret,
        hourly_report(
            "2024-06-11T09:00:00Z",
            ("u-1", "2024-06-10", 15, "clicks", "10"),  # 23:00 in Shanghai
            ("u-1", "2024-06-10", 15, "impressions", "1000"),
            ("u-2", "2024-06-10", 15, "clicks", "5"),
            ("u-2", "2024-06-10", 15, "impressions", "100"),
            ("u-1", "2024-06-10", 16, "clicks", "20"),  # 00:00 on the 11th in Shanghai
            ("u-1", "2024-06-10", 16, "impressions", "1000"),
        ),
    )
    assert stored.status_code == 200, stored.text
    stored = await post(
        metrics_client,
        local,
        local_secret,
        hourly_report(
            "2024-06-11T09:00:00Z",
            ("s-1", "2024-06-10", 9, "clicks", "7"),
            ("s-1", "2024-06-10", 23, "clicks", "3"),  # the same company hour as u-1 at 15 UTC
        ),
    )
    assert stored.status_code == 200, stored.text
    span = {"since": "2024-06-10T00:00:00", "until": "2024-06-12T00:00:00"}
    expected = {
        "2024-06-10T09:00:00+08:00": D(7),
        "2024-06-10T23:00:00+08:00": D(18),
        "2024-06-11T00:00:00+08:00": D(20),
    }
    # read from facts while the days are pending, from the hourly rollups once published
    assert (
        _hours(await _rollups(metrics_client, plan_id, "hour", "clicks", **span), "clicks")
        == expected
    )
    await run_snapshots(engine, settings, NOW)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT hour, sum(value_gross) FROM metrics.hourly_rollups "
                "WHERE plan_id = :p AND metric = 'clicks' GROUP BY hour ORDER BY hour"
            ),
            {"p": plan_id},
        )
        assert [(h.astimezone(UTC).isoformat(), v) for h, v in rows.all()] == [
            ("2024-06-10T01:00:00+00:00", D(7)),
            ("2024-06-10T15:00:00+00:00", D(18)),
            ("2024-06-10T16:00:00+00:00", D(20)),
        ]
    body = await _rollups(metrics_client, plan_id, "hour", "clicks", "ctr", **span)
    assert _hours(body, "clicks") == expected
    assert body["timezone"] == "Asia/Shanghai"
    # a ratio is the ratio of the hour's sums (s-1 reports no impressions: the plan's CTR at
    # 23:00 is 18 clicks over 1,100 impressions)
    assert _hours(body, "ctr")["2024-06-10T23:00:00+08:00"] == (D(18) / D(1100)).quantize(
        D("0.000001")
    )
    (feed,) = body["periods"][2]["channels"]
    assert (feed["channel_id"], D(feed["values"]["ctr"])) == (str(FEED), D("0.02"))
    # only the company-time-zone range asked for (an offset given is honoured)
    narrow = await _rollups(
        metrics_client,
        plan_id,
        "hour",
        "clicks",
        since="2024-06-10T15:00:00Z",
        until="2024-06-10T16:00:00Z",
    )
    assert _hours(narrow, "clicks") == {"2024-06-10T23:00:00+08:00": D(18)}

    # the daily rollups are company days too: the hours of each day sum to it (u-1's 16:00 UTC
    # hour is 00:00 on the 11th in Shanghai, so the 11th's)
    days = await _rollups(
        metrics_client, plan_id, "day", "clicks", **{"from": "2024-06-09", "to": "2024-06-12"}
    )
    assert _days(days, "clicks") == {"2024-06-10": D(7 + 3 + 10 + 5), "2024-06-11": D(20)}
    assert sum(v for v in expected.values() if v is not None) == D(45)

    # a restated hour follows at once, and into the rollups at the next run
    await post(
        metrics_client,
        utc,
        utc_secret,
        hourly_report("2024-06-11T10:00:00Z", ("u-1", "2024-06-10", 16, "clicks", "25")),
    )
    restated = _hours(await _rollups(metrics_client, plan_id, "hour", "clicks", **span), "clicks")
    assert restated["2024-06-11T00:00:00+08:00"] == D(25)
    await run_snapshots(engine, settings, NOW)
    assert _hours(await _rollups(metrics_client, plan_id, "hour", "clicks", **span), "clicks") == {
        **expected,
        "2024-06-11T00:00:00+08:00": D(25),
    }
    days = await _rollups(
        metrics_client, plan_id, "day", "clicks", **{"from": "2024-06-10", "to": "2024-06-11"}
    )
    assert _days(days, "clicks") == {"2024-06-10": D(25), "2024-06-11": D(25)}


async def test_a_whole_day_fact_is_the_days_figure_and_its_hours_do_not_count_again(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine, settings: Settings
) -> None:
    plan_id = await _plan(metrics_client, database_url)
    source, secret = await _source(metrics_client, plan_id, "Asia/Shanghai", "e-1", "e-2")
    await post(
        metrics_client,
        source,
        secret,
        hourly_report(
            "2024-06-10T12:00:00Z",
            ("e-1", "2024-06-10", 10, "clicks", "10"),
            ("e-1", "2024-06-10", 11, "clicks", "20"),
            ("e-1", "2024-06-10", 10, "impressions", "400"),
            ("e-1", "2024-06-10", 11, "impressions", "600"),
            ("e-2", "2024-06-10", 10, "clicks", "4"),
        ),
    )
    window = {"from": "2024-06-10", "to": "2024-06-10"}
    before = await _rollups(metrics_client, plan_id, "day", "clicks", "impressions", **window)
    assert (_days(before, "clicks"), _days(before, "impressions")) == (
        {"2024-06-10": D(34)},
        {"2024-06-10": D(1000)},
    )
    # the settled daily figure of e-1's clicks replaces its hours in the day (not 30 + 35)
    await post(
        metrics_client,
        source,
        secret,
        hourly_report("2024-06-11T02:00:00Z", ("e-1", "2024-06-10", WHOLE_DAY, "clicks", "35")),
    )
    for published in (False, True):  # from facts while pending, then from the daily rollups
        if published:
            await run_snapshots(engine, settings, NOW)
        body = await _rollups(
            metrics_client, plan_id, "day", "clicks", "impressions", "ctr", **window
        )
        assert _days(body, "clicks") == {"2024-06-10": D(39)}
        assert _days(body, "impressions") == {"2024-06-10": D(1000)}  # no daily figure: hours
        assert _days(body, "ctr") == {"2024-06-10": D("0.039")}
        kpis = (
            await metrics_client.get(
                f"/metrics/plans/{plan_id}/kpis", params={"as_of": "2024-06-10"}, headers=MANAGER
            )
        ).json()
        assert D(kpis["objectives"][0]["actual"]) == 39
    # the hours are still there, by the hour
    span = {"since": "2024-06-10T00:00:00", "until": "2024-06-11T00:00:00"}
    assert _hours(await _rollups(metrics_client, plan_id, "hour", "clicks", **span), "clicks") == {
        "2024-06-10T10:00:00+08:00": D(14),
        "2024-06-10T11:00:00+08:00": D(20),
    }
    # the fraud scan sees each entity-day once, with its day's figure
    async with create_sessionmaker(engine)() as session:
        found = await FraudRepository(session).facts_between(
            date(2024, 6, 10), date(2024, 6, 10), ["clicks", "impressions"]
        )
    assert sorted((e, m, v) for _p, _c, _s, e, _d, m, v in found) == [
        ("e-1", "clicks", D(35)),
        ("e-1", "impressions", D(1000)),
        ("e-2", "clicks", D(4)),
    ]
    # an excluded entity-day leaves the net figures of its hours too
    flagged = await metrics_client.post(
        f"/metrics/plans/{plan_id}/fraud-flags",
        json={
            "source_id": source,
            "entity": "e-2",
            "day": "2024-06-10",
            "reason": "bots",
            "status": "excluded",
        },
        headers=MANAGER,
    )
    assert flagged.status_code == 201, flagged.text
    await run_snapshots(engine, settings, NOW)
    body = await _rollups(metrics_client, plan_id, "hour", "clicks", **span)
    (ten, _eleven) = body["periods"]
    assert (D(ten["values"]["clicks"]), D(ten["values_gross"]["clicks"])) == (D(10), D(14))


async def test_an_hour_range_is_bounded(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    plan_id = await _plan(metrics_client, database_url)
    url = f"/metrics/plans/{plan_id}/rollups"
    for params in (
        {"since": "2024-06-01T00:00:00", "until": "2024-07-02T00:00:01"},  # over 31 days
        {"since": "2024-06-02T00:00:00", "until": "2024-06-01T00:00:00"},  # backwards
        {"since": "2024-06-01T00:00:00"},  # to today: far over 31 days
        {"from": "2024-05-01", "to": "2024-06-30"},
    ):
        refused = await metrics_client.get(
            url, params={"grain": "hour", "metric": "clicks", **params}, headers=MANAGER
        )
        assert refused.status_code == 422, (params, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    month = await metrics_client.get(
        url,
        params={
            "grain": "hour",
            "metric": "clicks",
            "since": "2024-06-01T00:00:00",
            "until": "2024-07-02T00:00:00",
        },
        headers=MANAGER,
    )
    assert month.status_code == 200, month.text
    assert month.json()["since"] == "2024-06-01T00:00:00+08:00"
    days = await metrics_client.get(
        url,
        params={"grain": "day", "metric": "clicks", "since": "2024-06-01T00:00:00"},
        headers=MANAGER,
    )
    assert days.status_code == 422
