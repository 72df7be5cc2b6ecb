"""Hourly facts: an hour is its own fact, restated and kept stale-proof by itself, and facts
stored before hours existed become whole-day facts."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.app import DEFINITION
from services.metrics.models import Fact, FactRevision
from shared.kit.migrations import alembic_config
from tests.metrics.helpers import (
    post,
    register,
)
from tests.metrics.hourly_reports import WHOLE_DAY, hourly_report

D = Decimal

FactKey = tuple[str, str, int, str]


async def _facts(engine: AsyncEngine, source: str) -> dict[FactKey, Decimal]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Fact.entity, Fact.day, Fact.hour, Fact.metric, Fact.value).where(
                Fact.source_id == uuid.UUID(source)
            )
        )
        return {(e, d.isoformat(), h, m): v for e, d, h, m, v in rows.all()}


async def _revisions(engine: AsyncEngine, source: str) -> list[tuple[int, str, Decimal]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(FactRevision.hour, FactRevision.metric, FactRevision.value)
            .where(FactRevision.source_id == uuid.UUID(source))
            .order_by(FactRevision.id)
        )
        return [(h, m, v) for h, m, v in rows.all()]


def _ocean(at: str, granularity: str | None, *rows: tuple[str, str, int]) -> dict[str, Any]:
    """An Ocean Engine report: (campaign, stat_datetime, clicks) rows."""
    report: dict[str, Any] = {
        "format": "ocean_engine",
        "report_time": at,
        "rows": [
            {"campaign_id": c, "stat_datetime": s, "click_cnt": n, "show_cnt": n * 10}
            for c, s, n in rows
        ],
    }
    if granularity is not None:
        report["time_granularity"] = granularity
    return report


async def test_each_hour_is_a_fact_restated_alone_and_a_late_older_report_changes_nothing(
    metrics_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    source, secret = await register(metrics_client, "ocean_engine")
    hourly = "STAT_TIME_GRANULARITY_HOURLY"
    first = await post(
        metrics_client,
        source,
        secret,
        _ocean(
            "2024-06-10T15:00:00Z",
            hourly,
            ("1790", "2024-06-10 13:00:00", 30),
            ("1790", "2024-06-10 14:00:00", 40),
        ),
    )
    assert first.status_code == 200, first.text
    assert (first.json()["inserted"], first.json()["facts"]) == (8, 8)
    # the 00:00 row of a daily report is the whole day, not hour 0
    daily = await post(
        metrics_client,
        source,
        secret,
        _ocean("2024-06-11T01:00:00Z", None, ("1790", "2024-06-09 00:00:00", 5)),
    )
    assert daily.status_code == 200, daily.text
    restated = await post(
        metrics_client,
        source,
        secret,
        _ocean("2024-06-10T16:00:00Z", hourly, ("1790", "2024-06-10 13:00:00", 33)),
    )
    assert (restated.json()["revised"], restated.json()["inserted"]) == (4, 0)
    late = await post(
        metrics_client,
        source,
        secret,
        _ocean("2024-06-10T14:30:00Z", hourly, ("1790", "2024-06-10 13:00:00", 29)),
    )
    assert late.json()["ignored_stale"] == 4
    facts = await _facts(engine, source)
    assert {k: v for k, v in facts.items() if k[3] == "clicks"} == {
        ("1790", "2024-06-10", 13, "clicks"): D(33),
        ("1790", "2024-06-10", 14, "clicks"): D(40),
        ("1790", "2024-06-09", WHOLE_DAY, "clicks"): D(5),
    }
    assert facts[("1790", "2024-06-10", 13, "impressions")] == D(330)
    # every value received is kept, the stale one too
    assert [v for h, m, v in await _revisions(engine, source) if m == "clicks" and h == 13] == [
        D(30),
        D(33),
        D(29),
    ]

    # canonical and Meta rows carry hours the same way
    canonical = await post(
        metrics_client,
        source,
        secret,
        hourly_report("2024-06-10T17:00:00Z", ("1790", "2024-06-10", 14, "clicks", "41")),
    )
    assert canonical.json()["revised"] == 1
    meta_source, meta_secret = await register(metrics_client, "meta")
    meta = {
        "format": "meta_insights",
        "report_time": "2024-06-10T17:00:00Z",
        "rows": [
            {
                "campaign_id": "238",
                "date_start": "2024-06-10",
                "hourly_stats_aggregated_by_advertiser_time_zone": "13:00:00 - 13:59:59",
                "impressions": "900",
                "clicks": "12",
                "spend": "30.5",
                "reach": "800",
            }
        ],
    }
    assert (await post(metrics_client, meta_source, meta_secret, meta)).status_code == 200
    assert await _facts(engine, meta_source) == {  # reach does not add up over hours: left out
        ("238", "2024-06-10", 13, "impressions"): D(900),
        ("238", "2024-06-10", 13, "clicks"): D(12),
        ("238", "2024-06-10", 13, "cost"): D("30.5"),
    }
    refused = await post(
        metrics_client,
        source,
        secret,
        hourly_report("2024-06-10T18:00:00Z", ("1790", "2024-06-10", 13, "reach", "10")),
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "canonical.rows.0.hour"
    out_of_range = await post(
        metrics_client,
        source,
        secret,
        hourly_report("2024-06-10T18:00:00Z", ("1790", "2024-06-10", 24, "clicks", "10")),
    )
    assert out_of_range.status_code == 422


def _migrate(connection: Connection, action: Any, revision: str) -> None:
    config = alembic_config("metrics", DEFINITION.migrations_dir)
    config.attributes["connection"] = connection
    action(config, revision)


async def test_facts_stored_before_hours_existed_become_whole_day_facts(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        # To the revision before hours: the one the hourly migration revises.
        await conn.run_sync(_migrate, command.downgrade, "5d1f0c7b9e42")
        await conn.execute(
            text(
                "INSERT INTO metrics.facts (source_id, entity, day, metric, value, reported_at) "
                "VALUES (:s, 'c1', '2024-06-10', 'clicks', 12, '2024-06-11T00:00:00Z')"
            ),
            {"s": uuid.UUID(int=7)},
        )
        await conn.run_sync(_migrate, command.upgrade, "head")
        assert (await conn.execute(text("SELECT hour, value FROM metrics.facts"))).all() == [
            (WHOLE_DAY, D(12))
        ]
        # the new key takes a restatement of the day, and an hour beside it
        await conn.execute(
            text(
                "INSERT INTO metrics.facts AS f (source_id, entity, day, hour, metric, value, "
                "reported_at) VALUES (:s, 'c1', '2024-06-10', -1, 'clicks', 13, now()), "
                "(:s, 'c1', '2024-06-10', 9, 'clicks', 2, now()) "
                "ON CONFLICT (source_id, entity, day, hour, metric) DO UPDATE "
                "SET value = EXCLUDED.value"
            ),
            {"s": uuid.UUID(int=7)},
        )
        stored = await conn.execute(text("SELECT hour, value FROM metrics.facts ORDER BY hour"))
        assert stored.all() == [(WHOLE_DAY, D(13)), (9, D(2))]
