"""Funnels and trends over HTTP: a plan with three channels whose facts are computed by hand
gives each step's conversion, the bottleneck of every channel in words (zh-CN and English),
and each KPI against the ten days before and the same days of the product's earlier campaign.

The plan runs in June 2024 and is read over June 11-20; the period before is June 1-10.

| June 11-20     | impressions | clicks | registrations | first orders | retained next day |
|----------------|-------------|--------|---------------|--------------|-------------------|
| A Douyin feed  | 100,000     | 2,000  | 100           | 40           | 50                |
| B Xiaohongshu  | 50,000      | 1,000  | 200           | 60           | 120               |
| C campus       | 50,000      | 1,000  | 100           | 40           | 60                |
| June 1-10: A   | 60,000      | 1,200  | 72            | 18           | 36                |
| June 1-10: C   | 40,000      | 1,000  | 100           | 40           | 60                |
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.contract.events.planning import PlanCreatedV1
from shared.kit.settings import Settings
from tests.harness.factories import metrics as factories
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

NOW = datetime(2024, 6, 21, 9, 0, tzinfo=UTC)
JUNE_6 = datetime(2024, 6, 6, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
PRODUCT = "Glow serum"
WINDOW = {"from": "2024-06-11", "to": "2024-06-20"}
Sessions = async_sessionmaker[AsyncSession]


def _day(entity: str, day: str, *counts: int) -> list[tuple[str, str, str, str]]:
    """One entity-day's funnel: impressions, clicks, registrations, first orders, retained."""
    steps = ("impressions", "clicks", "registrations", "first_orders", "retained_next_day")
    return [(entity, day, m, str(v)) for m, v in zip(steps, counts, strict=False)]


async def _created(sessions: Sessions, plan_id: uuid.UUID, product: str, starts: date) -> None:
    event = PlanCreatedV1(
        plan_id=plan_id,
        name=f"{product} {starts:%B}",
        product=product,
        owner_id="manager-li",
        starts_on=starts,
        ends_on=starts.replace(day=28),
        currency="CNY",
    )
    await factories.known(sessions, event)


async def _three_channel_plan(
    metrics_client: httpx.AsyncClient,
    database_url: str,
    engine: AsyncEngine,
    settings: Settings,
    sessions: Sessions,
) -> dict[str, uuid.UUID]:
    """Plan P (June) with channels A, B, C; Q (March, same product), R (February, another
    product) and S (September, same product, later): only Q is P's earlier campaign."""
    plans = {name: uuid.uuid4() for name in "PQRS"}
    # P's version 1 was approved on May 28; an adjustment made version 2 on June 6.
    for version, approved in ((1, datetime(2024, 5, 28, 2, tzinfo=UTC)), (2, JUNE_6)):
        targets = plan_targets(
            plans["P"],
            objective("registrations", 1000),
            objective("ctr", "0.03"),
            objective("first_orders", 300),
            channels=[channel(A, "Douyin feed"), channel(B, "Xiaohongshu"), channel(C, "Campus")],
            version=version,
        )
        await factories.known(sessions, targets, time=approved)
    for name, starts in (("Q", date(2024, 3, 1)), ("R", date(2024, 2, 1)), ("S", date(2024, 9, 1))):
        await announce(
            metrics_client,
            database_url,
            plan_targets(
                plans[name], starts_on=starts, ends_on=starts.replace(day=28), name=f"plan {name}"
            ),
        )
    for name, product, starts in (
        ("P", PRODUCT, date(2024, 6, 1)),
        ("Q", PRODUCT, date(2024, 3, 1)),
        ("R", "Other cream", date(2024, 2, 1)),
        ("S", PRODUCT, date(2024, 9, 1)),
    ):
        await _created(sessions, plans[name], product, starts)

    source, secret = await register(metrics_client, "internal")
    await map_entities(
        metrics_client,
        source,
        plans["P"],
        ("a-1", A),
        ("b-1", B),
        ("c-1", C),
    )
    await map_entities(metrics_client, source, plans["Q"], "q-1")
    await map_entities(metrics_client, source, plans["R"], "r-1")
    first = canonical(
        "2024-06-20T09:00:00Z",
        # A's June 12 clicks first come in as 900, and are restated to 1,200 below.
        *_day("a-1", "2024-06-12", 60_000, 900, 60, 25, 30),
        *_day("a-1", "2024-06-15", 40_000, 800, 40, 15, 20),
        *_day("b-1", "2024-06-13", 50_000, 1_000, 200, 60, 120),
        *_day("c-1", "2024-06-14", 50_000, 1_000, 100, 40, 60),
        *_day("a-1", "2024-06-05", 60_000, 1_200, 72, 18, 36),
        *_day("c-1", "2024-06-06", 40_000, 1_000, 100, 40, 60),
        # After the window: counts nowhere.
        *_day("a-1", "2024-06-21", 999_999, 5),
        # Q, days 11-20 of March: 100,000 impressions, 1,000 clicks, 500 registrations.
        *_day("q-1", "2024-03-12", 100_000, 1_000),
        ("q-1", "2024-03-15", "registrations", "500"),
        ("q-1", "2024-03-25", "registrations", "999"),  # day 25: outside the aligned days
        ("r-1", "2024-02-15", "registrations", "7"),
    )
    assert (await post(metrics_client, source, secret, first)).status_code == 200
    await run_snapshots(engine, settings, NOW)  # the read path meets rollup rows ...
    restated = canonical("2024-06-21T09:00:00Z", ("a-1", "2024-06-12", "clicks", "1200"))
    assert (
        await post(metrics_client, source, secret, restated)
    ).status_code == 200  # ... and facts
    return plans


def _steps(funnel: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["metric"]: s for s in funnel["steps"]}


def _number(value: str | None) -> float | None:
    return None if value is None else float(value)


async def test_three_channels_give_the_hand_computed_funnels_and_bottlenecks(
    metrics_client: httpx.AsyncClient,
    database_url: str,
    engine: AsyncEngine,
    settings: Settings,
    sessions: Sessions,
) -> None:
    plans = await _three_channel_plan(metrics_client, database_url, engine, settings, sessions)
    answer = await metrics_client.get(
        f"/metrics/plans/{plans['P']}/funnels", params={**WINDOW, "lang": "en"}, headers=MANAGER
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-language"] == "en"
    body = answer.json()
    assert (body["previous_first"], body["previous_last"]) == ("2024-06-01", "2024-06-10")
    a, b, c = body["channels"]
    assert [x["name"] for x in (a, b, c)] == ["Douyin feed", "Xiaohongshu", "Campus"]

    # A: 100,000 → 2,000 → 100 → 40, and 50 of the 100 registrations back the next day.
    steps = _steps(a)
    assert [_number(steps[m]["count"]) for m in steps] == [100_000, 2_000, 100, 40, 50]
    assert [_number(steps[m]["conversion"]) for m in steps] == [None, 0.02, 0.05, 0.4, 0.5]
    # Its peers B + C: 100,000 → 2,000 → 300 → 100 first orders, 180 retained.
    assert [_number(steps[m]["peers_conversion"]) for m in steps] == [
        None,
        0.02,
        0.15,
        0.333333,
        0.6,
    ]
    # Ten days before: 60,000 → 1,200 → 72 → 18, 36 retained.
    assert [_number(steps[m]["previous_conversion"]) for m in steps] == [
        None,
        0.02,
        0.06,
        0.25,
        0.5,
    ]
    # Sign-ups per click 5 % against the peers' 15 %: 2/3 short, the largest gap.
    assert a["bottleneck"] == {
        "from_metric": "clicks",
        "metric": "registrations",
        "conversion": "0.050000",
        "comparison": "peers",
        "compared_with": "0.150000",
        "shortfall": "0.666667",
    }
    assert a["summary"] == (
        "Bottleneck of Douyin feed: Clicks → New registered users converts at 5.00%, against "
        "15.00% on the plan's other channels (67% lower)."
    )
    # B: first orders per registration 60 / 200 = 30 % against A + C's 80 / 200 = 40 %;
    # B has no figures before June 11, so nothing to hold it against there.
    assert (b["bottleneck"]["metric"], b["bottleneck"]["comparison"]) == ("first_orders", "peers")
    assert _number(b["bottleneck"]["shortfall"]) == 0.25
    assert all(s["previous_conversion"] is None for s in b["steps"])
    # C converts like its peers at every step, but its CTR fell from 1,000 / 40,000 = 2.5 %
    # to 2 %: 20 % short of its own past.
    assert c["bottleneck"]["comparison"] == "previous_period"
    assert (c["bottleneck"]["from_metric"], c["bottleneck"]["metric"]) == ("impressions", "clicks")
    assert (_number(c["bottleneck"]["compared_with"]), _number(c["bottleneck"]["shortfall"])) == (
        0.025,
        0.2,
    )
    assert c["summary"].endswith("against 2.50% in the 10 days before (20% lower).")
    # The whole plan: CTR 4,000 / 200,000 = 2 % against 2,200 / 100,000 = 2.2 % before, the only
    # step that fell (1/11 short); sign-ups 400 / 4,000 = 10 % against 172 / 2,200 rose.
    whole = body["plan"]
    assert whole["channel_id"] is None
    assert _number(_steps(whole)["registrations"]["conversion"]) == 0.1
    assert _number(_steps(whole)["registrations"]["previous_conversion"]) == 0.078182
    assert whole["bottleneck"]["metric"] == "clicks"
    assert _number(whole["bottleneck"]["shortfall"]) == 0.090909

    # The same answer for a Chinese reader, as the report chooses its language.
    chinese = await metrics_client.get(
        f"/metrics/plans/{plans['P']}/funnels",
        params=WINDOW,
        headers={**MANAGER, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"},
    )
    assert chinese.headers["content-language"] == "zh-CN"
    a = chinese.json()["channels"][0]
    assert a["summary"] == (
        "Douyin feed的瓶颈：点击量 → 新注册用户 转化率为 5.00%，本计划其他渠道为 15.00%（低 67%）。"
    )
    assert [s["name"] for s in a["steps"]][-1] == "次日留存用户数"


async def test_kpis_trend_against_the_period_before_and_the_products_earlier_campaign(
    metrics_client: httpx.AsyncClient,
    database_url: str,
    engine: AsyncEngine,
    settings: Settings,
    sessions: Sessions,
) -> None:
    plans = await _three_channel_plan(metrics_client, database_url, engine, settings, sessions)
    answer = await metrics_client.get(
        f"/metrics/plans/{plans['P']}/trends", params=WINDOW, headers=MANAGER
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["product"] == PRODUCT
    kpis = {k["metric"]: k for k in body["kpis"]}
    assert list(kpis) == ["registrations", "ctr", "first_orders"]

    def change(found: dict[str, Any]) -> tuple[Any, ...]:
        return (
            _number(found["current"]),
            _number(found["earlier"]),
            found["direction"],
            _number(found["absolute"]),
            _number(found["relative"]),
        )

    # Registrations 400 against 72 + 100 = 172 before: +228, +132.5581 %.
    assert change(kpis["registrations"]["previous_period"]) == (400, 172, "up", 228, 1.325581)
    # CTR 4,000 / 200,000 = 2 % against 2,200 / 100,000 = 2.2 %: −0.2 points, −1/11.
    assert change(kpis["ctr"]["previous_period"]) == (0.02, 0.022, "down", -0.002, -0.090909)
    # First orders 140 against 18 + 40 = 58: +82, +141.3793 %.
    assert change(kpis["first_orders"]["previous_period"]) == (140, 58, "up", 82, 1.413793)

    # Only Q is an earlier campaign of the product (R sells another, S comes later); its days
    # 11-20 are March 11-20: 500 registrations (not the 999 of March 25), CTR 1 %.
    (q,) = kpis["registrations"]["earlier_campaigns"]
    assert (q["plan_id"], q["first"], q["last"]) == (str(plans["Q"]), "2024-03-11", "2024-03-20")
    assert change(q["change"]) == (400, 500, "down", -100, -0.2)
    (q_ctr,) = kpis["ctr"]["earlier_campaigns"]
    assert change(q_ctr["change"]) == (0.02, 0.01, "up", 0.01, 1)
    # Q never reported first orders: no data, not a fall from zero.
    (q_orders,) = kpis["first_orders"]["earlier_campaigns"]
    assert change(q_orders["change"]) == (140, None, "no_data", None, None)

    # Version 1 ran June 1-5 (from the campaign's start to the day before version 2): A's 72
    # registrations of June 5 are 72 / 5 = 14.4 a day, against 400 / 10 = 40 a day now; its
    # CTR was 1,200 / 60,000 = 2 %, as now; 18 first orders are 3.6 a day against 14.
    (v1,) = kpis["registrations"]["earlier_versions"]
    assert (v1["version"], v1["first"], v1["last"], v1["per_day"]) == (
        1,
        "2024-06-01",
        "2024-06-05",
        True,
    )
    assert change(v1["change"]) == (40, 14.4, "up", 25.6, 1.777778)
    (v1_ctr,) = kpis["ctr"]["earlier_versions"]
    assert v1_ctr["per_day"] is False
    assert change(v1_ctr["change"]) == (0.02, 0.02, "flat", 0, 0)
    (v1_orders,) = kpis["first_orders"]["earlier_versions"]
    assert change(v1_orders["change"]) == (14, 3.6, "up", 10.4, 2.888889)


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"from": "2024-06-20", "to": "2024-06-11"}, 422, "from"),
        ({"metric": "no_such_metric", "to": "2024-06-20"}, 422, "metric"),
    ],
)
async def test_refusals_name_the_field(
    metrics_client: httpx.AsyncClient,
    database_url: str,
    params: dict[str, str],
    status: int,
    field: str,
) -> None:
    plan_id = uuid.uuid4()
    await announce(metrics_client, database_url, plan_targets(plan_id))
    found = await metrics_client.get(
        f"/metrics/plans/{plan_id}/trends", params=params, headers=MANAGER
    )
    assert found.status_code == status, found.text
    assert found.headers["content-type"].startswith("application/problem+json")
    assert field in found.text


async def test_an_unknown_plan_is_not_found(metrics_client: httpx.AsyncClient) -> None:
    for route in ("funnels", "trends"):
        found = await metrics_client.get(f"/metrics/plans/{uuid.uuid4()}/{route}", headers=MANAGER)
        assert found.status_code == 404, found.text
