"""A derived metric defined in metrics reaches planning and alerts: each accepts an objective or
a rule on it only once metrics' definition event arrived, and keeps the newest version once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text

from shared.contract.events.metrics import MetricDefinedV1
from shared.contract.metric_dictionary import MetricKind
from shared.kit.db import create_engine
from tests.metrics.helpers import TECH
from tests.planning import seed
from tests.planning.helpers import SPECIALIST, publish, seeded_plan
from tests.polling import eventually

ROAS = {
    "name": "ROAS",
    "definition": "revenue per unit of spend",
    "expression": "revenue / cost",
}


async def _define(client: httpx.AsyncClient, key: str, body: dict[str, Any]) -> httpx.Response:
    return await client.put(f"/metrics/dictionary/{key}", json=body, headers=TECH)


async def test_a_planning_objective_on_a_derived_metric_waits_for_its_definition(
    client: httpx.AsyncClient,
) -> None:
    plan = await seeded_plan(client)
    url = f"/planning/plans/{plan['plan']['id']}/objectives"
    on_roas = [{**seed.OBJECTIVES[0], "metric": "roas"}]
    before = await client.put(url, json=on_roas, headers=SPECIALIST)
    assert before.status_code == 422
    assert (before.json()["field"], before.json()["rule"]) == (
        "objectives.0.metric",
        "measurable-metric",
    )
    assert (await _define(client, "roas", ROAS)).status_code == 200

    async def accepted() -> dict[str, Any] | None:
        put = await client.put(url, json=on_roas, headers=SPECIALIST)
        return put.json() if put.status_code == 200 else None

    detail = await eventually(accepted)
    assert detail["objectives"][0]["metric"] == "roas"
    still_unknown = await client.put(
        url, json=[{**seed.OBJECTIVES[0], "metric": "vibes"}], headers=SPECIALIST
    )
    assert still_unknown.status_code == 422


def _unnamed(problem: dict[str, Any], metric: str) -> dict[str, Any]:
    errors = [{**e, "message": e["message"].replace(repr(metric), "?")} for e in problem["errors"]]
    return {**problem, "errors": errors, "correlation_id": None}


async def test_an_alert_rule_on_a_derived_metric_waits_for_its_definition(
    client: httpx.AsyncClient,
) -> None:
    def rule(metric: str) -> dict[str, Any]:
        return {"name": "ROAS floor", "kind": "threshold", "metric": metric, "threshold": "2"}

    before = await client.post("/alerts/rules", json=rule("roas"), headers=SPECIALIST)
    assert before.status_code == 422
    # Refused exactly as an unknown metric always was, whether the key could name a derived
    # metric (checked by the service) or not (checked by the schema).
    malformed = await client.post("/alerts/rules", json=rule("Roas!"), headers=SPECIALIST)
    assert malformed.status_code == 422
    assert _unnamed(before.json(), "roas") == _unnamed(malformed.json(), "Roas!")
    assert before.json()["errors"][0]["message"] == (
        "Value error, metric must be a key of the metric dictionary, not 'roas'"
    )
    assert (await _define(client, "roas", ROAS)).status_code == 200

    async def accepted() -> dict[str, Any] | None:
        made = await client.post("/alerts/rules", json=rule("roas"), headers=SPECIALIST)
        return made.json() if made.status_code == 201 else None

    assert (await eventually(accepted))["metric"] == "roas"


async def test_definitions_are_kept_once_and_an_older_version_changes_nothing(
    client: httpx.AsyncClient, database_url: str
) -> None:
    def defined(version: int, kind: MetricKind) -> MetricDefinedV1:
        return MetricDefinedV1(
            key="margin",
            name="Margin",
            definition="GMV less spend",
            kind=kind,
            expression="gmv - cost",
            version=version,
            defined_by="data-ops",
            defined_at=datetime(2024, 6, 1, tzinfo=UTC),
        )

    await publish(database_url, defined(2, MetricKind.MONEY), "margin", times=2)
    await publish(database_url, defined(1, MetricKind.RATIO), "margin")
    engine = create_engine(database_url)
    try:

        async def handled() -> bool:
            async with engine.connect() as conn:
                count = await conn.scalar(
                    text(
                        "SELECT (SELECT count(*) FROM planning.inbox WHERE event_type = :t)"
                        " + (SELECT count(*) FROM alerts.inbox WHERE event_type = :t)"
                    ),
                    {"t": "metrics.metric.defined"},
                )
            return int(count or 0) == 4  # two envelopes, each handled once by each service

        await eventually(handled)
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT 'planning', key, kind, version FROM planning.derived_metrics "
                    "UNION ALL SELECT 'alerts', key, kind, version FROM alerts.derived_metrics"
                )
            )
            kept = sorted(tuple(row) for row in rows.all())
    finally:
        await engine.dispose()
    assert kept == [("alerts", "margin", "money", 2), ("planning", "margin", "money", 2)]
