"""Webhook ingestion: signatures, duplicate deliveries, restatements, whole-batch validation."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from services.metrics.models import Fact, FactRevision
from shared.kit.db import create_engine
from tests.metrics.helpers import TECH, canonical, post, register


async def _facts(database_url: str) -> dict[tuple[str, str, str], tuple[Decimal, int]]:
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Fact.entity, Fact.day, Fact.metric, Fact.value))).all()
        revisions = await conn.scalar(select(func.count()).select_from(FactRevision))
    await engine.dispose()
    return {(e, d.isoformat(), m): (v, int(revisions or 0)) for e, d, m, v in rows}


async def test_duplicates_restatements_and_late_reports_end_in_the_right_facts(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(metrics_client)
    first = canonical(
        "2024-06-08T09:00:00Z",
        ("c1", "2024-06-07", "clicks", "120"),
        ("c1", "2024-06-07", "impressions", "10000"),
        ("c1", "2024-06-06", "clicks", "100"),
    )
    accepted = await post(metrics_client, source, secret, first, delivery_id="msg_1")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {
        "delivery_id": "msg_1",
        "rows": 3,
        "facts": 3,
        "inserted": 3,
        "revised": 0,
        "ignored_stale": 0,
    }
    again = await post(metrics_client, source, secret, first, delivery_id="msg_1")
    assert again.json() == accepted.json()
    reused = await post(
        metrics_client,
        source,
        secret,
        canonical("2024-06-08T09:00:00Z", ("c1", "2024-06-07", "clicks", "1")),
        delivery_id="msg_1",
    )
    assert reused.status_code == 409
    restated = canonical("2024-06-09T09:00:00Z", ("c1", "2024-06-07", "clicks", "126"))
    assert (await post(metrics_client, source, secret, restated)).json()["revised"] == 1
    late = canonical(
        "2024-06-08T12:00:00Z",
        ("c1", "2024-06-07", "clicks", "121"),
        ("c1", "2024-06-05", "clicks", "90"),
    )
    late_answer = (await post(metrics_client, source, secret, late)).json()
    assert (late_answer["ignored_stale"], late_answer["inserted"]) == (1, 1)
    facts = await _facts(database_url)
    assert {k: v for k, (v, _r) in facts.items()} == {
        ("c1", "2024-06-07", "clicks"): Decimal(126),
        ("c1", "2024-06-07", "impressions"): Decimal(10000),
        ("c1", "2024-06-06", "clicks"): Decimal(100),
        ("c1", "2024-06-05", "clicks"): Decimal(90),
    }
    assert next(iter(facts.values()))[1] == 6  # every value received is kept as a revision


async def test_unsigned_expired_tampered_and_retired_requests_are_refused(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(metrics_client)
    batch = canonical("2024-06-08T09:00:00Z", ("c1", "2024-06-07", "clicks", "1"))
    unsigned = await metrics_client.post(f"/metrics/webhooks/{source}", json=batch)
    assert unsigned.status_code == 401
    assert unsigned.headers["content-type"] == "application/problem+json"
    expired = await post(metrics_client, source, secret, batch, sent_at=int(time.time()) - 301)
    assert expired.status_code == 401
    future = await post(metrics_client, source, secret, batch, sent_at=int(time.time()) + 301)
    assert future.status_code == 401
    assert (await post(metrics_client, source, secret, batch, tamper=True)).status_code == 401
    rotated = (await metrics_client.post(f"/metrics/sources/{source}/secrets", headers=TECH)).json()
    new_secret = next(s["secret"] for s in rotated["secrets"] if s["secret"])
    assert (await post(metrics_client, source, secret, batch)).status_code == 200
    assert (await post(metrics_client, source, new_secret, batch)).status_code == 200
    old_id = rotated["secrets"][0]["id"]
    await metrics_client.post(
        f"/metrics/sources/{source}/secrets", params={"retire": old_id}, headers=TECH
    )
    assert (await post(metrics_client, source, secret, batch)).status_code == 401
    assert (await post(metrics_client, source, new_secret, batch)).status_code == 200


async def test_a_batch_with_a_bad_row_is_refused_whole_with_per_row_errors(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(metrics_client)
    rows: list[Any] = [("c1", "2024-06-07", "clicks", "1")] * 3
    batch = canonical("2024-06-08T09:00:00Z", *rows)
    batch["rows"][1]["value"] = "-4"
    batch["rows"][2]["metric"] = "vibes"
    refused = await post(metrics_client, source, secret, batch)
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert {"canonical.rows.1.value", "canonical.rows.2.metric"} <= fields
    assert await _facts(database_url) == {}
    garbage = await post(metrics_client, source, secret, b"{not json")
    assert garbage.status_code == 422


async def test_meta_and_ocean_engine_reports_map_to_the_same_facts(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    meta_source, meta_secret = await register(metrics_client, "meta")
    meta = {
        "format": "meta_insights",
        "report_time": "2024-06-08T09:00:00Z",
        "rows": [
            {
                "campaign_id": "238",
                "date_start": "2024-06-07",
                "date_stop": "2024-06-07",
                "impressions": "10000",
                "clicks": "120",
                "spend": "850.50",
                "actions": [
                    {"action_type": "complete_registration", "value": "30"},
                    {"action_type": "link_click", "value": "118"},
                    {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "7"},
                ],
            }
        ],
    }
    assert (await post(metrics_client, meta_source, meta_secret, meta)).status_code == 200
    ocean_source, ocean_secret = await register(metrics_client, "ocean_engine")
    ocean = {
        "format": "ocean_engine",
        "report_time": "2024-06-08T09:00:00Z",
        "rows": [
            {
                "campaign_id": "1790",
                "stat_datetime": "2024-06-07 00:00:00",
                "show_cnt": 20000,
                "click_cnt": 300,
                "convert_cnt": 12,
                "stat_cost": "1200.00",
            }
        ],
    }
    assert (await post(metrics_client, ocean_source, ocean_secret, ocean)).status_code == 200
    facts = {k: v for k, (v, _r) in (await _facts(database_url)).items()}
    assert facts[("238", "2024-06-07", "cost")] == Decimal("850.50")
    assert facts[("238", "2024-06-07", "registrations")] == Decimal(30)
    assert facts[("238", "2024-06-07", "conversions")] == Decimal(7)
    assert facts[("1790", "2024-06-07", "impressions")] == Decimal(20000)
    assert facts[("1790", "2024-06-07", "conversions")] == Decimal(12)


async def test_fifty_concurrent_identical_deliveries_store_one_effect(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    import asyncio

    source, secret = await register(metrics_client)
    batch = canonical("2024-06-08T09:00:00Z", ("c1", "2024-06-07", "clicks", "120"))
    answers = await asyncio.gather(
        *(post(metrics_client, source, secret, batch, delivery_id="msg_burst") for _ in range(50))
    )
    assert {a.status_code for a in answers} == {200}, [
        a.text for a in answers if a.status_code != 200
    ][:2]
    assert all(a.json() == answers[0].json() for a in answers)
    facts = await _facts(database_url)
    assert list(facts.values()) == [(Decimal(120), 1)]  # one fact, one revision
