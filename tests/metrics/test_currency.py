"""Money in the plan's currency: sources reporting in other currencies are converted through the
stored exchange rates, a changed rate recomputes the days it converts, and money with no rate
is reported as missing instead of being summed as reported."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.models import bus
from shared.contract.events.planning import PlanTargetsSetV1
from shared.contract.types import ObjectiveType, Role
from shared.kit.settings import Settings
from tests.conftest import bearer
from tests.metrics.helpers import (
    MANAGER,
    TECH,
    announce,
    canonical,
    map_entities,
    objective,
    plan_targets,
    post,
    run_snapshots,
)

D = Decimal
FINANCE = bearer(Role.FINANCE, "finance-zhao")
NOW = datetime(2024, 6, 30, 4, 0, tzinfo=UTC)
AS_OF = "2024-06-30"


def _targets(plan_id: uuid.UUID) -> PlanTargetsSetV1:
    return plan_targets(
        plan_id,
        objective("cost", "10000", type=ObjectiveType.COST_EFFICIENCY),
        objective("roi", "4", type=ObjectiveType.COST_EFFICIENCY),
        objective("clicks", "1000"),
        name="cross-border",
    )


class Plan:
    """A CNY plan fed by a USD source (entity ``us``) and a CNY source (entity ``cn``)."""

    def __init__(self, metrics_client: httpx.AsyncClient, plan_id: uuid.UUID) -> None:
        self.metrics_client, self.id = metrics_client, plan_id
        self.sources: dict[str, tuple[str, str]] = {}

    async def add_source(self, code: str, entity: str) -> None:
        created = await self.metrics_client.post(
            "/metrics/sources",
            json={
                "name": f"{code} account",
                "platform": "meta",
                "account_id": entity,
                "currency": code,
            },
            headers=TECH,
        )
        assert created.status_code == 201, created.text
        body = created.json()
        self.sources[entity] = (body["id"], body["secrets"][0]["secret"])
        await map_entities(self.metrics_client, body["id"], self.id, entity)

    async def report(self, entity: str, at: str, *rows: tuple[str, str, str]) -> None:
        source, secret = self.sources[entity]
        stored = await post(
            self.metrics_client, source, secret, canonical(at, *((entity, *r) for r in rows))
        )
        assert stored.status_code == 200, stored.text

    async def kpis(self) -> dict[str, Any]:
        got = await self.metrics_client.get(
            f"/metrics/plans/{self.id}/kpis", params={"as_of": AS_OF}, headers=MANAGER
        )
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    async def actuals(self) -> dict[str, Decimal | None]:
        return {
            o["metric"]: None if o["actual"] is None else D(o["actual"])
            for o in (await self.kpis())["objectives"]
        }

    async def rollups(self, *metrics: str) -> dict[str, Any]:
        got = await self.metrics_client.get(
            f"/metrics/plans/{self.id}/rollups",
            params={"grain": "day", "metric": list(metrics), "to": AS_OF},
            headers=MANAGER,
        )
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body


async def _rate(
    metrics_client: httpx.AsyncClient,
    pair: str,
    valid_from: str,
    rate: str,
    headers: dict[str, str],
) -> httpx.Response:
    return await metrics_client.put(
        f"/metrics/fx-rates/{pair}/{valid_from}", json={"rate": rate}, headers=headers
    )


@pytest.fixture
async def plan(metrics_client: httpx.AsyncClient, database_url: str) -> Plan:
    plan_id = uuid.uuid4()
    await announce(metrics_client, database_url, _targets(plan_id))
    made = Plan(metrics_client, plan_id)
    await made.add_source("USD", "us")
    await made.add_source("CNY", "cn")
    return made


async def _dirty_days(engine: AsyncEngine, plan_id: uuid.UUID) -> list[date]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT DISTINCT day FROM metrics.dirty_days WHERE plan_id = :p ORDER BY 1"),
            {"p": plan_id},
        )
        return [d for (d,) in rows.all()]


async def _snapshots(engine: AsyncEngine, plan_id: uuid.UUID) -> list[dict[str, Decimal]]:
    """Each KPI snapshot published for the plan: metric → actual."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(bus.outbox.c.envelope)
            .where(bus.outbox.c.event_type == "metrics.plan.kpi_snapshot")
            .order_by(bus.outbox.c.id)
        )
        envelopes = [r.envelope for r in rows.all() if r.envelope["subject"] == str(plan_id)]
    return [
        {o["metric"]: D(o["actual"]) for o in e["data"]["objectives"] if o["actual"] is not None}
        for e in envelopes
    ]


def _day(body: dict[str, Any], day: str, metric: str) -> Decimal | None:
    (period,) = [p for p in body["periods"] if p["start"] == day]
    value = period["values"][metric]
    return None if value is None else D(value)


async def test_usd_and_cny_sources_add_up_in_the_plans_cny(
    plan: Plan, engine: AsyncEngine, settings: Settings
) -> None:
    set_rate = await _rate(plan.metrics_client, "USD/CNY", "2024-06-01", "7.1", FINANCE)
    assert set_rate.status_code == 200, set_rate.text
    await plan.report(
        "us",
        "2024-06-11T09:00:00Z",
        ("2024-06-10", "cost", "100"),
        ("2024-06-10", "gmv", "500"),
        ("2024-06-10", "clicks", "40"),
    )
    await plan.report(
        "cn",
        "2024-06-11T09:00:00Z",
        ("2024-06-10", "cost", "290"),
        ("2024-06-10", "gmv", "1000"),
        ("2024-06-10", "clicks", "60"),
    )
    expected = {"cost": D(1000), "roi": D("4.55"), "clicks": D(100)}  # 710 + 290; 4550 / 1000
    # read from facts while the day is pending, then from the rollups: the same figures
    assert await plan.actuals() == expected
    await run_snapshots(engine, settings, NOW)
    assert await _dirty_days(engine, plan.id) == []
    assert await plan.actuals() == expected
    kpis = await plan.kpis()
    assert (kpis["currency"], kpis["missing_rates"]) == ("CNY", [])
    rollups = await plan.rollups("cost", "gmv", "cpc")
    assert _day(rollups, "2024-06-10", "cost") == 1000
    assert _day(rollups, "2024-06-10", "gmv") == 4550
    assert _day(rollups, "2024-06-10", "cpc") == 10
    (snapshot,) = await _snapshots(engine, plan.id)
    assert snapshot == expected
    async with engine.connect() as conn:
        spend = await conn.scalar(
            select(bus.outbox.c.envelope).where(
                bus.outbox.c.event_type == "metrics.plan.spend_recorded"
            )
        )
    assert spend is not None
    assert spend["data"]["spend_to_date"] == {"amount": "1000.00", "currency": "CNY"}
    # the facts stay as the USD account reported them
    async with engine.connect() as conn:
        reported = await conn.scalar(
            text("SELECT value FROM metrics.facts WHERE entity = 'us' AND metric = 'cost'")
        )
    assert reported == 100


async def test_the_inverse_rate_converts_when_only_the_other_direction_is_stored(
    plan: Plan, engine: AsyncEngine, settings: Settings
) -> None:
    stored = await _rate(plan.metrics_client, "CNY/USD", "2024-06-01", "0.125", FINANCE)
    assert stored.status_code == 200, stored.text
    await plan.report("us", "2024-06-11T09:00:00Z", ("2024-06-10", "cost", "100"))
    assert (await plan.actuals())["cost"] == 800
    await run_snapshots(engine, settings, NOW)
    assert (await plan.actuals())["cost"] == 800


async def test_a_changed_rate_recomputes_the_days_it_converts(
    plan: Plan, engine: AsyncEngine, settings: Settings
) -> None:
    assert (
        await _rate(plan.metrics_client, "USD/CNY", "2024-06-01", "7", FINANCE)
    ).status_code == 200
    await plan.report(
        "us",
        "2024-06-21T09:00:00Z",
        ("2024-06-10", "cost", "100"),
        ("2024-06-20", "cost", "100"),
        ("2024-06-20", "gmv", "1000"),
    )
    await plan.report("cn", "2024-06-21T09:00:00Z", ("2024-06-05", "cost", "50"))
    await run_snapshots(engine, settings, NOW)
    assert (await plan.actuals())["cost"] == 1450  # 700 + 700 + 50
    assert await _dirty_days(engine, plan.id) == []

    # a new rate from the 15th: only the USD days from then on are recomputed
    changed = await _rate(plan.metrics_client, "USD/CNY", "2024-06-15", "7.2", FINANCE)
    assert changed.status_code == 200, changed.text
    assert await _dirty_days(engine, plan.id) == [date(2024, 6, 20)]
    # setting the same rate again recomputes nothing more
    await run_snapshots(engine, settings, NOW)
    again = await _rate(plan.metrics_client, "USD/CNY", "2024-06-15", "7.20", TECH)
    assert again.status_code == 200, again.text
    assert again.json()["set_by"] == "finance-zhao"
    assert await _dirty_days(engine, plan.id) == []
    assert (await plan.actuals())["cost"] == 1470  # 700 + 720 + 50

    # correcting the first rate re-dirties the days up to the next rate only
    fixed = await _rate(plan.metrics_client, "USD/CNY", "2024-06-01", "6.9", FINANCE)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["valid_until"] == "2024-06-15"
    assert await _dirty_days(engine, plan.id) == [date(2024, 6, 10)]
    await run_snapshots(engine, settings, NOW)
    assert (await plan.actuals())["cost"] == 1460  # 690 + 720 + 50
    snapshots = await _snapshots(engine, plan.id)
    assert [s["cost"] for s in snapshots] == [D(1450), D(1470), D(1460)]
    assert snapshots[-1]["roi"] == (D(7200) / D(1460)).quantize(D("0.000001"))

    listed = await plan.metrics_client.get(
        "/metrics/fx-rates", params={"base": "USD", "quote": "CNY"}, headers=FINANCE
    )
    assert listed.status_code == 200, listed.text
    assert [(r["valid_from"], D(r["rate"]), r["valid_until"]) for r in listed.json()["items"]] == [
        ("2024-06-01", D("6.9"), "2024-06-15"),
        ("2024-06-15", D("7.2"), None),
    ]


async def test_money_without_a_rate_is_reported_and_not_summed_as_reported(
    plan: Plan, engine: AsyncEngine, settings: Settings
) -> None:
    await plan.report(
        "us",
        "2024-06-13T09:00:00Z",
        ("2024-06-10", "cost", "100"),
        ("2024-06-12", "cost", "100"),
        ("2024-06-12", "clicks", "30"),
    )
    await plan.report("cn", "2024-06-13T09:00:00Z", ("2024-06-10", "cost", "290"))
    missing = [
        {
            "base": "USD",
            "quote": "CNY",
            "first_day": "2024-06-10",
            "last_day": "2024-06-12",
            "days": 2,
        }
    ]
    for _read in ("pending", "rolled up"):
        kpis = await plan.kpis()
        actuals = {o["metric"]: o["actual"] for o in kpis["objectives"]}
        # the USD cost is left out (not 390 CNY), the USD clicks still count
        assert (D(actuals["cost"]), D(actuals["clicks"])) == (D(290), D(30))
        assert kpis["missing_rates"] == missing
        rollups = await plan.rollups("cost", "clicks")
        assert rollups["missing_rates"] == missing
        assert _day(rollups, "2024-06-10", "cost") == 290
        assert _day(rollups, "2024-06-12", "cost") is None
        assert _day(rollups, "2024-06-12", "clicks") == 30
        assert (await plan.rollups("clicks"))["missing_rates"] == []
        await run_snapshots(engine, settings, NOW)
    evaluation = await plan.metrics_client.get(
        f"/metrics/plans/{plan.id}/evaluation", headers=MANAGER
    )
    assert evaluation.json()["missing_rates"] == missing

    # the rate the warning asks for brings the money in
    entered = await _rate(plan.metrics_client, "USD/CNY", "2024-06-10", "7", FINANCE)
    assert entered.status_code == 200, entered.text
    await run_snapshots(engine, settings, NOW)
    assert (await plan.kpis())["missing_rates"] == []
    assert (await plan.actuals())["cost"] == 1690


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("USD/CNY/2024-06-01", {"rate": "0"}, "rate"),
        ("USD/CNY/2024-06-01", {"rate": "-7.1"}, "rate"),
        ("USD/CNY/2024-06-01", {"rate": "seven"}, "rate"),
        ("USD/CNY/2024-06-01", {"rate": 7.1234567890123}, "rate"),
        ("USD/CNY/2024-06-01", {}, "rate"),
        ("usd/CNY/2024-06-01", {"rate": "7.1"}, "path.base"),
        ("USD/RMB1/2024-06-01", {"rate": "7.1"}, "path.quote"),
        ("USD/CNY/2024-06-31", {"rate": "7.1"}, "path.valid_from"),
        ("CNY/CNY/2024-06-01", {"rate": "1"}, "quote"),
    ],
)
async def test_a_bad_rate_is_refused_naming_the_field(
    metrics_client: httpx.AsyncClient, url: str, body: dict[str, Any], field: str
) -> None:
    got = await metrics_client.put(f"/metrics/fx-rates/{url}", json=body, headers=FINANCE)
    assert got.status_code == 422, got.text
    assert got.headers["content-type"] == "application/problem+json"
    problem = got.json()
    named = {e["field"] for e in problem.get("errors") or []} | {problem.get("field")}
    assert field in named, problem
    listed = await metrics_client.get("/metrics/fx-rates", headers=FINANCE)
    assert listed.json()["items"] == []


async def test_a_pair_takes_one_rate_a_day_in_either_direction(
    metrics_client: httpx.AsyncClient,
) -> None:
    assert (await _rate(metrics_client, "USD/CNY", "2024-06-01", "7.1", FINANCE)).status_code == 200
    clash = await _rate(metrics_client, "CNY/USD", "2024-06-01", "0.14", FINANCE)
    assert clash.status_code == 409
    assert clash.headers["content-type"] == "application/problem+json"
    assert (
        await _rate(metrics_client, "CNY/USD", "2024-06-02", "0.14", FINANCE)
    ).status_code == 200
    listed = await metrics_client.get("/metrics/fx-rates", params={"quote": "USD"}, headers=FINANCE)
    assert [(r["base"], r["valid_from"]) for r in listed.json()["items"]] == [("CNY", "2024-06-02")]
    everything = await metrics_client.get("/metrics/fx-rates", headers=TECH)
    # the pair's next rate is the next one whichever way it was stored
    assert [(r["base"], r["valid_until"]) for r in everything.json()["items"]] == [
        ("CNY", None),
        ("USD", "2024-06-02"),
    ]
    refused = await _rate(metrics_client, "USD/CNY", "2024-06-03", "7.1", MANAGER)
    assert refused.status_code == 403


async def test_facts_that_arrived_before_a_usd_plans_targets_are_recomputed_in_usd(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine, settings: Settings
) -> None:
    plan_id = uuid.uuid4()
    early = Plan(metrics_client, plan_id)
    await early.add_source("CNY", "cn")
    await early.report("cn", "2024-06-11T09:00:00Z", ("2024-06-10", "cost", "800"))
    # rolled up while the plan's currency was not known yet
    await run_snapshots(engine, settings, NOW)
    assert (await _rate(metrics_client, "USD/CNY", "2024-06-01", "8", FINANCE)).status_code == 200
    await announce(
        metrics_client, database_url, _targets(plan_id).model_copy(update={"currency": "USD"})
    )
    await run_snapshots(engine, settings, NOW)
    assert (await early.kpis())["currency"] == "USD"
    assert (await early.actuals())["cost"] == 100  # 800 CNY at 8 CNY a dollar


async def test_hourly_money_is_converted_like_the_days(
    plan: Plan, engine: AsyncEngine, settings: Settings
) -> None:
    set_rate = await _rate(plan.metrics_client, "USD/CNY", "2024-06-01", "7.1", FINANCE)
    assert set_rate.status_code == 200, set_rate.text
    source, secret = plan.sources["us"]
    hourly = {
        "format": "canonical",
        "report_time": "2024-06-11T09:00:00Z",
        "rows": [
            {"entity": "us", "day": "2024-06-10", "hour": 9, "metric": "cost", "value": "10"},
            {"entity": "us", "day": "2024-06-10", "hour": 10, "metric": "cost", "value": "20"},
        ],
    }
    stored = await post(plan.metrics_client, source, secret, hourly)
    assert stored.status_code == 200, stored.text

    async def hours() -> dict[str, Decimal | None]:
        got = await plan.metrics_client.get(
            f"/metrics/plans/{plan.id}/rollups",
            params={
                "grain": "hour",
                "metric": "cost",
                "since": "2024-06-10T00:00:00",
                "until": "2024-06-11T00:00:00",
            },
            headers=MANAGER,
        )
        assert got.status_code == 200, got.text
        return {
            p["start"][11:16]: None if p["values"]["cost"] is None else D(p["values"]["cost"])
            for p in got.json()["periods"]
        }

    # pending (read from facts) and after the snapshot job (hourly rollups): both in CNY
    assert await hours() == {"09:00": D(71), "10:00": D(142)}
    await run_snapshots(engine, settings, NOW)
    assert await hours() == {"09:00": D(71), "10:00": D(142)}
    assert (await plan.actuals())["cost"] == 213
