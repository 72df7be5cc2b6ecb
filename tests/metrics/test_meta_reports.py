"""Meta Insights rows: one action type per metric, Meta's own response shape, one-day rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from services.metrics.models import Fact
from shared.kit.db import create_engine
from tests.metrics.helpers import TECH, post, register


async def _facts(database_url: str, source: str) -> dict[tuple[str, str, str], Decimal]:
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(Fact.entity, Fact.day, Fact.metric, Fact.value).where(
                    Fact.source_id == source
                )
            )
        ).all()
    await engine.dispose()
    return {(e, d.isoformat(), m): v for e, d, m, v in rows}


def _row(campaign: str, day: str, actions: dict[str, str], **more: str) -> dict[str, Any]:
    return {
        "campaign_id": campaign,
        "date_start": day,
        "date_stop": more.pop("date_stop", day),
        "impressions": "1000",
        "clicks": "50",
        "spend": "80.00",
        "actions": [{"action_type": t, "value": v} for t, v in actions.items()],
        **more,
    }


def _meta(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"format": "meta_insights", "report_time": "2026-06-08T09:00:00Z", "rows": list(rows)}


async def test_a_conversion_meta_reports_under_overlapping_action_types_counts_once(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(metrics_client, "meta")
    overlapping = _row(
        "238",
        "2026-06-07",
        {
            "purchase": "6",
            "omni_purchase": "6",
            "offsite_conversion.fb_pixel_purchase": "6",
            "complete_registration": "4",
            "offsite_conversion.fb_pixel_complete_registration": "4",
            "link_click": "48",
        },
    )
    # A pixel-only account: the pixel's type is all there is, so it is taken.
    pixel_only = _row("239", "2026-06-07", {"offsite_conversion.fb_pixel_purchase": "5"})
    answer = await post(metrics_client, source, secret, _meta(overlapping, pixel_only))
    assert answer.status_code == 200, answer.text
    facts = await _facts(database_url, source)
    # 6 purchases, not 6 + 6 + 6 = 18; 4 registrations, not 4 + 4 = 8.
    assert facts[("238", "2026-06-07", "conversions")] == Decimal(6)
    assert facts[("238", "2026-06-07", "registrations")] == Decimal(4)
    assert facts[("239", "2026-06-07", "conversions")] == Decimal(5)
    assert ("239", "2026-06-07", "registrations") not in facts


async def test_a_source_names_its_own_order_of_action_types(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    created = await metrics_client.post(
        "/metrics/sources",
        json={
            "name": "Meta, pixel purchases only",
            "platform": "meta",
            "account_id": "act_2",
            "meta_action_types": {
                "conversions": ["offsite_conversion.fb_pixel_purchase", "purchase"]
            },
        },
        headers=TECH,
    )
    assert created.status_code == 201, created.text
    assert created.json()["meta_action_types"] == {
        "conversions": ["offsite_conversion.fb_pixel_purchase", "purchase"]
    }
    source, secret = created.json()["id"], created.json()["secrets"][0]["secret"]
    row = _row(
        "238",
        "2026-06-07",
        {
            "omni_purchase": "9",
            "offsite_conversion.fb_pixel_purchase": "7",
            "omni_complete_registration": "3",
            "complete_registration": "3",
        },
    )
    assert (await post(metrics_client, source, secret, _meta(row))).status_code == 200
    facts = await _facts(database_url, source)
    assert facts[("238", "2026-06-07", "conversions")] == Decimal(7)  # the source's choice
    assert facts[("238", "2026-06-07", "registrations")] == Decimal(3)  # the default order


async def test_a_large_batch_stored_alone_takes_the_sources_order_too(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    created = await metrics_client.post(
        "/metrics/sources",
        json={
            "name": "Meta, pixel purchases only",
            "platform": "meta",
            "account_id": "act_4",
            "meta_action_types": {"conversions": ["offsite_conversion.fb_pixel_purchase"]},
        },
        headers=TECH,
    )
    source, secret = created.json()["id"], created.json()["secrets"][0]["secret"]
    # More rows than a coalesced delivery holds: this batch has a transaction of its own.
    rows = [
        _row(
            f"c{n}",
            "2026-06-07",
            {"omni_purchase": "9", "purchase": "9", "offsite_conversion.fb_pixel_purchase": "7"},
        )
        for n in range(60)
    ]
    assert (await post(metrics_client, source, secret, _meta(*rows))).status_code == 200
    facts = await _facts(database_url, source)
    conversions = {k[0]: v for k, v in facts.items() if k[2] == "conversions"}
    assert conversions == {f"c{n}": Decimal(7) for n in range(60)}


async def test_an_unknown_metric_in_the_action_order_is_refused(
    metrics_client: httpx.AsyncClient,
) -> None:
    refused = await metrics_client.post(
        "/metrics/sources",
        json={
            "name": "Meta",
            "platform": "meta",
            "account_id": "act_3",
            "meta_action_types": {"ctr": ["link_click"]},
        },
        headers=TECH,
    )
    assert refused.status_code == 422
    assert "meta_action_types" in refused.text
    not_meta = await metrics_client.post(
        "/metrics/sources",
        json={
            "name": "Ocean Engine",
            "platform": "ocean_engine",
            "account_id": "act_5",
            "meta_action_types": {"conversions": ["purchase"]},
        },
        headers=TECH,
    )
    assert not_meta.status_code == 422
    assert "for Meta sources" in not_meta.text


async def test_meta_insights_response_as_meta_returns_it_is_a_meta_batch(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(metrics_client, "meta")
    response = {
        "data": [_row("238", "2026-06-07", {"omni_purchase": "6", "purchase": "6"})],
        "paging": {"cursors": {"before": "MAZDZD", "after": "MAZDZD"}},
    }
    answer = await post(metrics_client, source, secret, response)
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == 1
    facts = await _facts(database_url, source)
    assert facts[("238", "2026-06-07", "conversions")] == Decimal(6)
    assert facts[("238", "2026-06-07", "cost")] == Decimal("80.00")


async def test_a_batch_naming_no_format_is_told_what_to_send(
    metrics_client: httpx.AsyncClient,
) -> None:
    source, secret = await register(metrics_client, "meta")
    refused = await post(metrics_client, source, secret, {"rows": [{"campaign_id": "238"}]})
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "format"
    assert "meta_insights" in error["message"]
    assert '{"data": [...], "paging": {...}}' in error["message"]


async def test_a_row_over_several_days_is_refused_not_booked_on_its_first_day(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(metrics_client, "meta")
    week = _row("238", "2026-06-01", {"purchase": "42"}, date_stop="2026-06-07")
    for body, field in (
        (_meta(week), "meta_insights.rows.0.date_stop"),
        ({"data": [week], "paging": {}}, "data.0.date_stop"),
    ):
        refused = await post(metrics_client, source, secret, body)
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["field"] == field
        assert "time_increment=1" in error["message"]
    assert await _facts(database_url, source) == {}
