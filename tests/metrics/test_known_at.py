"""As-of knowledge: KPIs, rollups and the evaluation answer with what the system knew at
``known_at``, read from the fact revisions by the restatement rule."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.facts import restatement
from services.metrics.facts.repository import KNOWN_FACTS
from shared.contract.events.planning import DecomposedNode, ObjectiveDecomposedV1
from shared.kit.settings import Settings
from tests.metrics.helpers import (
    MANAGER,
    announce,
    canonical,
    map_entities,
    objective,
    plan_targets,
    post,
    register,
    run_snapshots,
)
from tests.metrics.test_restatement import INCOMING, STORED

D = Decimal
DAY = "2024-06-10"
# The day is posted as 1,000 on the 11th and restated to 1,150 two days later, on the 13th.
POSTED = datetime(2024, 6, 11, 1, 0, tzinfo=UTC)
RESTATED = datetime(2024, 6, 13, 1, 0, tzinfo=UTC)
DAY_AFTER = "2024-06-12T00:00:00Z"
AFTER_RESTATEMENT = "2024-06-14T00:00:00Z"


async def _received(engine: AsyncEngine, delivery_id: str, at: datetime) -> None:
    """Say when a delivery was received: the server stamps its own clock, and the case needs
    receipts days apart."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE metrics.deliveries SET received_at = :at WHERE delivery_id = :id"),
            {"at": at, "id": delivery_id},
        )


async def _deliver(
    metrics_client: httpx.AsyncClient,
    engine: AsyncEngine,
    source: tuple[str, str],
    at: datetime,
    rows: list[dict[str, Any]],
) -> None:
    """A canonical batch reported and received at ``at``."""
    delivery = f"msg_{uuid.uuid4().hex}"
    batch = {"format": "canonical", "report_time": at.isoformat(), "rows": rows}
    stored = await post(metrics_client, *source, batch, delivery_id=delivery)
    assert stored.status_code == 200, stored.text
    await _received(engine, delivery, at)


async def _plan(
    metrics_client: httpx.AsyncClient, database_url: str
) -> tuple[str, tuple[str, str]]:
    plan_id = uuid.uuid4()
    await announce(
        metrics_client, database_url, plan_targets(plan_id, objective("registrations", 5000))
    )
    source = await register(metrics_client)
    await map_entities(metrics_client, source[0], plan_id, "school-a")
    return str(plan_id), source


def _row(value: str, hour: int | None = None) -> dict[str, Any]:
    row = {"entity": "school-a", "day": DAY, "metric": "registrations", "value": value}
    return row if hour is None else {**row, "hour": hour}


async def _restated_plan(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine
) -> tuple[str, str]:
    plan_id, source = await _plan(metrics_client, database_url)
    await _deliver(metrics_client, engine, source, POSTED, [_row("1000")])
    await _deliver(metrics_client, engine, source, RESTATED, [_row("1150")])
    return plan_id, source[0]


async def _kpi(metrics_client: httpx.AsyncClient, plan_id: str, **params: str) -> dict[str, Any]:
    got = await metrics_client.get(f"/metrics/plans/{plan_id}/kpis", params=params, headers=MANAGER)
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    (row,) = body["objectives"]
    return {**row, "as_of": body["as_of"], "known_at": body["known_at"]}


async def test_a_restated_day_shows_what_was_known_then(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine, settings: Settings
) -> None:
    plan_id, _source = await _restated_plan(metrics_client, database_url, engine)
    # Rollups are built from today's facts: the as-of answer must not come from them.
    await run_snapshots(engine, settings, RESTATED + timedelta(minutes=5))

    then = await _kpi(metrics_client, plan_id, known_at=DAY_AFTER)
    assert (D(then["actual"]), D(then["actual_gross"])) == (D(1000), D(1000))
    assert then["as_of"] == "2024-06-12"  # the company day of known_at, when as_of is not given
    assert then["known_at"] == "2024-06-12T00:00:00Z"
    later = await _kpi(metrics_client, plan_id, known_at=AFTER_RESTATEMENT)
    assert D(later["actual"]) == D(1150)
    now = await _kpi(metrics_client, plan_id, as_of="2024-06-30")
    assert (D(now["actual"]), now["known_at"]) == (D(1150), None)
    # Before the first report nothing was known.
    before = await _kpi(
        metrics_client, plan_id, known_at="2024-06-10T12:00:00Z", as_of="2024-06-30"
    )
    assert before["actual"] is None

    # Every grain, json and downloads; a time without an offset is company time (UTC+8).
    day = {"metric": "registrations", "from": DAY, "to": DAY}
    for grain in ("day", "week", "month"):
        rolled = await metrics_client.get(
            f"/metrics/plans/{plan_id}/rollups",
            params={**day, "grain": grain, "known_at": "2024-06-12T08:00:00"},
            headers=MANAGER,
        )
        assert rolled.status_code == 200, rolled.text
        (period,) = rolled.json()["periods"]
        assert D(period["values"]["registrations"]) == D(1000), grain
    export = await metrics_client.get(
        f"/metrics/plans/{plan_id}/rollups.csv",
        params={**day, "known_at": DAY_AFTER},
        headers=MANAGER,
    )
    assert export.status_code == 200, export.text
    cells = [c for row in csv.reader(io.StringIO(export.content.decode("utf-8-sig"))) for c in row]
    assert "1000" in cells
    assert "1150" not in cells

    evaluation = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation",
        params={"known_at": DAY_AFTER, "as_of": "2024-06-30"},
        headers=MANAGER,
    )
    assert evaluation.status_code == 200, evaluation.text
    assert evaluation.json()["rows"][0]["actual"] == "1,000"
    for form in ("html", "csv", "xlsx"):
        report = await metrics_client.get(
            f"/metrics/plans/{plan_id}/evaluation.{form}",
            params={"known_at": DAY_AFTER, "as_of": "2024-06-30", "lang": "en"},
            headers=MANAGER,
        )
        assert report.status_code == 200, (form, report.text)
        if form == "html":
            assert "Figures as the system knew them at 2024-06-12T00:00+00:00" in report.text
    report_csv = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation.csv",
        params={"known_at": DAY_AFTER, "as_of": "2024-06-30", "lang": "en"},
        headers=MANAGER,
    )
    text_csv = report_csv.content.decode("utf-8-sig")
    assert "1000" in text_csv
    assert "1150" not in text_csv


async def test_the_decomposition_tree_is_measured_as_known_then(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine
) -> None:
    plan_id, _source = await _restated_plan(metrics_client, database_url, engine)
    objective_id = uuid.uuid4()
    company = DecomposedNode(
        node_id=uuid.uuid4(), name="company", level="company", target=D(2000), entities=[]
    )
    school = DecomposedNode(
        node_id=uuid.uuid4(),
        parent_id=company.node_id,
        name="school A",
        level="school",
        target=D(2000),
        entities=["school-a"],
    )
    await announce(
        metrics_client,
        database_url,
        ObjectiveDecomposedV1(
            plan_id=uuid.UUID(plan_id),
            objective_id=objective_id,
            plan_revision=1,
            metric="registrations",
            starts_on=date(2024, 6, 1),
            due_on=date(2024, 6, 30),
            nodes=[company, school],
        ),
    )
    url = f"/metrics/plans/{plan_id}/objectives/{objective_id}/decomposition"
    for known_at, actual in ((DAY_AFTER, 1000), (AFTER_RESTATEMENT, 1150)):
        got = await metrics_client.get(
            url, params={"as_of": "2024-06-30", "known_at": known_at}, headers=MANAGER
        )
        assert got.status_code == 200, got.text
        root = got.json()["root"]
        assert (D(root["actual"]), D(root["children"][0]["actual"])) == (D(actual), D(actual))


async def test_hours_known_then_count_until_the_whole_day_arrives(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine
) -> None:
    """Hours 10 and 11 come first (400 + 600), hour 10 is restated to 450 and the settled
    whole-day figure 1,100 comes last: each time sees its own day and hours."""
    plan_id, source = await _plan(metrics_client, database_url)
    await _deliver(metrics_client, engine, source, POSTED, [_row("400", 10), _row("600", 11)])
    await _deliver(metrics_client, engine, source, POSTED + timedelta(hours=5), [_row("450", 10)])
    await _deliver(metrics_client, engine, source, RESTATED, [_row("1100")])

    async def figures(known_at: str, grain: str) -> list[Decimal]:
        got = await metrics_client.get(
            f"/metrics/plans/{plan_id}/rollups",
            params={
                "metric": "registrations",
                "from": DAY,
                "to": DAY,
                "grain": grain,
                "known_at": known_at,
            },
            headers=MANAGER,
        )
        assert got.status_code == 200, got.text
        return [D(p["values"]["registrations"]) for p in got.json()["periods"]]

    assert await figures("2024-06-11T02:00:00Z", "day") == [D(1000)]
    assert await figures("2024-06-11T02:00:00Z", "hour") == [D(400), D(600)]
    assert await figures(DAY_AFTER, "day") == [D(1050)]
    assert await figures(DAY_AFTER, "hour") == [D(450), D(600)]
    # The whole-day figure replaces the hours in the day; the hours stay in the hour grain.
    assert await figures(AFTER_RESTATEMENT, "day") == [D(1100)]
    assert await figures(AFTER_RESTATEMENT, "hour") == [D(450), D(600)]


async def test_a_future_known_at_is_refused_naming_the_field(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine
) -> None:
    plan_id, _source = await _restated_plan(metrics_client, database_url, engine)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for path in ("kpis", "rollups", "evaluation", "evaluation.csv"):
        got = await metrics_client.get(
            f"/metrics/plans/{plan_id}/{path}",
            params={"known_at": future, "metric": "registrations"},
            headers=MANAGER,
        )
        assert got.status_code == 422, (path, got.text)
        assert got.headers["content-type"].startswith("application/problem+json")
        assert "known_at" in got.text


async def test_an_exclusion_decided_after_known_at_does_not_apply_then(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine
) -> None:
    plan_id, source = await _restated_plan(metrics_client, database_url, engine)
    flagged = await metrics_client.post(
        f"/metrics/plans/{plan_id}/fraud-flags",
        json={
            "source_id": source,
            "entity": "school-a",
            "day": DAY,
            "status": "excluded",
            "reason": "one IP",
        },
        headers=MANAGER,
    )
    assert flagged.status_code in (200, 201), flagged.text
    # Decided now (after 2024): as known on the 14th of June the day still counted in net.
    then = await _kpi(metrics_client, plan_id, known_at=AFTER_RESTATEMENT)
    assert (D(then["actual_net"]), D(then["actual_gross"])) == (D(1150), D(1150))
    now = await _kpi(metrics_client, plan_id, as_of="2024-06-30")
    # Today the only entity-day is excluded: net has no figure left (null, as before this).
    assert (now["actual_net"], D(now["actual_gross"])) == (None, D(1150))


async def test_the_as_of_read_and_the_restatement_rule_agree(
    metrics_client: httpx.AsyncClient, database_url: str, engine: AsyncEngine
) -> None:
    """A report made at INCOMING arrives after one made at each STORED time (or alone): read as
    known after both, a key holds what restatement.restates says and what the upsert left."""
    plan_id = uuid.uuid4()
    source, secret = await register(metrics_client)
    entities = [f"e-{n}" for n in range(len(STORED))]
    await map_entities(metrics_client, source, plan_id, *entities)
    for entity, stored in zip(entities, STORED, strict=True):
        if stored is not None:
            first = canonical(stored.isoformat(), (entity, DAY, "clicks", "1"))
            assert (await post(metrics_client, source, secret, first)).status_code == 200
        second = canonical(INCOMING.isoformat(), (entity, DAY, "clicks", "2"))
        assert (await post(metrics_client, source, secret, second)).status_code == 200
    params = {
        "plans": [plan_id],
        "days": [datetime.fromisoformat(DAY).date()],
        "metrics": ["clicks"],
        "known_at": datetime.now(UTC),
    }
    async with engine.connect() as conn:
        known = {row.entity: row.value for row in await conn.execute(text(KNOWN_FACTS), params)}
        facts = await conn.execute(
            text("SELECT entity, value FROM metrics.facts WHERE source_id = :s"),
            {"s": uuid.UUID(source)},
        )
        kept: dict[str, Decimal] = {row.entity: row.value for row in facts}
    rule = {
        e: D(2) if restatement.restates(s, INCOMING) else D(1)
        for e, s in zip(entities, STORED, strict=True)
    }
    assert known == kept == rule == {"e-0": 2, "e-1": 2, "e-2": 1, "e-3": 1}
