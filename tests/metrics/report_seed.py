"""The seed campaign the report tests open: four objectives, a channel the budget moved away
from, a period before, facts per channel."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contract.events.planning import DecomposedNode, ObjectiveDecomposedV1, PlanTargetsSetV1
from shared.contract.types import Money, ObjectiveType, TargetKind
from tests.harness.factories import metrics as factories
from tests.metrics.helpers import (
    MANAGER,
    canonical,
    channel,
    objective,
    plan_targets,
    post,
)

FEED, SEARCH = uuid.uuid4(), uuid.uuid4()


def targets(plan_id: uuid.UUID, registrations: uuid.UUID, version: int) -> PlanTargetsSetV1:
    """The seed's four objectives and a contingency reserve of 60,000; version 2 lowers the
    registrations target from 250,000 to 200,000 and moves Baidu search's budget to Douyin feed
    ads."""
    return plan_targets(
        plan_id,
        objective(
            "registrations", "250000" if version == 1 else "200000", objective_id=registrations
        ),
        objective("gmv", "5000000", type=ObjectiveType.SALES_CONVERSION),
        objective(
            "brand_search_index",
            "30",
            type=ObjectiveType.BRAND_AWARENESS,
            target_kind=TargetKind.RELATIVE,
            baseline_value=Decimal(1000),
        ),
        objective("roi", "4", type=ObjectiveType.COST_EFFICIENCY),
        version=version,
        name="618 serum launch",
        starts_on=date(2024, 5, 1),
        ends_on=date(2024, 7, 31),
        channels=[channel(FEED, "Douyin feed ads", 380000), channel(SEARCH, "Baidu search", 120000)]
        if version == 1
        else [channel(FEED, "Douyin feed ads", 500000)],
        contingency_reserve=Money(amount=Decimal(60000)),
    )


class Seeded(NamedTuple):
    """The seeded plan, its registrations objective and the source that reported the facts."""

    plan_id: uuid.UUID
    registrations: uuid.UUID
    source: str
    secret: str


async def seeded(sessions: async_sessionmaker[AsyncSession]) -> Seeded:
    """The seed campaign: 180,000 registrations (feed 100,000, search 80,000), GMV 6,200,000
    on a cost of 1,192,307.69 (ROI 1:5.2), brand index 1,000 → 1,450; 120,000 registrations in
    the 61 days before the campaign. Built through metrics' own functions
    (tests/harness/factories/metrics.py): no other service needs to run."""
    plan_id, registrations = uuid.uuid4(), uuid.uuid4()
    await factories.known(sessions, targets(plan_id, registrations, 1))
    source, secret = await factories.source(sessions)
    await factories.map_entities(
        sessions, source, plan_id, "all", ("feed", FEED), ("search", SEARCH)
    )
    batch = canonical(
        "2024-06-21T09:00:00Z",
        ("all", "2024-04-15", "registrations", "120000"),
        ("feed", "2024-06-10", "registrations", "100000"),
        ("search", "2024-06-17", "registrations", "80000"),
        ("feed", "2024-06-18", "gmv", "4500000"),
        ("search", "2024-06-18", "gmv", "1700000"),
        ("feed", "2024-06-18", "cost", "692307.69"),
        ("search", "2024-06-18", "cost", "500000"),
        ("all", "2024-06-01", "brand_search_index", "1200"),
        ("all", "2024-06-20", "brand_search_index", "1450"),
        ("feed", "2024-06-07", "impressions", "10000000"),
        ("feed", "2024-06-07", "clicks", "300000"),
        ("feed", "2024-06-07", "conversions", "200000"),
        ("search", "2024-06-07", "impressions", "2000000"),
        ("search", "2024-06-07", "clicks", "100000"),
    )
    stored = await factories.ingest(sessions, source, secret, batch)
    assert stored["inserted"] == 14, stored
    await factories.known(sessions, targets(plan_id, registrations, 2))
    await factories.known(sessions, tree(plan_id, registrations))
    return Seeded(plan_id, registrations, str(source), secret)


def tree(plan_id: uuid.UUID, registrations: uuid.UUID) -> ObjectiveDecomposedV1:
    """Registrations split East China → Shanghai → Fudan (the feed's 100,000 against 40,000:
    250 %, paid at the 200 % cap) and Tongji (search's 80,000 against 160,000: 50 %)."""

    def node(
        name: str, level: str, target: int, parent: DecomposedNode | None, *entities: str
    ) -> DecomposedNode:
        return DecomposedNode(
            node_id=uuid.uuid4(),
            parent_id=None if parent is None else parent.node_id,
            name=name,
            level=level,
            target=Decimal(target),
            entities=list(entities),
        )

    company = node("Company", "company", 200000, None)
    east = node("East China", "region", 200000, company)
    shanghai = node("Shanghai", "city", 200000, east)
    return ObjectiveDecomposedV1(
        plan_id=plan_id,
        objective_id=registrations,
        plan_revision=2,
        metric="registrations",
        starts_on=date(2024, 5, 1),
        due_on=date(2024, 6, 30),
        nodes=[
            company,
            east,
            shanghai,
            node("Fudan", "school", 40000, shanghai, "feed"),
            node("Tongji", "school", 160000, shanghai, "search"),
        ],
    )


async def customers_and_experiments(
    client: httpx.AsyncClient, plan_id: str, source: str, secret: str
) -> None:
    """New customers, orders and repeat buyers per channel, the classical-CLTV parameters
    (margin 0.4, 3 orders a year, 2 years; floor 2), and two A/B tests on CTR."""
    batch = canonical(
        "2024-06-22T09:00:00Z",
        ("feed", "2024-06-18", "new_users", "20000"),
        ("feed", "2024-06-18", "orders", "30000"),
        ("feed", "2024-06-18", "repeat_customers", "5000"),
        ("search", "2024-06-18", "new_users", "2000"),
        ("search", "2024-06-18", "orders", "8500"),
    )
    assert (await post(client, source, secret, batch)).status_code == 200
    parameters = await client.put(
        f"/metrics/plans/{plan_id}/channels/parameters",
        json={
            "gross_margin": "0.4",
            "purchase_frequency": "3",
            "lifespan_years": "2",
            "cltv_cac_floor": "2",
        },
        headers=MANAGER,
    )
    assert parameters.status_code == 200, parameters.text
    for name, minimum in (("feed vs search creative", 1000), ("long test", 100_000_000)):
        started = await client.post(
            f"/metrics/plans/{plan_id}/experiments",
            json={
                "name": name,
                "metric": "ctr",
                "arms": [
                    {"name": "feed creative", "entities": ["feed"]},
                    {"name": "search creative", "entities": ["search"]},
                ],
                "minimum_sample": minimum,
            },
            headers=MANAGER,
        )
        assert started.status_code == 201, started.text
