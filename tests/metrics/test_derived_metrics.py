"""Derived metrics: defined over the API by a safe formula and computed as ratios of sums (how
planning and alerts come to accept them is a story in tests/e2e/test_derived_metric_stories.py)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.metrics.dictionary.expressions import ExpressionRefused, parse
from shared.contract.metric_dictionary import SUMMABLE_METRICS
from shared.contract.types import ObjectiveType
from shared.kit.db import create_engine
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
)
from tests.planning.helpers import SPECIALIST

D = Decimal
ROAS = {
    "name": "ROAS",
    "definition": "revenue per unit of spend",
    "expression": "revenue / cost",
}
CPM = {
    "name": "Cost per mille",
    "definition": "spend per thousand impressions",
    "expression": "cost / impressions * 1000",
}


async def _define(client: httpx.AsyncClient, key: str, body: dict[str, Any]) -> httpx.Response:
    return await client.put(f"/metrics/dictionary/{key}", json=body, headers=TECH)


async def _plan_measuring(client: httpx.AsyncClient, database_url: str, metric: str) -> uuid.UUID:
    """An approved plan (as metrics knows it) with one objective on ``metric`` and a mapped
    entity ``feed`` reporting to it."""
    plan_id = uuid.uuid4()
    targets = plan_targets(
        plan_id,
        objective(metric, 4, type=ObjectiveType.COST_EFFICIENCY),
        name="derived",
        channels=[channel(uuid.uuid4(), "feed")],
    )
    await announce(client, database_url, targets)
    source, secret = await register(client)
    await map_entities(client, source, plan_id, "feed")
    # Day 1 sells well on little spend, day 2 poorly on much: the average of the daily ROAS
    # (10 and 1.11) is 5.56, the ROAS of the two days together 200 / 100 = 2.
    stored = await post(
        client,
        source,
        secret,
        canonical(
            "2024-06-04T09:00:00Z",
            ("feed", "2024-06-01", "revenue", "100"),
            ("feed", "2024-06-01", "cost", "10"),
            ("feed", "2024-06-01", "impressions", "4000"),
            ("feed", "2024-06-01", "clicks", "40"),
            ("feed", "2024-06-02", "revenue", "100"),
            ("feed", "2024-06-02", "cost", "90"),
            ("feed", "2024-06-02", "impressions", "1000"),
            ("feed", "2024-06-02", "clicks", "60"),
            ("feed", "2024-06-03", "revenue", "50"),
            ("feed", "2024-06-03", "cost", "0"),
            ("feed", "2024-06-03", "impressions", "0"),
        ),
    )
    assert stored.status_code == 200, stored.text
    return plan_id


async def test_derived_metrics_are_ratios_of_sums_in_kpis_and_rollups(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    assert (await _define(metrics_client, "roas", ROAS)).status_code == 200
    defined = await _define(metrics_client, "cost_per_mille", CPM)
    assert defined.status_code == 200, defined.text
    assert defined.json() | {"defined_at": None} == {
        "key": "cost_per_mille",
        "name": "Cost per mille",
        "definition": "spend per thousand impressions",
        "kind": "ratio",
        "numerator": None,
        "denominator": None,
        "aggregation": "derived",
        "additive": False,
        "expression": "cost / impressions * 1000",
        "version": 1,
        "defined_by": "data-ops",
        "defined_at": None,
    }
    dictionary = (await metrics_client.get("/metrics/dictionary", headers=MANAGER)).json()["items"]
    keys = [m["key"] for m in dictionary]
    assert keys[-2:] == ["cost_per_mille", "roas"]
    assert {"ctr", "roi", "cost"} <= set(keys)

    plan_id = await _plan_measuring(metrics_client, database_url, "roas")
    kpis = (
        await metrics_client.get(
            f"/metrics/plans/{plan_id}/kpis", params={"as_of": "2024-06-03"}, headers=MANAGER
        )
    ).json()
    (objective,) = kpis["objectives"]
    # Three days together: 250 / 100 (the zero-spend day adds revenue, not a ratio of its own).
    assert D(objective["actual"]) == D("2.5")
    assert D(objective["achievement"]) == D("0.625")
    assert objective["expected_to_date"] == objective["target"]  # a ratio is not pro-rated

    rollups = await metrics_client.get(
        f"/metrics/plans/{plan_id}/rollups",
        params={
            "grain": "day",
            "metric": ["roas", "cost_per_mille", "ctr"],
            "from": "2024-06-01",
            "to": "2024-06-03",
        },
        headers=MANAGER,
    )
    assert rollups.status_code == 200, rollups.text
    days = {p["start"]: p["values"] for p in rollups.json()["periods"]}
    assert D(days["2024-06-01"]["roas"]) == 10
    assert D(days["2024-06-02"]["roas"]) == D("1.111111")
    assert days["2024-06-03"]["roas"] is None  # nothing spent: no ROAS, not an error
    assert D(days["2024-06-01"]["cost_per_mille"]) == D("2.5")
    assert D(days["2024-06-02"]["cost_per_mille"]) == 90
    assert D(days["2024-06-01"]["ctr"]) == D("0.01")  # built-in ratios work as before

    months = await metrics_client.get(
        f"/metrics/plans/{plan_id}/rollups",
        params={
            "grain": "month",
            "metric": ["roas", "cost_per_mille"],
            "from": "2024-06-01",
            "to": "2024-06-02",
        },
        headers=MANAGER,
    )
    (month,) = months.json()["periods"]
    assert D(month["values"]["roas"]) == 2  # not (10 + 1.11) / 2
    assert D(month["values"]["cost_per_mille"]) == 20  # 100 / 5000 * 1000, not (2.5 + 90) / 2

    evaluation = (
        await metrics_client.get(
            f"/metrics/plans/{plan_id}/evaluation",
            params={"as_of": "2024-06-03"},
            headers=MANAGER,
        )
    ).json()
    assert evaluation["rows"][0]["metric"] == "ROAS"


@pytest.mark.parametrize(
    ("expression", "rule"),
    [
        ("__import__('os')", "allowed-elements"),
        ("cost.real", "allowed-elements"),
        ("abs(cost)", "allowed-elements"),
        ("cost ** 2", "allowed-elements"),
        ("cost if revenue else 1", "allowed-elements"),
        ("vibes / cost", "known-base-metric"),
        ("ctr * 100", "known-base-metric"),  # ratios are not summed: name their parts
        ("revenue / (cost", "expression-syntax"),
        ("1000 / 3", "metric-reference"),
    ],
)
async def test_unsafe_or_unknown_formulas_are_refused_naming_the_rule(
    metrics_client: httpx.AsyncClient, expression: str, rule: str
) -> None:
    refused = await _define(metrics_client, "bad", {**ROAS, "expression": expression})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["field"] == "expression"
    assert refused.json()["rule"] == rule
    dictionary = (await metrics_client.get("/metrics/dictionary", headers=MANAGER)).json()["items"]
    assert "bad" not in {m["key"] for m in dictionary}


async def test_built_in_keys_and_non_additive_counters_are_refused(
    metrics_client: httpx.AsyncClient,
) -> None:
    overwrite = await _define(metrics_client, "ctr", {**ROAS, "expression": "clicks / cost"})
    assert overwrite.status_code == 422
    assert (overwrite.json()["field"], overwrite.json()["rule"]) == ("key", "built-in-metric")
    counter = await _define(metrics_client, "roas", {**ROAS, "kind": "money"})
    assert counter.status_code == 422
    assert (counter.json()["field"], counter.json()["rule"]) == ("kind", "additive-kind")
    margin = await _define(
        metrics_client,
        "margin",
        {"name": "Margin", "definition": "GMV less spend", "expression": "gmv - cost"}
        | {"kind": "money"},
    )
    assert margin.status_code == 200, margin.text
    specialist = await metrics_client.put("/metrics/dictionary/roas", json=ROAS, headers=SPECIALIST)
    assert specialist.status_code == 403


async def test_a_redefinition_bumps_the_version_and_the_same_one_changes_nothing(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    assert (await _define(metrics_client, "roas", ROAS)).json()["version"] == 1
    assert (await _define(metrics_client, "roas", ROAS)).json()["version"] == 1
    redefined = await _define(metrics_client, "roas", {**ROAS, "expression": "gmv / cost"})
    assert (redefined.json()["version"], redefined.json()["expression"]) == (2, "gmv / cost")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            sent = await conn.scalars(
                text(
                    "SELECT envelope -> 'data' ->> 'version' FROM metrics.outbox "
                    "WHERE event_type = 'metrics.metric.defined' ORDER BY id"
                )
            )
            assert sent.all() == ["1", "2"]
    finally:
        await engine.dispose()


def test_formulas_compute_in_decimal_from_the_literal_text() -> None:
    tenth = parse("cost * 0.1", SUMMABLE_METRICS)
    assert tenth.value({"cost": D(3)}) == D("0.3")  # 0.1 as a float would not be exact
    assert tenth.linear
    assert not parse("(gmv - cost) / cost", SUMMABLE_METRICS).linear
    assert parse("(gmv - cost) / cost", SUMMABLE_METRICS).value({"gmv": D(3), "cost": D(0)}) is None
    assert parse("-cost", SUMMABLE_METRICS).value({}) is None  # no data: no value
    with pytest.raises(ExpressionRefused):
        parse("True * cost", SUMMABLE_METRICS)
